// Work that folds or walks the whole history, on the audit thread (one job at a time): verify,
// replays, regularisations, explain, publishing a ruleset and closing a month.
#include <boost/beast/http.hpp>
#include <chrono>
#include <set>

#include "api/cli.h"
#include "api/replay_commands.h"
#include "api/server/server_impl.h"
#include "ledger/backup.h"

namespace ledger {

namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

CivilDay Today() {
  return DayOfTimestampUs(std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count());
}

std::string MediaTypeOf(const Request& req) {
  const auto type = req[http::field::content_type];
  std::string t(type.substr(0, type.find(';')));
  for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  t.erase(0, t.find_first_not_of(" \t"));
  t.erase(t.find_last_not_of(" \t") + 1);
  return t;
}

}  // namespace

Result<json::object> Server::Impl::Regularisations(std::optional<Seq> as_of,
                                                   std::optional<int32_t> month,
                                                   std::optional<std::string_view> provider,
                                                   const std::set<std::string>* only) {
  if (as_of) return RegularisationsAt(log, month, provider, *as_of, {}, only);
  // At the head: the persisted projections at one view (no fold).
  std::unique_ptr<ProjectionView> view;
  {
    std::shared_lock<std::shared_mutex> lock(projection_mu);
    view = std::make_unique<ProjectionView>(store.View());
  }
  auto seq = view->seq();
  if (!seq) return seq.error();
  return RegularisationsOfStore(log, *view, *seq, month, provider, only);
}

Answer Server::Impl::Audit(Exchange& x, const Request& req) {
  switch (x.route->id) {
    case RouteId::kVerify:
      return Verify(x);
    case RouteId::kReplay:
      return Replay(x, req);
    case RouteId::kRegularisations:
      return RegularisationsOf(x);
    case RouteId::kAllRegularisations:
      return AllRegularisations(x);
    case RouteId::kExplain:
      return Explain(x);
    case RouteId::kPublish:
      return Publish(x, req);
    case RouteId::kClose:
      return Close(x);
    case RouteId::kBackup:
      return Backup(x);
    case RouteId::kAppend:
    case RouteId::kEvents:
    case RouteId::kInvoice:
    case RouteId::kQuota:
    case RouteId::kBalance:
    case RouteId::kHealth:
    case RouteId::kMetrics:
    case RouteId::kMe:
    case RouteId::kNetworks:
    case RouteId::kNetworkProviders:
    case RouteId::kNetworkInvoice:
    case RouteId::kNetworkFigures:
    case RouteId::kMonthLines:
    case RouteId::kUi:
    case RouteId::kUiRoot:
      break;
  }
  return Fail(x, ErrorCode::kStorage, "not an audit route");
}

Answer Server::Impl::Verify(Exchange& x) {
  auto answer = VerifyLedger(log, std::nullopt);
  if (!answer) return Error(x, answer.error());
  return Finish(x, 200, json::serialize(VerifyAnswerJson(*answer)), kJson, answer->chain.events);
}

std::optional<Answer> Server::Impl::RulesetBody(Exchange& x, const Request& req,
                                                json::value* document) {
  if (MediaTypeOf(req) != "application/json") {
    return Fail(x, ErrorCode::kUnsupportedMediaType, "send the ruleset as application/json");
  }
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 32;
  *document = json::parse(req.body(), ec, {}, opts);
  if (ec) {
    return Fail(x, ErrorCode::kInvalidArgument, "the body is not JSON: " + ec.message());
  }
  if (auto dup = FindDuplicateKey(req.body())) {
    return Fail(x, ErrorCode::kInvalidArgument, "a field given twice in one object", dup->path);
  }
  return std::nullopt;
}

// POST /v1/replays[?from=YYYY-MM-DD]: the body is a ruleset; the dry run stores nothing.
Answer Server::Impl::Replay(Exchange& x, const Request& req) {
  std::optional<CivilDay> from;
  if (auto it = x.query.find("from"); it != x.query.end()) {
    auto d = ParseDayParam(it->second, "from");
    if (!d) return Error(x, d.error());
    from = *d;
  }
  json::value document;
  if (auto refused = RulesetBody(x, req, &document)) return std::move(*refused);
  auto report = ReplayRuleset(log, document, from);
  if (!report) return Error(x, report.error());
  return Finish(x, 200, ReplayReportJsonText(*report), kJson, report->last_seq);
}

// POST /v1/rulesets?reason=TEXT: the body is a ruleset; appends ruleset.published (as
// `ledgerctl rules publish FILE --reason TEXT`). From then on, care dates it covers are priced
// with it.
Answer Server::Impl::Publish(Exchange& x, const Request& req) {
  auto reason = x.query.find("reason");
  if (reason == x.query.end() || reason->second.find_first_not_of(" \t") == std::string::npos) {
    return Fail(x, ErrorCode::kInvalidArgument,
                "?reason= is required: why this ruleset is published", "reason");
  }
  json::value document;
  if (auto refused = RulesetBody(x, req, &document)) return std::move(*refused);
  auto out = PublishRuleset(log, document, reason->second, Today());
  if (!out) return Error(x, out.error());
  committer.ProjectionsDue();
  const Seq seq = (*out)["seq"].as_uint64();
  return Finish(x, 200, json::serialize(*out), kJson, seq);
}

// POST /v1/months/{YYYY-MM}/close: one invoice.issued per provider with lines that month (as
// `ledgerctl close --month`).
Answer Server::Impl::Close(Exchange& x) {
  auto month = ParseMonthParam(x.params[0], "month");
  if (!month) return Error(x, month.error());
  auto out = CloseMonth(log, *month, Today());
  if (!out) return Error(x, out.error());
  committer.ProjectionsDue();
  return Finish(x, 200, json::serialize(CloseAnswerJson(*out)), kJson, out->last_seq);
}

// POST /v1/admin/backups: a backup into --backup-dir (ledger/backup.h: the writer paused at a
// commit boundary while the files are captured, so that it holds exactly the seq and head it
// answers). Without --backup-dir: 409 not_configured.
Answer Server::Impl::Backup(Exchange& x) {
  if (options.backup_dir.empty()) {
    return Fail(x, ErrorCode::kNotConfigured,
                "ledgerd was started without --backup-dir: no online backups (ops/RUNBOOK.md)");
  }
  auto backup = CreateBackup(log, options.backup_dir);
  if (!backup) return Error(x, backup.error());
  return Finish(x, 200, json::serialize(BackupJson(*backup)), kJson, backup->seq);
}

// GET /v1/providers/{id}/regularisations[?month=YYYY-MM][&as_of=SEQ]. Access: access.h (a
// coordinator sees a provider that only ever worked in their network).
Answer Server::Impl::RegularisationsOf(Exchange& x) {
  auto as_of = AsOfParam(x.query, log);
  if (!as_of) return Error(x, as_of.error());
  std::optional<int32_t> month;
  if (auto it = x.query.find("month"); it != x.query.end()) {
    auto m = ParseMonthParam(it->second, "month");
    if (!m) return Error(x, m.error());
    month = *m;
  }
  const std::string& provider = x.params[0];
  auto out = Regularisations(*as_of, month, provider);
  if (!out) return Error(x, out.error());
  const Seq seq = (*out)["last_seq"].as_uint64();
  return Finish(x, 200, json::serialize(*out), kJson, seq);
}

// GET /v1/regularisations[?month=YYYY-MM]: every provider's (a coordinator: those of the
// providers who only ever worked in their network; the others are counted as withheld).
Answer Server::Impl::AllRegularisations(Exchange& x) {
  auto as_of = AsOfParam(x.query, log);
  if (!as_of) return Error(x, as_of.error());
  std::optional<int32_t> month;
  if (auto it = x.query.find("month"); it != x.query.end()) {
    auto m = ParseMonthParam(it->second, "month");
    if (!m) return Error(x, m.error());
    month = *m;
  }
  // A coordinator: the providers who only ever worked in their network (an invoice, so its
  // regularisation, is per provider); those who also work elsewhere are counted as withheld.
  std::optional<std::set<std::string>> only;
  int64_t withheld = 0;
  if (x.scope) {
    const ProjectionView view(store, false);
    auto enrolments = view.Enrolments(*x.scope);
    if (!enrolments) return Error(x, enrolments.error());
    only.emplace();
    std::set<std::string> others;
    for (const EnrolmentRecord& e : *enrolments) {
      if (only->count(e.provider_id) || others.count(e.provider_id)) continue;
      auto networks = view.ProviderNetworks(e.provider_id);
      if (!networks) return Error(x, networks.error());
      (*networks == std::vector<std::string>{*x.scope} ? *only : others).insert(e.provider_id);
    }
    withheld = static_cast<int64_t>(others.size());
  }
  auto out = Regularisations(*as_of, month, std::nullopt, only ? &*only : nullptr);
  if (!out) return Error(x, out.error());
  if (x.scope) (*out)["withheld_multi_network_providers"] = withheld;
  const Seq seq = (*out)["last_seq"].as_uint64();
  return Finish(x, 200, json::serialize(*out), kJson, seq);
}

// GET /v1/events/{id}/explain[?as_of=SEQ]. Access: access.h (a coordinator: their network's
// events only).
Answer Server::Impl::Explain(Exchange& x) {
  auto as_of = AsOfParam(x.query, log);
  if (!as_of) return Error(x, as_of.error());
  const Seq at = as_of->value_or(log.head().seq);
  auto out = ExplainEventId(log, x.params[0], at);
  if (!out) return Error(x, out.error());
  return Finish(x, 200, json::serialize(*out), kJson, at);
}

}  // namespace ledger
