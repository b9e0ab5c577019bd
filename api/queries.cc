#include "api/queries.h"

#include <cstdio>

#include "api/cli.h"
#include "projections/history.h"
#include "projections/projector.h"
#include "projections/views.h"
#include "schemas/niss.h"

namespace ledger {
namespace {

struct Loaded {
  std::unique_ptr<EventLog> log;
  History history;
  Projection projection;
};

Result<Loaded> Load(const Flags& f) {
  auto log = OpenLog(f);
  if (!log) return log.error();
  auto as_of = AsOfSeq(f, **log);
  if (!as_of) return as_of.error();
  auto history = History::Load(**log, *as_of == 0 ? UINT64_MAX : *as_of);
  if (!history) return history.error();
  Loaded l{std::move(*log), std::move(*history), {}};
  if (*as_of == 0) l.history = History();  // as of before the first event: nothing
  l.projection = Project(l.history, RulesetCatalog());
  return l;
}

Result<std::string> Required(const Flags& f, const char* name) {
  auto v = f.Get(name);
  if (!v || v->empty()) return Error{ErrorCode::kInvalidArgument, std::string("--") + name + " is required"};
  return *v;
}

}  // namespace

int RunInvoice(const Flags& f) {
  auto provider = Required(f, "provider");
  if (!provider) return Report(provider.error());
  auto month_text = Required(f, "month");
  if (!month_text) return Report(month_text.error());
  auto month = ParseMonth(*month_text);
  if (!month) return Report({ErrorCode::kInvalidArgument, "--month must be YYYY-MM"});
  const std::string format = f.GetOr("format", "json");
  if (format != "json" && format != "csv") {
    return Report({ErrorCode::kInvalidArgument, "--format must be json or csv"});
  }
  auto l = Load(f);
  if (!l) return Report(l.error());
  if (format == "csv") {
    const std::string csv = InvoiceCsv(l->history, l->projection, *provider, *month);
    std::fwrite(csv.data(), 1, csv.size(), stdout);
  } else {
    PrintJson(InvoiceJson(l->history, l->projection, *provider, *month));
  }
  return 0;
}

int RunQuota(const Flags& f) {
  auto niss = Required(f, "niss");
  if (!niss) return Report(niss.error());
  // The number itself is not echoed in the error: it is personal data.
  if (!IsValidNiss(*niss)) return Report({ErrorCode::kInvalidArgument, "--niss is not a valid NISS"});
  auto on_text = Required(f, "on");
  if (!on_text) return Report(on_text.error());
  auto on = ParseDate(*on_text);
  if (!on) return Report({ErrorCode::kInvalidArgument, "--on must be a real date YYYY-MM-DD"});
  auto l = Load(f);
  if (!l) return Report(l.error());
  PrintJson(QuotaJson(l->history, l->projection, *niss, ToDay(*on)));
  return 0;
}

int RunBalance(const Flags& f) {
  auto network = Required(f, "network");
  if (!network) return Report(network.error());
  auto year = f.GetInt("year", 1900, 9999);
  if (!year) return Report(year.error());
  if (!year->has_value()) return Report({ErrorCode::kInvalidArgument, "--year is required"});
  auto l = Load(f);
  if (!l) return Report(l.error());
  PrintJson(BalanceJson(l->history, l->projection, *network, static_cast<int32_t>(**year)));
  return 0;
}

int RunRules(const Flags& f) {
  const auto& args = f.positional();
  if (args.empty() || args[0] != "show" || args.size() > 2) {
    return Report({ErrorCode::kInvalidArgument, "usage: ledgerctl rules show [ID]"});
  }
  auto l = Load(f);
  if (!l) return Report(l.error());
  const RulesetCatalog& rules = *l->projection.rulesets;
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
