// Expected failures are values: Error says what went wrong and where, Result<T> carries
// either a value or an Error. Nothing here throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace ledger {

// Error codes used across the project; they are also the `code` of HTTP error bodies.
enum class ErrorCode {
  kInvalidEvent,  // bad input: the event (index, id) and field are named
  kConflict,      // same id with other content, or expected_version mismatch
  kNotFound,
  kStorage,          // RocksDB or the file system failed
  kWritesStopped,    // an earlier storage failure stopped writes until restart
  kCorruption,       // the hash chain or the sequence is broken
  kInvalidArgument,  // a bad command-line or query argument
  kBusy,             // the service has too much of this work waiting; retry later
  kReadOnly,         // a read replica: appends go to the primary (503)
  kNotConfigured,    // the server was started without what the request needs (409)
  // HTTP only: what a request (not its content) gets wrong.
  kUnauthenticated,       // no or unknown bearer token (401)
  kForbidden,             // role or network not allowed (403)
  kMethodNotAllowed,      // the path has no such method (405)
  kPayloadTooLarge,       // body over the limit (413)
  kUnsupportedMediaType,  // Content-Type not accepted (415)
  kHeadersTooLarge,       // request line and headers over the limit (431)
};

const char* ErrorCodeName(ErrorCode code);

struct [[nodiscard]] Error {
  ErrorCode code = ErrorCode::kInvalidEvent;
  std::string message;
  // Where: index of the event in its batch (-1: not about one event), its id, the field path.
  int64_t index = -1;
  std::string id;
  std::string field;

  // "event 3 (id c1-s2), field beneficiary.niss: <message>"
  std::string ToString() const;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// A Result with no value: `Status s = Ok();`
struct Unit {};
using Status = Result<Unit>;
inline Status Ok() { return Unit{}; }

}  // namespace ledger
