#include "api/server/http.h"

namespace ledger {

boost::json::object ErrorBody(const Error& e) {
  boost::json::object err;
  err["code"] = ErrorCodeName(e.code);
  err["message"] = e.message;
  if (e.index >= 0) err["index"] = e.index;
  if (!e.id.empty()) err["id"] = e.id;
  if (!e.field.empty()) err["field"] = e.field;
  boost::json::object o;
  o["error"] = std::move(err);
  return o;
}

int HttpStatusOf(const Error& e) {
  switch (e.code) {
    case ErrorCode::kInvalidEvent:
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kUnauthenticated:
      return 401;
    case ErrorCode::kForbidden:
      return 403;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kMethodNotAllowed:
      return 405;
    case ErrorCode::kConflict:
    case ErrorCode::kNotConfigured:
      return 409;
    case ErrorCode::kPayloadTooLarge:
      return 413;
    case ErrorCode::kUnsupportedMediaType:
      return 415;
    case ErrorCode::kHeadersTooLarge:
      return 431;
    case ErrorCode::kWritesStopped:
    case ErrorCode::kBusy:
    case ErrorCode::kReadOnly:
      return 503;
    case ErrorCode::kStorage:
    case ErrorCode::kCorruption:
      return 500;
  }
  return 500;
}

}  // namespace ledger
