#include "api/queries.h"

#include <cstdio>

#include "api/answers.h"
#include "api/cli.h"
#include "api/progress.h"
#include "api/query_source.h"
#include "api/replay_commands.h"
#include "projections/history.h"
#include "projections/projector.h"
#include "projections/store.h"
#include "projections/views.h"
#include "schemas/niss.h"

namespace ledger {
namespace {

// An answer at the head comes from the persisted projections, caught up first; --as-of and
// --as-of-time fold the history up to that seq in memory. Beside a running ledgerd (the log
// opened read-only) the projections cannot be caught up here: they answer when they reflect
// the head, as ledgerd keeps them, else the history is folded in memory.
class Source {
 public:
  static Result<Source> Open(const Flags& f) {
    Source src;
    auto log = OpenLog(f, LogAccess::kQuery);
    if (!log) return log.error();
    src.log_ = std::move(*log);
    auto as_of = AsOfSeq(f, *src.log_);
    if (!as_of) return as_of.error();
    const Seq head = src.log_->head().seq;
    src.store_ = std::make_unique<ProjectionStore>(*src.log_);
    bool fold = *as_of != head;
    if (!fold && src.log_->read_only()) {
      auto projected = src.store_->seq();
      if (!projected) return projected.error();
      fold = *projected != head;
    } else if (!fold) {
      Progress progress("updating projections", head);
      if (Status s = src.store_->CatchUp([&](Seq d, Seq) { progress.Update(d); }); !s) {
        return s.error();
      }
    }
    auto q = fold ? QuerySource::AsOf(*src.log_, *as_of) : QuerySource::FromStore(*src.store_);
    if (!q) return q.error();
    src.query_ = std::make_unique<QuerySource>(std::move(*q));
    return src;
  }
  const QuerySource* operator->() const { return query_.get(); }
  const QuerySource& operator*() const { return *query_; }

 private:
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<ProjectionStore> store_;
  std::unique_ptr<QuerySource> query_;
};

Result<std::string> Required(const Flags& f, const char* name) {
  auto v = f.Get(name);
  if (!v || v->empty())
    return Error{ErrorCode::kInvalidArgument, std::string("--") + name + " is required"};
  return *v;
}

Result<CivilDay> RequiredDay(const Flags& f, const char* name) {
  auto text = Required(f, name);
  if (!text) return text.error();
  auto day = ParseDate(*text);
  if (!day) {
    return Error{ErrorCode::kInvalidArgument,
                 std::string("--") + name + " must be a real date YYYY-MM-DD"};
  }
  return ToDay(*day);
}

}  // namespace

// --network ID --month M: the network's month (totals, per provider, unbillable by reason), or
// as CSV every line of every provider of that network-month.
int NetworkInvoice(const Flags& f, const std::string& network, int32_t month, bool csv) {
  auto src = Source::Open(f);
  if (!src) return Report(src.error());
  if (!csv) {
    auto answer = NetworkMonthAnswer(**src, network, month);
    if (!answer) return Report(answer.error());
    PrintJson(*answer);
    return 0;
  }
  auto providers = NetworkMonthProviders(**src, network, month);
  if (!providers) return Report(providers.error());
  InvoiceCsvStream stream(**src, std::move(*providers), month, network);
  std::string piece;
  for (bool done = false; !done;) {
    piece.clear();
    if (Status s = stream.Next(&piece, &done); !s) return Report(s.error());
    if (std::fwrite(piece.data(), 1, piece.size(), stdout) != piece.size()) return kExitStorage;
  }
  return 0;
}

int RunInvoice(const Flags& f) {
  auto month_text = Required(f, "month");
  if (!month_text) return Report(month_text.error());
  auto month = ParseMonth(*month_text);
  if (!month) return Report({ErrorCode::kInvalidArgument, "--month must be YYYY-MM"});
  const std::string format = f.GetOr("format", "json");
  if (format != "json" && format != "csv") {
    return Report({ErrorCode::kInvalidArgument, "--format must be json or csv"});
  }
  auto provider = f.Get("provider");
  auto network = f.Get("network");
  if (provider.has_value() == network.has_value()) {
    return Report({ErrorCode::kInvalidArgument, "give --provider ID or --network ID"});
  }
  if (network) return NetworkInvoice(f, *network, *month, format == "csv");
  auto src = Source::Open(f);
  if (!src) return Report(src.error());
  auto lines = InvoiceLines(**src, *provider, *month, std::nullopt);
  if (!lines) return Report(lines.error());
  if (format == "csv") {
    const std::string csv = InvoiceCsv(*provider, *month, *lines);
    std::fwrite(csv.data(), 1, csv.size(), stdout);
  } else {
    PrintJson(InvoiceJson(*provider, *month, *lines));
  }
  return 0;
}

int RunQuota(const Flags& f) {
  auto niss = Required(f, "niss");
  if (!niss) return Report(niss.error());
  // The number itself is not echoed in the error: it is personal data.
  if (!IsValidNiss(*niss))
    return Report({ErrorCode::kInvalidArgument, "--niss is not a valid NISS"});
  auto on = RequiredDay(f, "on");
  if (!on) return Report(on.error());
  auto src = Source::Open(f);
  if (!src) return Report(src.error());
  auto answer = QuotaAnswer(**src, *niss, *on, std::nullopt);
  if (!answer) return Report(answer.error());
  PrintJson(*answer);
  return 0;
}

int RunBalance(const Flags& f) {
  auto network = Required(f, "network");
  if (!network) return Report(network.error());
  auto year = f.GetInt("year", 1900, 9999);
  if (!year) return Report(year.error());
  if (!year->has_value()) return Report({ErrorCode::kInvalidArgument, "--year is required"});
  auto src = Source::Open(f);
  if (!src) return Report(src.error());
  auto answer = BalanceAnswer(**src, *network, static_cast<int32_t>(**year));
  if (!answer) return Report(answer.error());
  PrintJson(*answer);
  return 0;
}

int RunFigures(const Flags& f) {
  auto network = Required(f, "network");
  if (!network) return Report(network.error());
  auto on = RequiredDay(f, "on");
  if (!on) return Report(on.error());
  auto src = Source::Open(f);
  if (!src) return Report(src.error());
  auto answer = FiguresAnswer(**src, *network, *on);
  if (!answer) return Report(answer.error());
  PrintJson(*answer);
  return 0;
}

int RunNetworks(const Flags& f) {
  auto src = Source::Open(f);
  if (!src) return Report(src.error());
  auto answer = NetworksAnswer(**src, std::nullopt);
  if (!answer) return Report(answer.error());
  PrintJson(*answer);
  return 0;
}

int RunProviders(const Flags& f) {
  auto network = Required(f, "network");
  if (!network) return Report(network.error());
  std::optional<CivilDay> on;
  if (f.Get("on")) {
    auto day = RequiredDay(f, "on");
    if (!day) return Report(day.error());
    on = *day;
  }
  auto src = Source::Open(f);
  if (!src) return Report(src.error());
  auto answer = ProvidersAnswer(**src, *network, on, 0, "");
  if (!answer) return Report(answer.error());
  PrintJson(*answer);
  return 0;
}

int RunProjections(const Flags& f) {
  const auto& args = f.positional();
  if (args.size() != 1 || (args[0] != "status" && args[0] != "rebuild")) {
    return Report({ErrorCode::kInvalidArgument, "usage: ledgerctl projections status|rebuild"});
  }
  auto log = OpenLog(f, args[0] == "status" ? LogAccess::kRead : LogAccess::kWrite);
  if (!log) return Report(log.error());
  ProjectionStore store(**log);
  if (args[0] == "rebuild") {
    Progress progress("rebuilding projections", (*log)->head().seq);
    if (Status s = store.Rebuild([&](Seq d, Seq) { progress.Update(d); }); !s) {
      return Report(s.error());
    }
  }
  auto seq = store.seq();
  if (!seq) return Report(seq.error());
  auto digest = store.Digest();
  if (!digest) return Report(digest.error());
  boost::json::object o;
  o["log_seq"] = (*log)->head().seq;
  o["projections_seq"] = *seq;
  o["digest"] = ToHex(*digest);
  PrintJson(o);
  return 0;
}

int RunRules(const Flags& f) {
  const auto& args = f.positional();
  if (args.empty() || args[0] != "show" || args.size() > 2) {
    return Report({ErrorCode::kInvalidArgument, "usage: ledgerctl rules show [ID]"});
  }
  // Read from the rules stream alone: on a ledger whose projections lag (after an append with
  // --defer-projections), showing the rules must not wait for millions of events to be folded.
  auto log = OpenLog(f, LogAccess::kRead);
  if (!log) return Report(log.error());
  auto as_of = AsOfSeq(f, **log);
  if (!as_of) return Report(as_of.error());
  auto catalog = RulesetsAt(**log, *as_of);
  if (!catalog) return Report(catalog.error());
  const RulesetCatalog& rules = **catalog;
  if (args.size() == 2) {
    const Ruleset* rs = rules.Find(args[1]);
    if (!rs) return Report({ErrorCode::kNotFound, "no ruleset with id " + args[1]});
    PrintJson(rs->document);
    return 0;
  }
  boost::json::array all;
  for (const Ruleset* rs : rules.All()) all.emplace_back(rs->document);
  PrintJson(all);
  return 0;
}

}  // namespace ledger
