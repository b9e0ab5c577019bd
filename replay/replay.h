// The dry run of a tariff revision: history folded under the rulesets in force and under the
// rulesets in force plus a candidate, and the differences per provider-month and network-year.
// Pure: no clock, no I/O, nothing stored. The same history and rulesets give the same report.
//
// Thread-safety: ReplayPacked() and Replay() only read the history and the catalog; they may
// run folds on threads of their own (`threads`), the result is the same.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "projections/history.h"
#include "projections/money.h"
#include "projections/packed_history.h"
#include "projections/projector.h"
#include "projections/ruleset.h"
#include "schemas/result.h"

namespace ledger {

// Totals over billable lines.
struct Amounts {
  Cents fee, copay, insurer;
  bool operator==(const Amounts&) const = default;
  Amounts& operator+=(const Amounts& o) {
    fee += o.fee;
    copay += o.copay;
    insurer += o.insurer;
    return *this;
  }
};
Amounts operator-(const Amounts& a, const Amounts& b);

// Where a candidate ruleset stands against the catalog in force.
enum class CandidateStanding {
  kNewId,       // no ruleset of that id yet
  kSupersedes,  // a higher version than the one in force
  kInForce,     // the very document in force (same id, version and content)
};
// A candidate is refused (kConflict, naming the field `version`) when its version is not higher
// than the one in force for its id, unless it is that same document.
Result<CandidateStanding> CheckCandidate(const RulesetCatalog& in_force, const Ruleset& candidate);

struct ProviderMonthDiff {
  std::string provider_id;
  int32_t month = 0;  // yyyymm
  Amounts before, after;
  int64_t lines_repriced = 0;       // lines whose fee, co-pay, insurer share or reason changed
  int64_t billability_changed = 0;  // lines billable under one side only
};

struct NetworkYearDiff {
  std::string network_id;
  int32_t year = 0;
  Cents before, after;  // consumed: insurer share of billable lines
};

struct ReplayReport {
  std::string candidate;   // "convention-2024@2"
  std::string supersedes;  // the version in force for that id, "" when new
  CandidateStanding standing = CandidateStanding::kNewId;
  std::optional<CivilDay> from;  // only care dates on or after it are reported
  Seq last_seq = 0;              // the history's last seq
  uint64_t care_events = 0;      // care events folded (each fold)
  uint64_t lines_compared = 0;   // lines within the report's dates
  // Only the provider-months and network-years that differ, by id then month / year.
  std::vector<ProviderMonthDiff> provider_months;
  std::vector<NetworkYearDiff> network_years;
  // Over every line within the report's dates, changed or not.
  Amounts total_before, total_after;
  int64_t lines_repriced = 0, billability_changed = 0;
};

// The dry run the commands use: folds `history` under the rulesets in force (`base` plus the
// history's published rulesets) and under those plus `candidate`, and compares the lines.
// Gives the same report as Replay() below over a History of the same log, without building
// either projection: each beneficiary is folded under both catalogs and its lines compared at
// once (a beneficiary with no care date the candidate may price differently is folded once),
// then the group sessions, community interventions and support missions. `threads` workers.
Result<ReplayReport> ReplayPacked(const PackedHistory& history, const RulesetCatalog& base,
                                  const Ruleset& candidate, std::optional<CivilDay> from,
                                  int threads = 2);

// The reference: two full projections (Project) merged by DiffProjections. Simple and slow
// (two projections of the whole history in memory); kept to check ReplayPacked against it.
// `threads` >= 2 folds the two projections at the same time.
Result<ReplayReport> Replay(const History& history, const RulesetCatalog& base,
                            const Ruleset& candidate, std::optional<CivilDay> from,
                            int threads = 2);

// The same comparison for two projections of one history (lines in LineOrder).
ReplayReport DiffProjections(const History& history, const Projection& before,
                             const Projection& after, std::optional<CivilDay> from);

// {"candidate","supersedes","from","last_seq","care_events","lines_compared",
//  "provider_months":[{"provider_id","month","before":{fee_cents,copay_cents,insurer_cents},
//                      "after":{...},"delta":{...},"lines_repriced","billability_changed"}],
//  "network_years":[{"network_id","year","consumed_before_cents","consumed_after_cents",
//                    "consumed_delta_cents"}],
//  "totals":{"before":{...},"after":{...},"delta":{...},"lines_repriced","billability_changed"}}
boost::json::object ReplayReportJson(const ReplayReport& report);
// The same bytes as boost::json::serialize(ReplayReportJson(report)), written straight into a
// string: no value tree is built (a report over a large history runs to megabytes).
std::string ReplayReportJsonText(const ReplayReport& report);
// The same as aligned text tables, amounts in euros ("86.69"), for a terminal.
std::string ReplayReportText(const ReplayReport& report);

// Amounts as {"fee_cents","copay_cents","insurer_cents"}; cents as "-12.34" (integer arithmetic).
boost::json::object AmountsJson(const Amounts& a);
std::string FormatEuros(Cents c);

}  // namespace ledger
