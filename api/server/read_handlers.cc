// Reads answered on an I/O thread: health, metrics, who a token is, the log's events, and every
// answer from the projections (invoices, quotas, balances, the network view, a month's lines).
// At the head they come from the persisted projections at one snapshot and are cached per
// projection seq; with ?as_of or ?as_of_time the history up to that seq is folded in memory on
// the audit thread (server.cc sends them there).
#include <boost/beast/http.hpp>
#include <chrono>

#include "api/answers.h"
#include "api/server/server_impl.h"
#include "api/server/ui_assets.h"
#include "projections/views.h"
#include "schemas/niss.h"

namespace ledger {

namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

constexpr uint64_t kProvidersPageDefault = 500, kProvidersPageMax = 5000;
constexpr uint64_t kMonthInvoicesPageDefault = 100, kMonthInvoicesPageMax = 1000;

CivilDay Today() {
  return DayOfTimestampUs(std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count());
}

// The network an event is about; "" for rulesets, voids and issued invoices.
std::string NetworkOf(schema::Event::Reader ev) {
  using B = schema::Event::Body;
  const auto b = ev.getBody();
  switch (b.which()) {
    case B::NETWORK_REGISTERED:
      return b.getNetworkRegistered().getNetworkId();
    case B::PROVIDER_ENROLLED:
      return b.getProviderEnrolled().getNetworkId();
    case B::PROVIDER_LEFT:
      return b.getProviderLeft().getNetworkId();
    case B::BUDGET_ALLOCATED:
      return b.getBudgetAllocated().getNetworkId();
    case B::ASSESSMENT_RECORDED:
      return b.getAssessmentRecorded().getNetworkId();
    case B::EXCEPTION_GRANTED:
      return b.getExceptionGranted().getNetworkId();
    case B::SESSION_INDIVIDUAL:
      return b.getSessionIndividual().getNetworkId();
    case B::SESSION_GROUP:
      return b.getSessionGroup().getNetworkId();
    case B::COMMUNITY_INTERVENTION:
      return b.getCommunityIntervention().getNetworkId();
    case B::SUPPORT_MISSION:
      return b.getSupportMission().getNetworkId();
    case B::CONCERTATION_HELD:
      return b.getConcertationHeld().getNetworkId();
    case B::RULESET_PUBLISHED:
    case B::EVENT_VOIDED:
    case B::INVOICE_ISSUED:
      return "";
  }
  return "";
}

// What a cached answer depends on besides the projection seq: the route, its path and query
// parameters, the format asked for and a coordinator's network (which filters answers).
std::string AnswerKey(const Exchange& x, Format format) {
  // Length-prefixed parts: no parameter can run into the next.
  std::string key;
  auto part = [&](std::string_view s) {
    key += std::to_string(s.size());
    key += ':';
    key += s;
  };
  part(x.route->pattern);
  for (const std::string& p : x.params) part(p);
  for (const auto& [name, value] : x.query) {
    part(name);
    part(value);
  }
  part(format == Format::kCsv ? "csv" : "json");
  part(x.scope.value_or(""));
  // Figures without ?on are of today: an answer of yesterday's is not today's.
  if (x.route->id == RouteId::kNetworkFigures && !x.query.count("on")) {
    part(std::to_string(Today()));
  }
  return key;
}

}  // namespace

Answer Server::Impl::Read(Exchange& x, const Request& req) {
  switch (x.route->id) {
    case RouteId::kHealth:
      return Health(x);
    case RouteId::kMetrics: {
      auto projected = store.seq();
      metrics.SetSeqs(log.head().seq, projected ? *projected : 0);
      if (follower) metrics.SetReplicaLag(follower->state().lag_events);
      return Finish(x, 200, metrics.Render(), "text/plain; version=0.0.4");
    }
    case RouteId::kMe:
      return Me(x);
    case RouteId::kEvents:
      return Events(x);
    case RouteId::kUi:
    case RouteId::kUiRoot:
      return Ui(x);
    case RouteId::kInvoice:
    case RouteId::kQuota:
    case RouteId::kBalance:
    case RouteId::kNetworks:
    case RouteId::kNetworkProviders:
    case RouteId::kNetworkInvoice:
    case RouteId::kNetworkFigures:
    case RouteId::kMonthLines: {
      auto as_of = AsOfParam(x.query, log);
      if (!as_of) return Error(x, as_of.error());
      return ProjectionRead(x, *as_of);
    }
    case RouteId::kAppend:
    case RouteId::kVerify:
    case RouteId::kReplay:
    case RouteId::kRegularisations:
    case RouteId::kExplain:
    case RouteId::kPublish:
    case RouteId::kClose:
    case RouteId::kAllRegularisations:
    case RouteId::kBackup:
      break;  // not reads (server.cc sends them elsewhere)
  }
  (void)req;
  return Fail(x, ErrorCode::kStorage, "not a read route");
}

Answer Server::Impl::Health(Exchange& x) {
  const Seq head = log.head().seq;
  json::object o;
  o["ok"] = true;
  o["last_seq"] = head;
  auto projected = store.seq();
  o["projection_seq"] = projected ? *projected : 0;
  if (!log.failure().empty()) o["writes_stopped"] = true;
  if (follower) {
    const Follower::State f = follower->state();
    o["following"] = f.url;
    o["lag_events"] = f.lag_events;
    if (!f.stopped.empty()) o["follow_stopped"] = f.stopped;
  }
  return Finish(x, 200, json::serialize(o), kJson, head);
}

Answer Server::Impl::Me(Exchange& x) {
  json::object o;
  o["role"] = RoleName(x.who->role);
  o["network_id"] =
      x.who->role == AccessRole::kCoordinator ? json::value(x.who->network) : json::value(nullptr);
  o["name"] = x.who->name;
  return Finish(x, 200, json::serialize(o), kJson, log.head().seq);
}

Answer Server::Impl::Events(Exchange& x) {
  const Seq head = log.head().seq;
  Seq from = 1;
  uint64_t limit = 1000;
  if (auto it = x.query.find("from"); it != x.query.end()) {
    auto v = ParseCount(it->second, "from", 1, UINT64_MAX);
    if (!v) return Error(x, v.error());
    from = *v;
  }
  if (auto it = x.query.find("limit"); it != x.query.end()) {
    auto v = ParseCount(it->second, "limit", 1, static_cast<uint64_t>(options.events_page_max));
    if (!v) return Error(x, v.error());
    limit = *v;
  }
  json::array events;
  const Seq to = from > head ? from : std::min<Seq>(head, from + limit - 1);
  Status s = log.ReadRange(from, to, [&](const StoredEventView& v) {
    events.emplace_back(EncodeStoredEvent(v.stored(), ToHex(v.hash())));
    return true;
  });
  if (!s) return Error(x, s.error());
  json::object o;
  const Seq next = from + events.size();
  o["events"] = std::move(events);
  o["next_from"] = next;
  return Finish(x, 200, json::serialize(o), kJson, head);
}

// The dashboard (api/ui/, embedded): its page and assets, no token (they hold no data), with
// the headers ui_assets.h names; "/" and "/ui" lead to "/ui/".
Answer Server::Impl::Ui(Exchange& x) {
  Answer a;
  if (x.route->id == RouteId::kUiRoot) {
    a = Finish(x, 308, "", "text/plain; charset=utf-8");
    a.res.set(http::field::location, "/ui/");
  } else if (const UiAsset* asset = FindUiAsset(x.params[0])) {
    a = Finish(x, 200, std::string(asset->body), asset->content_type);
  } else {
    a = Fail(x, ErrorCode::kNotFound, "no such file of the dashboard");
  }
  a.res.set("Content-Security-Policy", UiContentSecurityPolicy());
  a.res.set("X-Content-Type-Options", "nosniff");
  a.res.set("Referrer-Policy", "no-referrer");
  a.res.set(http::field::cache_control, "no-cache");
  return a;
}

Answer Server::Impl::ProjectionRead(Exchange& x, std::optional<Seq> as_of) {
  // Only routes with a CSV form take ?format (routes.h) or heed Accept: text/csv.
  auto format = x.route->csv ? FormatParam(x.query, x.accept) : Result<Format>(Format::kJson);
  if (!format) return Error(x, format.error());
  std::shared_ptr<QuerySource> src;
  if (as_of) {
    auto folded = QuerySource::AsOf(log, *as_of);
    if (!folded) return Error(x, folded.error());
    src = std::make_shared<QuerySource>(std::move(*folded));
    return Render(x, src);
  }
  {
    // A snapshot of the projections of one seq: catch-ups write under the lock held exclusively.
    std::shared_lock<std::shared_mutex> lock(projection_mu);
    auto stored = QuerySource::FromStore(store);
    if (!stored) return Error(x, stored.error());
    src = std::make_shared<QuerySource>(std::move(*stored));
  }
  const std::string key = AnswerKey(x, *format);
  if (auto cached = answers.Find(key, src->seq())) {
    metrics.AnswerRead(true);
    return Finish(x, 200, cached->body, cached->content_type, src->seq());
  }
  metrics.AnswerRead(false);
  Answer a = Render(x, src);
  if (!a.stream && a.res.result_int() == 200 && !x.head) {
    answers.Put(key, src->seq(),
                std::make_shared<const CachedAnswer>(
                    CachedAnswer{a.res.body(), std::string(a.res[http::field::content_type])}));
  }
  return a;
}

namespace {

// A streamed CSV that keeps its source (a snapshot) alive while the answer is written.
BodyStream CsvStream(std::shared_ptr<const QuerySource> src, std::vector<std::string> providers,
                     int32_t month, std::optional<std::string> network) {
  auto stream =
      std::make_shared<InvoiceCsvStream>(*src, std::move(providers), month, std::move(network));
  return [src, stream](std::string* out, bool* done) { return stream->Next(out, done); };
}

// Each route's parameters parsed, then its answer (api/answers.h).
struct Renderer {
  Server::Impl& s;
  Exchange& x;
  std::shared_ptr<const QuerySource> src;
  Format format;

  Answer Json(const Result<json::object>& o) {
    if (!o) return s.Error(x, o.error());
    return s.Finish(x, 200, json::serialize(*o), kJson, src->seq());
  }
  Answer Fail(const Error& e) { return s.Error(x, e); }
  Answer Stream(BodyStream body) {
    Answer a = s.Finish(x, 200, "", kCsv, src->seq());
    a.res.erase(http::field::content_length);
    if (!x.head) {
      a.res.chunked(true);
      a.stream = std::move(body);
    }
    return a;
  }
  // An optional ?name=DATE.
  Result<std::optional<CivilDay>> Day(const char* name) {
    auto it = x.query.find(name);
    if (it == x.query.end()) return std::optional<CivilDay>();
    auto d = ParseDayParam(it->second, name);
    if (!d) return d.error();
    return std::optional<CivilDay>(*d);
  }
  Result<uint64_t> Limit(uint64_t fallback, uint64_t max) {
    auto it = x.query.find("limit");
    if (it == x.query.end()) return fallback;
    return ParseCount(it->second, "limit", 1, max);
  }
  std::string Cursor() {
    auto it = x.query.find("cursor");
    return it == x.query.end() ? "" : it->second;
  }

  Answer Invoice() {
    const std::string& provider = x.params[0];
    auto month = ParseMonthParam(x.params[1], "month");
    if (!month) return Fail(month.error());
    auto lines = InvoiceLines(*src, provider, *month, x.scope);
    if (!lines) return Fail(lines.error());
    if (format == Format::kCsv) {
      return s.Finish(x, 200, InvoiceCsv(provider, *month, *lines), kCsv, src->seq());
    }
    return Json(InvoiceJson(provider, *month, *lines));
  }
  Answer Quota() {
    const std::string& niss = x.params[0];
    if (!IsValidNiss(niss)) {
      return Fail(Error{ErrorCode::kInvalidArgument, "not a valid NISS", -1, "", "niss"});
    }
    auto on = Day("on");
    if (!on) return Fail(on.error());
    if (!on->has_value()) {
      return Fail(Error{ErrorCode::kInvalidArgument, "on=YYYY-MM-DD is required", -1, "", "on"});
    }
    return Json(QuotaAnswer(*src, niss, **on, x.scope));
  }
  Answer Balance() {
    auto year = ParseYear(x.params[1], "year");
    if (!year) return Fail(year.error());
    return Json(BalanceAnswer(*src, x.params[0], *year));
  }
  Answer Networks() { return Json(NetworksAnswer(*src, x.scope)); }
  Answer Providers() {
    auto on = Day("on");
    if (!on) return Fail(on.error());
    auto limit = Limit(kProvidersPageDefault, kProvidersPageMax);
    if (!limit) return Fail(limit.error());
    return Json(ProvidersAnswer(*src, x.params[0], *on, *limit, Cursor()));
  }
  Answer NetworkMonth() {
    const std::string& network = x.params[0];
    auto month = ParseMonthParam(x.params[1], "month");
    if (!month) return Fail(month.error());
    if (format == Format::kCsv) {
      auto providers = NetworkMonthProviders(*src, network, *month);
      if (!providers) return Fail(providers.error());
      return Stream(CsvStream(src, std::move(*providers), *month, network));
    }
    return Json(NetworkMonthAnswer(*src, network, *month));
  }
  Answer Figures() {
    auto on = Day("on");
    if (!on) return Fail(on.error());
    return Json(FiguresAnswer(*src, x.params[0], on->value_or(Today())));
  }
  // Every provider's invoice of the month (as `ledgerctl export`), paged by provider: JSON
  // pages of `limit` invoices; CSV streams them all unless a page is asked for.
  Answer MonthLines() {
    auto month = ParseMonthParam(x.params[0], "month");
    if (!month) return Fail(month.error());
    const uint64_t fallback = format == Format::kCsv ? 0 : kMonthInvoicesPageDefault;
    auto page = Limit(fallback, kMonthInvoicesPageMax);
    if (!page) return Fail(page.error());
    auto providers = src->MonthProviders(*month, Cursor(), *page == 0 ? 0 : *page + 1);
    if (!providers) return Fail(providers.error());
    std::optional<std::string> next;
    if (*page > 0 && providers->size() > *page) {
      providers->resize(*page);
      next = providers->back();
    }
    if (format == Format::kCsv) {
      Answer a = Stream(CsvStream(src, std::move(*providers), *month, std::nullopt));
      if (next) a.res.set("Ledger-Next-Cursor", *next);
      return a;
    }
    json::array invoices;
    for (const std::string& provider : *providers) {
      auto lines = src->Lines(provider, *month);
      if (!lines) return Fail(lines.error());
      invoices.emplace_back(InvoiceJson(provider, *month, *lines));
    }
    json::object o;
    o["month"] = FormatMonth(*month);
    o["invoices"] = std::move(invoices);
    o["next_cursor"] = next ? json::value(*next) : json::value(nullptr);
    return Json(o);
  }
};

}  // namespace

Answer Server::Impl::Render(Exchange& x, std::shared_ptr<const QuerySource> src) {
  auto format = x.route->csv ? FormatParam(x.query, x.accept) : Result<Format>(Format::kJson);
  Renderer r{*this, x, std::move(src), format ? *format : Format::kJson};
  switch (x.route->id) {
    case RouteId::kInvoice:
      return r.Invoice();
    case RouteId::kQuota:
      return r.Quota();
    case RouteId::kBalance:
      return r.Balance();
    case RouteId::kNetworks:
      return r.Networks();
    case RouteId::kNetworkProviders:
      return r.Providers();
    case RouteId::kNetworkInvoice:
      return r.NetworkMonth();
    case RouteId::kNetworkFigures:
      return r.Figures();
    case RouteId::kMonthLines:
      return r.MonthLines();
    case RouteId::kAppend:
    case RouteId::kEvents:
    case RouteId::kVerify:
    case RouteId::kReplay:
    case RouteId::kRegularisations:
    case RouteId::kExplain:
    case RouteId::kPublish:
    case RouteId::kClose:
    case RouteId::kHealth:
    case RouteId::kMetrics:
    case RouteId::kMe:
    case RouteId::kAllRegularisations:
    case RouteId::kUi:
    case RouteId::kUiRoot:
    case RouteId::kBackup:
      break;
  }
  return Fail(x, ErrorCode::kStorage, "not a projection read");
}

// --- access facts -----------------------------------------------------------------------------

Result<std::vector<std::string>> StoreAccessFacts::ProviderNetworks(
    std::string_view provider) const {
  return ProjectionView(store_, false).ProviderNetworks(provider);
}

Result<bool> StoreAccessFacts::ProviderHasLines(std::string_view provider, std::string_view network,
                                                int32_t month) const {
  auto t = ProjectionView(store_, false).Tally(month, network, provider);
  if (!t) return t.error();
  return t->has_value();
}

Result<std::optional<std::string>> StoreAccessFacts::EventNetwork(std::string_view id) const {
  auto seq = log_.FindId(id);
  if (!seq) return seq.error();
  if (!seq->has_value()) return std::optional<std::string>();
  std::string network;
  Status s = log_.ReadRange(**seq, **seq, [&](const StoredEventView& v) {
    network = NetworkOf(v.event());
    return false;
  });
  if (!s) return s.error();
  return std::optional<std::string>(network);
}

}  // namespace ledger
