// ledgerd's wiring and dispatch: a request is matched to its route (routes.h), its token
// authenticated, its query string parsed strictly, and Authorize (access.h) decides; then it is
// answered on this I/O thread (read_handlers.cc), on the audit thread (audit_handlers.cc) or
// by the group committer (appends, below).
#include "api/server/server.h"

#include <sys/resource.h>

#include <boost/beast/core.hpp>
#include <cstdio>

#include "api/server/server_impl.h"
#include "schemas/civil_date.h"

namespace ledger {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace json = boost::json;
using tcp = net::ip::tcp;

namespace {

std::string NowRfc3339() {
  return FormatTimestampUs(std::chrono::duration_cast<std::chrono::microseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count());
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The media type of a Content-Type header, lower-cased, without parameters (RFC 9110: the type
// and subtype are case-insensitive).
std::string MediaType(std::string_view content_type) {
  std::string t = Lower(content_type.substr(0, content_type.find(';')));
  t.erase(0, t.find_first_not_of(" \t"));
  t.erase(t.find_last_not_of(" \t") + 1);
  return t;
}

// The token of an "Authorization: Bearer <token>" header (the scheme is case-insensitive).
std::optional<std::string_view> BearerToken(std::string_view authorization) {
  constexpr std::string_view kBearer = "bearer ";
  if (authorization.size() <= kBearer.size() ||
      Lower(authorization.substr(0, kBearer.size())) != kBearer) {
    return std::nullopt;
  }
  std::string_view token = authorization.substr(kBearer.size());
  token.remove_prefix(std::min(token.find_first_not_of(' '), token.size()));
  return token;
}

// Raises the soft limit of open files to what `connections` need (and what the hard limit
// allows): beyond it, accept fails and nobody is served.
void RaiseOpenFileLimit(int connections) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  const rlim_t wanted = static_cast<rlim_t>(connections) + 256;  // RocksDB's files, logs, pipes
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < wanted) {
    lim.rlim_cur = lim.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, lim.rlim_max);
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

}  // namespace

const std::vector<RouteSpec>& ServerRoutes() {
  static const std::vector<RouteSpec> specs = [] {
    std::vector<RouteSpec> out;
    for (const Route& r : Routes()) out.push_back({MethodName(r.method), r.pattern});
    return out;
  }();
  return specs;
}

Server::Impl::Impl(ServerOptions o, EventLog& l, ProjectionStore& s, std::shared_mutex& mu,
                   TokenStore t, Committer& c, Metrics& m)
    : options(std::move(o)),
      log(l),
      store(s),
      projection_mu(mu),
      tokens(std::make_shared<const TokenStore>(std::move(t))),
      committer(c),
      metrics(m),
      answers(options.answer_cache_entries),
      ioc(std::max(1, options.threads)) {
  audit_thread = std::thread([this] { AuditLoop(); });
}

Server::Impl::~Impl() {
  {
    std::lock_guard<std::mutex> lock(audit_mu);
    audit_quit = true;
  }
  audit_cv.notify_all();
  audit_thread.join();
}

Answer Server::Impl::Finish(Exchange& x, int status, std::string body,
                            std::string_view content_type, std::optional<Seq> seq) {
  Answer a;
  Response& res = a.res;
  res.result(static_cast<http::status>(status));
  res.version(x.version);
  res.set(http::field::server, "ledgerd");
  res.set(http::field::content_type, content_type);
  if (seq) res.set("Ledger-Seq", std::to_string(*seq));
  res.keep_alive(x.keep_alive && !stopping.load());
  res.body() = std::move(body);
  if (content_type == kJson && (res.body().empty() || res.body().back() != '\n')) {
    res.body().push_back('\n');
  }
  res.prepare_payload();
  if (x.head) res.body().clear();  // HEAD: GET's head, Content-Length included, no body
  const double seconds = std::chrono::duration<double>(Clock::now() - x.start).count();
  const std::string route = x.route ? x.route->pattern : "unmatched";
  metrics.Request(route, status, seconds);
  if (options.log_requests) {
    // Route patterns only: a path may hold a NISS. Never the token.
    std::fprintf(stderr,
                 "{\"ts\":\"%s\",\"route\":\"%s\",\"status\":%d,\"duration_ms\":%.3f,"
                 "\"role\":\"%s\"}\n",
                 NowRfc3339().c_str(), route.c_str(), status, seconds * 1000,
                 x.who ? RoleName(x.who->role) : "none");
  }
  return a;
}

Answer Server::Impl::Error(Exchange& x, const ledger::Error& e) {
  return Finish(x, HttpStatusOf(e), json::serialize(ErrorBody(e)));
}

Answer Server::Impl::Fail(Exchange& x, ErrorCode code, std::string message, std::string field) {
  return Error(x, ledger::Error{code, std::move(message), -1, "", std::move(field)});
}

// The edge where exceptions stop (house style 4): Asio, Beast and Boost.JSON may throw; a
// request whose handling throws is answered 500 `storage` (never twice) and the server goes on.
void Server::Impl::Handle(Request req, std::function<void(Answer)> reply) {
  auto replied = std::make_shared<std::atomic<bool>>(false);
  auto once = [replied, reply](Answer a) {
    if (!replied->exchange(true)) reply(std::move(a));
  };
  Exchange failed;  // the answer to a failure: the request's HTTP version, then the close
  failed.version = req.version();
  failed.keep_alive = false;
  try {
    Dispatch(std::move(req), once);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "{\"event\":\"handler_failed\",\"what\":%s}\n",
                 boost::json::serialize(boost::json::string(e.what())).c_str());
    once(Fail(failed, ErrorCode::kStorage, "internal error; see the server log"));
  }
}

void Server::Impl::Dispatch(Request req, std::function<void(Answer)> reply) {
  Exchange x;
  x.version = req.version();
  x.keep_alive = req.keep_alive();
  x.head = req.method() == http::verb::head;
  x.accept = std::string(req[http::field::accept]);
  const std::string_view target(req.target().data(), req.target().size());
  const size_t qmark = target.find('?');
  const std::string_view path = target.substr(0, qmark);
  const std::string_view method(req.method_string().data(), req.method_string().size());
  RouteMatch match = MatchRoute(method, path);
  if (!match.route) {
    if (match.path_methods.empty()) {
      return reply(Fail(x, ErrorCode::kNotFound, "no such route"));
    }
    const std::string allow = AllowHeader(match.path_methods);
    Answer a = Fail(x, ErrorCode::kMethodNotAllowed,
                    std::string(method) + " is not allowed here; allowed: " + allow);
    a.res.set(http::field::allow, allow);
    return reply(std::move(a));
  }
  x.route = match.route;
  x.params = std::move(match.params);
  if (!x.route->roles.empty()) {
    const auto auth = req[http::field::authorization];
    if (auto token = BearerToken(std::string_view(auth.data(), auth.size()))) {
      x.who = Tokens()->Authenticate(*token);
    }
    if (!x.who) {
      Answer a = Fail(x, ErrorCode::kUnauthenticated, "missing or unknown bearer token");
      a.res.set(http::field::www_authenticate, "Bearer");  // RFC 9110: a 401 names its scheme
      return reply(std::move(a));
    }
  }
  StoreAccessFacts facts(log, store);
  auto access = Authorize(*x.route, x.who ? &*x.who : nullptr, x.params, facts);
  if (!access) return reply(Error(x, access.error()));
  if (!access->allowed) return reply(Fail(x, ErrorCode::kForbidden, access->why));
  x.scope = access->scope;
  if (follower && (x.route->id == RouteId::kAppend || x.route->id == RouteId::kPublish ||
                   x.route->id == RouteId::kClose)) {
    return reply(Fail(x, ErrorCode::kReadOnly,
                      "this ledgerd is a read replica of " + follower->state().url +
                          ": send writes to the primary"));
  }
  auto query =
      ParseQuery(qmark == std::string_view::npos ? "" : target.substr(qmark + 1), *x.route);
  if (!query) return reply(Error(x, query.error()));
  x.query = std::move(*query);

  const bool as_of = x.query.count("as_of") || x.query.count("as_of_time");
  switch (x.route->work) {
    case Work::kAppend:
      return Append(std::move(x), std::move(req), std::move(reply));
    case Work::kRead:
      if (!as_of) return reply(Read(x, req));
      // Folded from the events up to that seq, like the audit routes: never on an I/O thread.
      return SubmitAudit(
          std::move(x), [this, req = std::move(req)](Exchange& ex) { return Read(ex, req); },
          std::move(reply));
    case Work::kAudit:
      return SubmitAudit(
          std::move(x), [this, req = std::move(req)](Exchange& ex) { return Audit(ex, req); },
          std::move(reply));
  }
}

void Server::Impl::SubmitAudit(Exchange x, std::function<Answer(Exchange&)> work,
                               std::function<void(Answer)> reply) {
  {
    std::lock_guard<std::mutex> lock(audit_mu);
    if (static_cast<int>(audit_queue.size()) < options.audit_queue_max) {
      audit_queue.push_back({std::move(x), std::move(work), std::move(reply)});
      audit_cv.notify_one();
      return;
    }
  }
  Answer a = Fail(x, ErrorCode::kBusy,
                  "too many replays, regularisations, explains, verifies, reads as of a seq, "
                  "publishes and closes waiting; retry later");
  a.res.set(http::field::retry_after, "5");
  reply(std::move(a));
}

void Server::Impl::AuditLoop() {
  while (true) {
    AuditJob job;
    {
      std::unique_lock<std::mutex> lock(audit_mu);
      audit_cv.wait(lock, [&] { return audit_quit || !audit_queue.empty(); });
      if (audit_queue.empty()) return;  // quit, nothing left
      job = std::move(audit_queue.front());
      audit_queue.pop_front();
    }
    if (stopping.load()) {
      // Not started before the stop: answered at once rather than holding the drain.
      job.reply(Fail(job.x, ErrorCode::kBusy, "the server is stopping; retry later"));
      continue;
    }
    try {
      job.reply(job.work(job.x));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "{\"event\":\"audit_failed\",\"what\":%s}\n",
                   boost::json::serialize(boost::json::string(e.what())).c_str());
      job.reply(Fail(job.x, ErrorCode::kStorage, "internal error; see the server log"));
    }
  }
}

// POST /v1/events: a JSON array, or JSON Lines. Decoded here (bad input is answered at once),
// committed by the group committer, answered when durable.
void Server::Impl::Append(Exchange x, Request req, std::function<void(Answer)> reply) {
  const auto type = req[http::field::content_type];
  const std::string media = MediaType(std::string_view(type.data(), type.size()));
  if (media != "application/json" && media != "application/x-ndjson") {
    return reply(Fail(x, ErrorCode::kUnsupportedMediaType,
                      "send application/json (an array) or application/x-ndjson (JSON Lines)"));
  }
  const CivilDay today = DayOfTimestampUs(std::chrono::duration_cast<std::chrono::microseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count());
  // Each event prepared (canonicalised, digested) here on this I/O thread, off the writer's.
  std::vector<PreparedEvent> events;
  const std::string& body = req.body();
  const size_t first = body.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && body[first] == '[') {
    boost::system::error_code ec;
    json::parse_options opts;
    opts.max_depth = 17;
    json::value v = json::parse(body, ec, {}, opts);
    if (ec || !v.is_array()) {
      return reply(Fail(x, ErrorCode::kInvalidEvent, "malformed JSON array of events"));
    }
    for (const json::value& e : v.get_array()) {
      auto d = DecodeEventValue(e, static_cast<int64_t>(events.size()), today);
      if (!d) return reply(Error(x, d.error()));
      events.emplace_back(*d);
    }
    if (auto dup = FindDuplicateKey(body);
        dup && dup->index >= 0 && dup->index < static_cast<int64_t>(events.size())) {
      return reply(Error(x, DuplicateKeyError(*dup, v.get_array()[dup->index], dup->index)));
    }
  } else {
    size_t start = 0;
    while (start <= body.size()) {
      size_t end = body.find('\n', start);
      if (end == std::string::npos) end = body.size();
      const std::string_view line(body.data() + start, end - start);
      start = end + 1;
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      auto d = DecodeEventJson(line, static_cast<int64_t>(events.size()), today);
      if (!d) return reply(Error(x, d.error()));
      events.emplace_back(*d);
    }
  }
  if (events.empty()) return reply(Fail(x, ErrorCode::kInvalidEvent, "no events in the body"));
  auto shared_x = std::make_shared<Exchange>(std::move(x));
  committer.Submit(std::move(events), [this, shared_x, reply](AppendOutcome out) {
    const std::optional<Seq> seq =
        out.status == 200 ? std::optional<Seq>(out.body["last_seq"].as_uint64()) : std::nullopt;
    reply(Finish(*shared_x, out.status, json::serialize(out.body), kJson, seq));
  });
}

Server::Server(ServerOptions options, EventLog& log, ProjectionStore& store,
               std::shared_mutex& projection_mu, TokenStore tokens, Committer& committer,
               Metrics& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), log, store, projection_mu, std::move(tokens),
                                   committer, metrics)) {}

Server::~Server() { Stop(0); }

void Server::SetFollower(const Follower* follower) { impl_->follower = follower; }

void Server::ReplaceTokens(TokenStore tokens) {
  auto fresh = std::make_shared<const TokenStore>(std::move(tokens));
  std::lock_guard<std::mutex> lock(impl_->tokens_mu);
  impl_->tokens = std::move(fresh);
}

Result<uint16_t> Server::Start() {
  RaiseOpenFileLimit(impl_->options.connections_max);
  beast::error_code ec;
  const auto address = net::ip::make_address(impl_->options.host, ec);
  if (ec) return Error{ErrorCode::kInvalidArgument, "bad listen address " + impl_->options.host};
  const tcp::endpoint endpoint(address, impl_->options.port);
  impl_->acceptor.emplace(impl_->ioc);
  impl_->acceptor->open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor->bind(endpoint, ec);
  if (!ec) impl_->acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error{ErrorCode::kStorage,
                 "cannot listen on " + impl_->options.host + ": " + ec.message()};
  }
  impl_->Accept();
  return impl_->acceptor->local_endpoint().port();
}

void Server::Run() {
  const int n = std::max(1, impl_->options.threads);
  for (int i = 1; i < n; ++i) impl_->threads.emplace_back([this] { impl_->ioc.run(); });
  impl_->ioc.run();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

void Server::Stop(int drain_ms) {
  if (impl_->stopping.exchange(true)) return;
  net::post(impl_->ioc, [this] {
    beast::error_code ec;
    if (impl_->acceptor) impl_->acceptor->close(ec);
  });
  const auto deadline = Clock::now() + std::chrono::milliseconds(drain_ms);
  while (impl_->in_flight.load() > 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  impl_->ioc.stop();
}

}  // namespace ledger
