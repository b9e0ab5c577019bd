// What ledgerd's handlers and connections exchange: the request, the answer (whole, or a head
// and a body streamed piece by piece), the context of one request, and how an Error becomes an
// HTTP status and a JSON error body ({"error":{"code","message","index","id","field"}}).
#pragma once

#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "api/server/routes.h"
#include "api/server/tokens.h"
#include "schemas/result.h"

namespace ledger {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;
using Clock = std::chrono::steady_clock;

// A streamed body: each call appends the next piece to `out` (about 64 KiB) and sets `done`
// after the last one. Called on the connection's strand, one call at a time; an error after the
// head was sent closes the connection (the client sees a truncated chunked body).
using BodyStream = std::function<Status(std::string* out, bool* done)>;

struct Answer {
  Response res;       // the whole answer, or (with `stream`) its head
  BodyStream stream;  // empty: `res` is whole
};

// One request being answered: what the handlers, the log line and the metrics need.
struct Exchange {
  const Route* route = nullptr;
  std::vector<std::string> params;  // the route's path parameters
  QueryParams query;
  std::optional<Principal> who;
  std::optional<std::string> scope;  // a coordinator's network (access.h)
  std::string accept;                // the Accept header
  Clock::time_point start = Clock::now();
  unsigned version = 11;
  bool keep_alive = true;
  bool head = false;  // a HEAD request: the answer of GET without its body
};

boost::json::object ErrorBody(const Error& e);
int HttpStatusOf(const Error& e);

}  // namespace ledger
