#include "api/server/server.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "api/query_source.h"
#include "api/replay_commands.h"
#include "api/server/answer_cache.h"
#include "projections/views.h"
#include "schemas/civil_date.h"
#include "schemas/niss.h"

namespace ledger {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace json = boost::json;
using tcp = net::ip::tcp;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;
using Clock = std::chrono::steady_clock;

namespace {

enum class RouteId {
  kAppend,
  kEvents,
  kInvoice,
  kQuota,
  kBalance,
  kVerify,
  kReplay,
  kRegularisations,
  kExplain,
  kPublish,
  kClose,
  kHealth,
  kMetrics
};

struct Route {
  RouteId id;
  http::verb method;
  const char* pattern;
  std::vector<AccessRole> roles;  // empty: no token needed
};

const std::vector<Route>& Routes() {
  static const std::vector<Route> routes = {
      {RouteId::kAppend,
       http::verb::post,
       "/v1/events",
       {AccessRole::kRecorder, AccessRole::kOperator}},
      {RouteId::kEvents,
       http::verb::get,
       "/v1/events",
       {AccessRole::kAuditor, AccessRole::kOperator}},
      {RouteId::kInvoice,
       http::verb::get,
       "/v1/providers/{id}/invoices/{month}",
       {AccessRole::kCoordinator, AccessRole::kAuditor, AccessRole::kOperator}},
      {RouteId::kQuota,
       http::verb::get,
       "/v1/beneficiaries/{niss}/quota",
       {AccessRole::kCoordinator, AccessRole::kAuditor, AccessRole::kOperator}},
      {RouteId::kBalance,
       http::verb::get,
       "/v1/networks/{id}/balances/{year}",
       {AccessRole::kCoordinator, AccessRole::kAuditor, AccessRole::kOperator}},
      {RouteId::kVerify,
       http::verb::get,
       "/v1/audit/verify",
       {AccessRole::kAuditor, AccessRole::kOperator}},
      {RouteId::kReplay, http::verb::post, "/v1/replays", {AccessRole::kOperator}},
      {RouteId::kRegularisations,
       http::verb::get,
       "/v1/providers/{id}/regularisations",
       {AccessRole::kCoordinator, AccessRole::kAuditor, AccessRole::kOperator}},
      {RouteId::kExplain,
       http::verb::get,
       "/v1/events/{id}/explain",
       {AccessRole::kCoordinator, AccessRole::kAuditor, AccessRole::kOperator}},
      {RouteId::kPublish, http::verb::post, "/v1/rulesets", {AccessRole::kOperator}},
      {RouteId::kClose, http::verb::post, "/v1/months/{month}/close", {AccessRole::kOperator}},
      {RouteId::kHealth, http::verb::get, "/healthz", {}},
      {RouteId::kMetrics, http::verb::get, "/metrics", {}},
  };
  return routes;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t i = s.find(sep, start);
    out.push_back(
        s.substr(start, i == std::string_view::npos ? std::string_view::npos : i - start));
    if (i == std::string_view::npos) return out;
    start = i + 1;
  }
}

// Matches a path against a pattern; fills the {params} in order.
bool Match(std::string_view pattern, std::string_view path, std::vector<std::string>* params) {
  const auto p = Split(pattern, '/'), s = Split(path, '/');
  if (p.size() != s.size()) return false;
  params->clear();
  for (size_t i = 0; i < p.size(); ++i) {
    if (!p[i].empty() && p[i].front() == '{') {
      if (s[i].empty()) return false;
      params->emplace_back(s[i]);
    } else if (p[i] != s[i]) {
      return false;
    }
  }
  return true;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded: %XX and '+' for a space. A malformed escape is kept as is.
std::string FormDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && HexDigit(s[i + 1]) >= 0 &&
               HexDigit(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexDigit(s[i + 1]) * 16 + HexDigit(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::map<std::string, std::string> Query(std::string_view q) {
  std::map<std::string, std::string> out;
  if (q.empty()) return out;
  for (std::string_view kv : Split(q, '&')) {
    const size_t eq = kv.find('=');
    out[FormDecode(kv.substr(0, eq))] =
        eq == std::string_view::npos ? "" : FormDecode(kv.substr(eq + 1));
  }
  return out;
}

// The networks the provider has ever been enrolled in (its stream's events).
Result<std::set<std::string>> EnrolledNetworks(const EventLog& log, const std::string& provider) {
  auto seqs = log.StreamSeqs("provider/" + provider);
  if (!seqs) return seqs.error();
  std::set<std::string> networks;
  Status s = log.ReadSeqs(*seqs, [&](const StoredEventView& v) {
    const auto body = v.event().getBody();
    if (body.isProviderEnrolled()) networks.emplace(body.getProviderEnrolled().getNetworkId());
  });
  if (!s) return s.error();
  return networks;
}

CivilDay Today() {
  return DayOfTimestampUs(std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count());
}

std::string NowRfc3339() {
  return FormatTimestampUs(std::chrono::duration_cast<std::chrono::microseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count());
}

}  // namespace

const std::vector<RouteSpec>& ServerRoutes() {
  static const std::vector<RouteSpec> specs = [] {
    std::vector<RouteSpec> out;
    for (const Route& r : Routes()) {
      out.push_back({r.method == http::verb::post ? "POST" : "GET", r.pattern});
    }
    return out;
  }();
  return specs;
}

// One request being answered: what the log line and the metrics need.
struct Exchange {
  const Route* route = nullptr;
  std::optional<Principal> who;
  Clock::time_point start = Clock::now();
  unsigned version = 11;
  bool keep_alive = true;
};

struct Server::Impl {
  ServerOptions options;
  EventLog& log;
  ProjectionStore& store;
  std::shared_mutex& projection_mu;
  TokenStore tokens;
  Committer& committer;
  Metrics& metrics;
  AnswerCache answers;
  net::io_context ioc;
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
  std::atomic<int> connections{0};
  std::atomic<int> in_flight{0};
  std::atomic<bool> stopping{false};

  // Audit work (replays, regularisations, explain, reads ?as_of) folds the whole history: it runs
  // on its own thread, one job at a time, so that it never holds an I/O thread. Over
  // audit_queue_max waiting jobs, 503 busy.
  struct AuditJob {
    Exchange x;
    std::function<Response(Exchange&)> work;
    std::function<void(Response)> reply;
  };
  std::mutex audit_mu;
  std::condition_variable audit_cv;
  std::deque<AuditJob> audit_queue;
  bool audit_quit = false;
  std::thread audit_thread;

  Impl(ServerOptions o, EventLog& l, ProjectionStore& s, std::shared_mutex& mu, TokenStore t,
       Committer& c, Metrics& m)
      : options(std::move(o)),
        log(l),
        store(s),
        projection_mu(mu),
        tokens(std::move(t)),
        committer(c),
        metrics(m),
        answers(options.answer_cache_entries),
        ioc(std::max(1, options.threads)) {
    audit_thread = std::thread([this] { AuditLoop(); });
  }
  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(audit_mu);
      audit_quit = true;
    }
    audit_cv.notify_all();
    audit_thread.join();
  }

  void AuditLoop();
  // The work of an audit route (replay, regularisations, explain, publish, close).
  Response Audit(Exchange& x, const Request& req, const std::vector<std::string>& params,
                 const std::map<std::string, std::string>& query);
  void SubmitAudit(Exchange x, std::function<Response(Exchange&)> work,
                   std::function<void(Response)> reply);
  Response Replay(Exchange& x, const Request& req, const std::map<std::string, std::string>& query);
  Response RegularisationsOf(Exchange& x, const std::string& provider,
                             const std::map<std::string, std::string>& query);
  Response Explain(Exchange& x, const std::string& event_id,
                   const std::map<std::string, std::string>& query);
  Response Publish(Exchange& x, const Request& req,
                   const std::map<std::string, std::string>& query);
  Response Close(Exchange& x, const std::string& month);
  // The JSON body of a ruleset route into `document`, or the answer refusing it (415, 400).
  std::optional<Response> RulesetBody(Exchange& x, const Request& req, json::value* document);
  // ?as_of=SEQ clamped to the head; nullopt when absent. An error answer in `bad` when malformed.
  std::optional<Seq> AsOf(Exchange& x, const std::map<std::string, std::string>& query,
                          std::optional<Response>* bad);

  void Accept();
  // Answers `req`; calls `reply` exactly once, maybe later and on another thread.
  void Handle(Request req, std::function<void(Response)> reply);
  Response Finish(Exchange& x, int status, std::string body,
                  const char* content_type = "application/json", std::optional<Seq> seq = {});
  Response Error(Exchange& x, const ledger::Error& e) {
    return Finish(x, HttpStatusOf(e), json::serialize(ErrorBody(e)));
  }
  Response Fail(Exchange& x, int status, ErrorCode code, std::string message,
                std::string field = "") {
    ledger::Error e{code, std::move(message), -1, "", std::move(field)};
    return Finish(x, status, json::serialize(ErrorBody(e)));
  }
  Response Read(Exchange& x, const Request& req, const std::vector<std::string>& params,
                const std::map<std::string, std::string>& query);
  // What a projection read's answer depends on besides the projection seq: the route, its
  // parameters, the quota's day and a coordinator's network (which filters lines).
  static std::string AnswerKey(const Exchange& x, const std::vector<std::string>& params,
                               std::optional<CivilDay> on);
  void Append(Exchange x, Request req, std::function<void(Response)> reply);
};

Response Server::Impl::Finish(Exchange& x, int status, std::string body, const char* content_type,
                              std::optional<Seq> seq) {
  Response res{static_cast<http::status>(status), x.version};
  res.set(http::field::server, "ledgerd");
  res.set(http::field::content_type, content_type);
  if (seq) res.set("Ledger-Seq", std::to_string(*seq));
  res.keep_alive(x.keep_alive && !stopping.load());
  res.body() = std::move(body);
  if (res.body().empty() || res.body().back() != '\n') res.body().push_back('\n');
  res.prepare_payload();
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
  return res;
}

void Server::Impl::Handle(Request req, std::function<void(Response)> reply) {
  Exchange x;
  x.version = req.version();
  x.keep_alive = req.keep_alive();
  const std::string_view target(req.target().data(), req.target().size());
  const size_t qmark = target.find('?');
  const std::string_view path = target.substr(0, qmark);
  const auto query = Query(qmark == std::string_view::npos ? "" : target.substr(qmark + 1));
  std::vector<std::string> params;
  bool path_known = false;
  for (const Route& r : Routes()) {
    if (!Match(r.pattern, path, &params)) continue;
    path_known = true;
    if (r.method == req.method()) {
      x.route = &r;
      break;
    }
  }
  if (!x.route) {
    return reply(path_known ? Fail(x, 405, ErrorCode::kInvalidArgument, "method not allowed")
                            : Fail(x, 404, ErrorCode::kNotFound, "no such route"));
  }
  if (!x.route->roles.empty()) {
    const auto auth = req[http::field::authorization];
    constexpr std::string_view kBearer = "Bearer ";
    if (auth.size() > kBearer.size() && auth.substr(0, kBearer.size()) == kBearer) {
      x.who =
          tokens.Authenticate(std::string_view(auth.data(), auth.size()).substr(kBearer.size()));
    }
    if (!x.who) {
      Response res = Fail(x, 401, ErrorCode::kInvalidArgument, "missing or unknown bearer token");
      res.set(http::field::www_authenticate, "Bearer");  // RFC 9110: a 401 names its scheme
      return reply(std::move(res));
    }
    if (std::find(x.route->roles.begin(), x.route->roles.end(), x.who->role) ==
        x.route->roles.end()) {
      return reply(Fail(x, 403, ErrorCode::kInvalidArgument,
                        std::string("role ") + RoleName(x.who->role) + " may not use this route"));
    }
  }
  switch (x.route->id) {
    case RouteId::kAppend:
      return Append(std::move(x), std::move(req), std::move(reply));
    case RouteId::kReplay:
    case RouteId::kRegularisations:
    case RouteId::kExplain:
    case RouteId::kPublish:
    case RouteId::kClose:
      return SubmitAudit(
          std::move(x),
          [this, req = std::move(req), params, query](Exchange& ex) {
            return Audit(ex, req, params, query);
          },
          std::move(reply));
    case RouteId::kInvoice:
    case RouteId::kQuota:
    case RouteId::kBalance:
      if (query.count("as_of")) {
        // Folded from the events up to that seq, like the audit routes: never on an I/O thread.
        return SubmitAudit(
            std::move(x),
            [this, req = std::move(req), params, query](Exchange& ex) {
              return Read(ex, req, params, query);
            },
            std::move(reply));
      }
      [[fallthrough]];
    default:
      return reply(Read(x, req, params, query));
  }
}

// On the audit thread.
Response Server::Impl::Audit(Exchange& x, const Request& req,
                             const std::vector<std::string>& params,
                             const std::map<std::string, std::string>& query) {
  switch (x.route->id) {
    case RouteId::kReplay:
      return Replay(x, req, query);
    case RouteId::kRegularisations:
      return RegularisationsOf(x, params[0], query);
    case RouteId::kExplain:
      return Explain(x, params[0], query);
    case RouteId::kPublish:
      return Publish(x, req, query);
    case RouteId::kClose:
      return Close(x, params[0]);
    default:
      return Fail(x, 500, ErrorCode::kInvalidArgument, "not an audit route");
  }
}

void Server::Impl::SubmitAudit(Exchange x, std::function<Response(Exchange&)> work,
                               std::function<void(Response)> reply) {
  {
    std::lock_guard<std::mutex> lock(audit_mu);
    if (static_cast<int>(audit_queue.size()) < options.audit_queue_max) {
      audit_queue.push_back({std::move(x), std::move(work), std::move(reply)});
      audit_cv.notify_one();
      return;
    }
  }
  ledger::Error e{
      ErrorCode::kBusy,
      "too many replays, regularisations, explains, reads as of a seq, publishes and closes "
      "waiting; retry later"};
  Response res = Error(x, e);
  res.set(http::field::retry_after, "5");
  reply(std::move(res));
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
      job.reply(Fail(job.x, 503, ErrorCode::kBusy, "the server is stopping; retry later"));
      continue;
    }
    job.reply(job.work(job.x));
  }
}

std::optional<Seq> Server::Impl::AsOf(Exchange& x, const std::map<std::string, std::string>& query,
                                      std::optional<Response>* bad) {
  auto it = query.find("as_of");
  if (it == query.end()) return std::nullopt;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(it->second.c_str(), &end, 10);
  if (it->second.empty() || *end != '\0') {
    bad->emplace(Fail(x, 400, ErrorCode::kInvalidArgument, "as_of must be a seq", "as_of"));
    return std::nullopt;
  }
  return std::min<Seq>(v, log.head().seq);
}

std::optional<Response> Server::Impl::RulesetBody(Exchange& x, const Request& req,
                                                  json::value* document) {
  const auto type = req[http::field::content_type];
  if (std::string_view(type.data(), type.size()).rfind("application/json", 0) != 0) {
    return Fail(x, 415, ErrorCode::kInvalidArgument, "send the ruleset as application/json");
  }
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 32;
  *document = json::parse(req.body(), ec, {}, opts);
  if (ec) {
    return Fail(x, 400, ErrorCode::kInvalidArgument, "the body is not JSON: " + ec.message());
  }
  if (auto dup = FindDuplicateKey(req.body())) {
    return Fail(x, 400, ErrorCode::kInvalidArgument, "a field given twice in one object",
                dup->path);
  }
  return std::nullopt;
}

// POST /v1/replays[?from=YYYY-MM-DD]: the body is a ruleset; the dry run stores nothing.
Response Server::Impl::Replay(Exchange& x, const Request& req,
                              const std::map<std::string, std::string>& query) {
  std::optional<CivilDay> from;
  if (auto it = query.find("from"); it != query.end()) {
    auto d = ParseDate(it->second);
    if (!d) return Fail(x, 400, ErrorCode::kInvalidArgument, "from must be YYYY-MM-DD", "from");
    from = ToDay(*d);
  }
  json::value document;
  if (auto refused = RulesetBody(x, req, &document)) return std::move(*refused);
  auto report = ReplayRuleset(log, document, from);
  if (!report) return Error(x, report.error());
  return Finish(x, 200, ReplayReportJsonText(*report), "application/json", report->last_seq);
}

// POST /v1/rulesets?reason=TEXT: the body is a ruleset; appends ruleset.published (as
// `ledgerctl rules publish FILE --reason TEXT`). From then on, care dates it covers are priced
// with it.
Response Server::Impl::Publish(Exchange& x, const Request& req,
                               const std::map<std::string, std::string>& query) {
  auto reason = query.find("reason");
  if (reason == query.end() || reason->second.find_first_not_of(" \t") == std::string::npos) {
    return Fail(x, 400, ErrorCode::kInvalidArgument,
                "?reason= is required: why this ruleset is published", "reason");
  }
  json::value document;
  if (auto refused = RulesetBody(x, req, &document)) return std::move(*refused);
  auto out = PublishRuleset(log, document, reason->second, Today());
  if (!out) return Error(x, out.error());
  committer.ProjectionsDue();
  const Seq seq = (*out)["seq"].as_uint64();
  return Finish(x, 200, json::serialize(*out), "application/json", seq);
}

// POST /v1/months/{YYYY-MM}/close: one invoice.issued per provider with lines that month (as
// `ledgerctl close --month`).
Response Server::Impl::Close(Exchange& x, const std::string& month_text) {
  auto month = ParseMonth(month_text);
  if (!month) return Fail(x, 400, ErrorCode::kInvalidArgument, "month must be YYYY-MM", "month");
  auto out = CloseMonth(log, *month, Today());
  if (!out) return Error(x, out.error());
  committer.ProjectionsDue();
  const Seq seq = (*out)["last_seq"].as_uint64();
  return Finish(x, 200, json::serialize(*out), "application/json", seq);
}

// GET /v1/providers/{id}/regularisations[?month=YYYY-MM][&as_of=SEQ]. A coordinator sees a
// provider that only ever worked in their network: invoices are per provider, so the figures of
// a provider who also works elsewhere include the other network's lines.
Response Server::Impl::RegularisationsOf(Exchange& x, const std::string& provider,
                                         const std::map<std::string, std::string>& query) {
  std::optional<Response> bad;
  const std::optional<Seq> as_of = AsOf(x, query, &bad);
  if (bad) return std::move(*bad);
  std::optional<int32_t> month;
  if (auto it = query.find("month"); it != query.end()) {
    month = ParseMonth(it->second);
    if (!month) return Fail(x, 400, ErrorCode::kInvalidArgument, "month must be YYYY-MM", "month");
  }
  if (x.who && x.who->role == AccessRole::kCoordinator) {
    auto networks = EnrolledNetworks(log, provider);
    if (!networks) return Error(x, networks.error());
    if (*networks != std::set<std::string>{x.who->network}) {
      return Fail(x, 403, ErrorCode::kInvalidArgument,
                  networks->count(x.who->network)
                      ? "provider also works in another network; ask an auditor"
                      : "provider not in your network");
    }
  }
  auto out = RegularisationsAt(log, month, provider, as_of.value_or(log.head().seq));
  if (!out) return Error(x, out.error());
  const Seq seq = (*out)["last_seq"].as_uint64();
  return Finish(x, 200, json::serialize(*out), "application/json", seq);
}

// GET /v1/events/{id}/explain[?as_of=SEQ]. A coordinator sees their network's events only.
Response Server::Impl::Explain(Exchange& x, const std::string& event_id,
                               const std::map<std::string, std::string>& query) {
  std::optional<Response> bad;
  const std::optional<Seq> as_of = AsOf(x, query, &bad);
  if (bad) return std::move(*bad);
  const Seq at = as_of.value_or(log.head().seq);
  auto out = ExplainEventId(log, event_id, at);
  if (!out) return Error(x, out.error());
  if (x.who && x.who->role == AccessRole::kCoordinator) {
    const json::value* network = out->if_contains("network_id");
    if (!network || !network->is_string() || network->get_string() != x.who->network) {
      return Fail(x, 403, ErrorCode::kInvalidArgument, "event not in your network");
    }
  }
  return Finish(x, 200, json::serialize(*out), "application/json", at);
}

// POST /v1/events: a JSON array, or JSON Lines. Decoded here (bad input is answered at once),
// committed by the group committer, answered when durable.
void Server::Impl::Append(Exchange x, Request req, std::function<void(Response)> reply) {
  const auto type = req[http::field::content_type];
  const std::string_view ct(type.data(), type.size());
  if (ct.rfind("application/json", 0) != 0 && ct.rfind("application/x-ndjson", 0) != 0) {
    return reply(Fail(x, 415, ErrorCode::kInvalidArgument,
                      "send application/json (an array) or application/x-ndjson (JSON Lines)"));
  }
  const CivilDay today = Today();
  std::vector<DecodedEvent> events;
  const std::string& body = req.body();
  const size_t first = body.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && body[first] == '[') {
    boost::system::error_code ec;
    json::parse_options opts;
    opts.max_depth = 17;
    json::value v = json::parse(body, ec, {}, opts);
    if (ec || !v.is_array()) {
      return reply(Fail(x, 400, ErrorCode::kInvalidEvent, "malformed JSON array of events"));
    }
    for (const json::value& e : v.get_array()) {
      auto d = DecodeEventValue(e, static_cast<int64_t>(events.size()), today);
      if (!d) return reply(Error(x, d.error()));
      events.push_back(std::move(*d));
    }
    if (auto dup = FindDuplicateKey(body);
        dup && dup->index >= 0 && dup->index < static_cast<int64_t>(events.size())) {
      return reply(Error(x, DuplicateKeyError(*dup, v.get_array()[dup->index], dup->index)));
    }
  } else {
    for (std::string_view line : Split(body, '\n')) {
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      auto d = DecodeEventJson(line, static_cast<int64_t>(events.size()), today);
      if (!d) return reply(Error(x, d.error()));
      events.push_back(std::move(*d));
    }
  }
  if (events.empty()) return reply(Fail(x, 400, ErrorCode::kInvalidEvent, "no events in the body"));
  auto shared_x = std::make_shared<Exchange>(std::move(x));
  committer.Submit(std::move(events), [this, shared_x, reply](AppendOutcome out) {
    const std::optional<Seq> seq =
        out.status == 200 ? std::optional<Seq>(out.body["last_seq"].as_uint64()) : std::nullopt;
    reply(Finish(*shared_x, out.status, json::serialize(out.body), "application/json", seq));
  });
}

namespace {

// True when the provider has ever been enrolled in the network.
Result<bool> EverEnrolled(const EventLog& log, const std::string& provider,
                          const std::string& network) {
  auto networks = EnrolledNetworks(log, provider);
  if (!networks) return networks.error();
  return networks->count(network) > 0;
}

// Where a projection read comes from: the persisted projections as they are, or, for ?as_of,
// the history up to that seq folded in memory (QuerySource). The store is read directly for
// invoices and balances: QuerySource::FromStore also loads every ruleset, which only the quota
// needs and which cost a quarter of an invoice read.
class ReadSource {
 public:
  static Result<ReadSource> Open(const EventLog& log, const ProjectionStore& store,
                                 std::optional<Seq> as_of, bool need_rules) {
    ReadSource r;
    if (as_of || need_rules) {
      auto src = as_of ? QuerySource::AsOf(log, *as_of) : QuerySource::FromStore(store);
      if (!src) return src.error();
      r.seq_ = src->seq();
      r.src_ = std::make_unique<QuerySource>(std::move(*src));
    } else {
      auto seq = store.seq();
      if (!seq) return seq.error();
      r.seq_ = *seq;
      r.store_ = &store;
    }
    return r;
  }
  Seq seq() const { return seq_; }
  Result<std::vector<LineRecord>> Lines(std::string_view provider, int32_t month) const {
    return src_ ? src_->Lines(provider, month) : store_->Lines(provider, month);
  }
  Result<Cents> Allocated(std::string_view network, int32_t year) const {
    return src_ ? src_->Allocated(network, year) : store_->Allocated(network, year);
  }
  Result<std::map<CivilDay, Cents>> Daily(std::string_view network, int32_t year) const {
    return src_ ? src_->Daily(network, year) : store_->DailyConsumed(network, year);
  }
  // Opened with need_rules.
  const QuerySource& query() const { return *src_; }

 private:
  Seq seq_ = 0;
  std::unique_ptr<QuerySource> src_;
  const ProjectionStore* store_ = nullptr;
};

}  // namespace

std::string Server::Impl::AnswerKey(const Exchange& x, const std::vector<std::string>& params,
                                    std::optional<CivilDay> on) {
  // Length-prefixed parts: no parameter can run into the next.
  std::string key;
  auto part = [&](std::string_view s) {
    key += std::to_string(s.size());
    key += ':';
    key += s;
  };
  part(x.route->pattern);
  for (const std::string& p : params) part(p);
  part(on ? std::to_string(*on) : "");
  part(x.who && x.who->role == AccessRole::kCoordinator ? x.who->network : "");
  return key;
}

Response Server::Impl::Read(Exchange& x, const Request& req, const std::vector<std::string>& params,
                            const std::map<std::string, std::string>& query) {
  const Seq head = log.head().seq;
  switch (x.route->id) {
    case RouteId::kHealth: {
      json::object o;
      o["ok"] = true;
      o["last_seq"] = head;
      auto projected = store.seq();
      o["projection_seq"] = projected ? *projected : 0;
      if (!log.failure().empty()) o["writes_stopped"] = true;
      return Finish(x, 200, json::serialize(o), "application/json", head);
    }
    case RouteId::kMetrics: {
      auto projected = store.seq();
      metrics.SetSeqs(head, projected ? *projected : 0);
      return Finish(x, 200, metrics.Render(), "text/plain; version=0.0.4");
    }
    case RouteId::kEvents: {
      Seq from = 1;
      int64_t limit = 1000;
      if (auto it = query.find("from"); it != query.end()) {
        from = std::strtoull(it->second.c_str(), nullptr, 10);
        if (from < 1) return Fail(x, 400, ErrorCode::kInvalidArgument, "from must be >= 1", "from");
      }
      if (auto it = query.find("limit"); it != query.end()) {
        limit = std::strtoll(it->second.c_str(), nullptr, 10);
        if (limit < 1 || limit > options.events_page_max) {
          return Fail(x, 400, ErrorCode::kInvalidArgument,
                      "limit must be 1.." + std::to_string(options.events_page_max), "limit");
        }
      }
      json::array events;
      Status s =
          log.ReadRange(from, from + static_cast<Seq>(limit) - 1, [&](const StoredEventView& v) {
            events.emplace_back(EncodeStoredEvent(v.stored(), ToHex(v.hash())));
            return true;
          });
      if (!s) return Error(x, s.error());
      json::object o;
      const Seq next = from + events.size();
      o["events"] = std::move(events);
      o["next_from"] = next;
      return Finish(x, 200, json::serialize(o), "application/json", head);
    }
    case RouteId::kVerify: {
      auto report = log.Verify();
      if (!report) return Error(x, report.error());
      json::object o;
      o["ok"] = report->ok;
      o["events"] = report->events;
      if (report->ok) {
        o["head"] = ToHex(report->head);
      } else {
        o["first_bad_seq"] = report->first_bad_seq;
        o["problem"] = report->problem;
      }
      return Finish(x, 200, json::serialize(o), "application/json", head);
    }
    case RouteId::kReplay:
    case RouteId::kRegularisations:
    case RouteId::kExplain:
    case RouteId::kPublish:
    case RouteId::kClose:
      break;  // Handle() gives them to the audit thread
    case RouteId::kInvoice:
    case RouteId::kQuota:
    case RouteId::kBalance:
      break;
    case RouteId::kAppend:
      break;
  }

  // Projection reads: one seq per answer. Each request is checked (arguments, role, scope)
  // before the answer cache is consulted, so that a cached body is only ever given to a request
  // that may have it.
  const bool coordinator = x.who && x.who->role == AccessRole::kCoordinator;
  std::optional<Response> bad;
  const std::optional<Seq> as_of = AsOf(x, query, &bad);
  if (bad) return std::move(*bad);
  std::optional<int32_t> month;
  std::optional<CivilDay> on;
  int32_t year = 0;
  if (x.route->id == RouteId::kInvoice) {
    month = ParseMonth(params[1]);
    if (!month) return Fail(x, 400, ErrorCode::kInvalidArgument, "month must be YYYY-MM", "month");
    if (coordinator) {
      auto enrolled = EverEnrolled(log, params[0], x.who->network);
      if (!enrolled) return Error(x, enrolled.error());
      if (!*enrolled) {
        return Fail(x, 403, ErrorCode::kInvalidArgument, "provider not in your network");
      }
    }
  } else if (x.route->id == RouteId::kQuota) {
    if (!IsValidNiss(params[0])) {
      return Fail(x, 400, ErrorCode::kInvalidArgument, "not a valid NISS", "niss");
    }
    auto on_it = query.find("on");
    auto date = on_it == query.end() ? std::nullopt : ParseDate(on_it->second);
    if (!date) return Fail(x, 400, ErrorCode::kInvalidArgument, "on must be YYYY-MM-DD", "on");
    on = ToDay(*date);
  } else {
    if (coordinator && params[0] != x.who->network) {
      return Fail(x, 403, ErrorCode::kInvalidArgument, "not your network");
    }
    char* end = nullptr;
    const long y = std::strtol(params[1].c_str(), &end, 10);
    if (*end != '\0' || y < 1900 || y > 9999) {
      return Fail(x, 400, ErrorCode::kInvalidArgument, "year must be YYYY", "year");
    }
    year = static_cast<int32_t>(y);
  }

  std::shared_lock<std::shared_mutex> lock(projection_mu, std::defer_lock);
  if (!as_of) lock.lock();
  // ?as_of answers fold history in memory and are not cached (auditors' reads, rare).
  std::string key;
  if (!as_of) {
    auto seq = store.seq();
    if (!seq) return Error(x, seq.error());
    key = AnswerKey(x, params, on);
    auto body = answers.Find(key, *seq);
    metrics.AnswerRead(body != nullptr);
    if (body) return Finish(x, 200, std::string(*body), "application/json", *seq);
  }
  auto src = ReadSource::Open(log, store, as_of, x.route->id == RouteId::kQuota);
  if (!src) return Error(x, src.error());

  std::string body;
  if (x.route->id == RouteId::kInvoice) {
    auto lines = src->Lines(params[0], *month);
    if (!lines) return Error(x, lines.error());
    if (coordinator) {
      std::erase_if(*lines, [&](const LineRecord& l) { return l.network_id != x.who->network; });
    }
    body = json::serialize(InvoiceJson(params[0], *month, *lines));
  } else if (x.route->id == RouteId::kQuota) {
    auto trajectories = src->query().Trajectories(params[0]);
    if (!trajectories) return Error(x, trajectories.error());
    if (coordinator) {
      std::erase_if(*trajectories,
                    [&](const TrajectoryRecord& t) { return t.network_id != x.who->network; });
    }
    body = json::serialize(QuotaJson(params[0], *on, *trajectories, src->query().rules()));
  } else {
    auto allocated = src->Allocated(params[0], year);
    if (!allocated) return Error(x, allocated.error());
    auto daily = src->Daily(params[0], year);
    if (!daily) return Error(x, daily.error());
    body = json::serialize(BalanceJson(params[0], year, *allocated, *daily));
  }
  if (!as_of) answers.Put(key, src->seq(), std::make_shared<const std::string>(body));
  return Finish(x, 200, std::move(body), "application/json", src->seq());
}

// --- connections ------------------------------------------------------------------------------

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, Server::Impl& server)
      : stream_(std::move(socket)), server_(server) {
    server_.metrics.ConnectionOpened();
  }
  ~Session() {
    server_.metrics.ConnectionClosed();
    --server_.connections;
  }

  void Start() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::Read, shared_from_this()));
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->body_limit(server_.options.body_bytes_max);
    parser_->header_limit(static_cast<uint32_t>(server_.options.header_bytes_max));
    stream_.expires_after(std::chrono::milliseconds(first_ ? server_.options.read_timeout_ms
                                                           : server_.options.idle_timeout_ms));
    first_ = false;
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted) {
      return Close();  // a client that sends nothing (or stops) is dropped
    }
    if (ec) return Refuse(ec);
    ++server_.in_flight;
    stream_.expires_never();  // the answer may wait for a group commit
    auto self = shared_from_this();
    // While the answer waits (a group commit runs on the committer's thread), nothing of this
    // session is queued on the io_context: the work guard keeps the I/O threads running until
    // the answer is being written, so that Stop() can drain it.
    auto work = net::make_work_guard(stream_.get_executor());
    // A read is answered within Handle(), on this session's strand: dispatch writes it at once.
    // An append's answer comes from the committer's thread: dispatch posts it to the strand.
    server_.Handle(parser_->release(), [self, work](Response res) {
      net::dispatch(self->stream_.get_executor(),
                    [self, work, r = std::move(res)]() mutable { self->Write(std::move(r)); });
    });
  }

  // A request that could not be read whole: answered, then the connection is closed.
  void Refuse(beast::error_code ec) {
    Exchange x;
    x.keep_alive = false;
    ++server_.in_flight;
    if (ec == http::error::body_limit) {
      Write(server_.Fail(
          x, 413, ErrorCode::kInvalidArgument,
          "body larger than " + std::to_string(server_.options.body_bytes_max) + " bytes"));
    } else if (ec == http::error::header_limit) {
      Write(server_.Fail(x, 431, ErrorCode::kInvalidArgument, "headers too large"));
    } else {
      Write(server_.Fail(x, 400, ErrorCode::kInvalidArgument, "malformed HTTP request"));
    }
  }

  void Write(Response res) {
    res_ = std::make_shared<Response>(std::move(res));
    stream_.expires_after(std::chrono::milliseconds(server_.options.read_timeout_ms));
    http::async_write(
        stream_, *res_,
        beast::bind_front_handler(&Session::OnWrite, shared_from_this(), res_->keep_alive()));
  }

  void OnWrite(bool keep_alive, beast::error_code ec, std::size_t) {
    --server_.in_flight;
    res_.reset();
    if (ec || !keep_alive || server_.stopping.load()) return Close();
    Read();
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<Response> res_;
  Server::Impl& server_;
  bool first_ = true;
};

}  // namespace

void Server::Impl::Accept() {
  acceptor->async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (stopping.load()) return;
    if (!ec) {
      if (connections.load() >= options.connections_max) {
        beast::error_code ignored;
        socket.close(ignored);  // over the limit: refused at once
      } else {
        ++connections;
        std::make_shared<Session>(std::move(socket), *this)->Start();
      }
    }
    Accept();
  });
}

Server::Server(ServerOptions options, EventLog& log, ProjectionStore& store,
               std::shared_mutex& projection_mu, TokenStore tokens, Committer& committer,
               Metrics& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), log, store, projection_mu, std::move(tokens),
                                   committer, metrics)) {}

Server::~Server() { Stop(0); }

Result<uint16_t> Server::Start() {
  beast::error_code ec;
  const auto address = net::ip::make_address(impl_->options.host, ec);
  if (ec) return Error{ErrorCode::kInvalidArgument, "bad listen address " + impl_->options.host};
  const tcp::endpoint endpoint(address, impl_->options.port);
  impl_->acceptor.emplace(impl_->ioc);
  impl_->acceptor->open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor->bind(endpoint, ec);
  if (!ec) impl_->acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return Error{ErrorCode::kStorage,
                 "cannot listen on " + impl_->options.host + ": " + ec.message()};
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
