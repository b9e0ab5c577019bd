#include "schemas/result.h"

namespace ledger {

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidEvent:
      return "invalid_event";
    case ErrorCode::kConflict:
      return "conflict";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kStorage:
      return "storage";
    case ErrorCode::kWritesStopped:
      return "writes_stopped";
    case ErrorCode::kCorruption:
      return "corruption";
    case ErrorCode::kInvalidArgument:
      return "invalid_argument";
    case ErrorCode::kBusy:
      return "busy";
    case ErrorCode::kReadOnly:
      return "read_only";
    case ErrorCode::kNotConfigured:
      return "not_configured";
    case ErrorCode::kUnauthenticated:
      return "unauthenticated";
    case ErrorCode::kForbidden:
      return "forbidden";
    case ErrorCode::kMethodNotAllowed:
      return "method_not_allowed";
    case ErrorCode::kPayloadTooLarge:
      return "payload_too_large";
    case ErrorCode::kUnsupportedMediaType:
      return "unsupported_media_type";
    case ErrorCode::kHeadersTooLarge:
      return "headers_too_large";
  }
  return "unknown";
}

std::string Error::ToString() const {
  std::string s;
  if (index >= 0) {
    s += "event " + std::to_string(index);
    if (!id.empty()) s += " (id " + id + ")";
  } else if (!id.empty()) {
    s += "event id " + id;
  }
  if (!field.empty()) s += (s.empty() ? "" : ", ") + std::string("field ") + field;
  if (!s.empty()) s += ": ";
  return s + message;
}

}  // namespace ledger
