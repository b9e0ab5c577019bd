// The full fold: a sealed History + rulesets -> every invoice line, trajectory and budget.
// A pure function (no clock, no I/O, no randomness); the same input gives the same output,
// whatever the recording order of care events (the book's order rules live in fold.h).
#pragma once

#include <map>
#include <memory>
#include <vector>

#include "projections/fold.h"
#include "projections/history.h"

namespace ledger {

struct Projection {
  std::unique_ptr<RulesetCatalog> rulesets;  // lines point into it
  std::vector<Line> lines;                   // in LineOrder
  std::vector<Trajectory> trajectories;      // by beneficiary, function, network, start
  std::vector<GroupShare> shares;            // by group seq, participant
  std::map<std::pair<NetworkIdx, int32_t>, Cents> allocated;  // latest budget.allocated
  // By beneficiary: where its fold ended (position.seq 0: it has no care event).
  std::vector<FoldCarry> carries;
};

// The rulesets in force for a history: `base` (normally the shipped ones) plus every
// non-voided published ruleset, the highest version of each id.
std::unique_ptr<RulesetCatalog> RulesetsOf(const History& history, const RulesetCatalog& base);
// The static facts of a history (populations, enrolments, assessments), for `rules`.
FoldContext ContextOf(const History& history, const RulesetCatalog* rules);

// Folds a sealed history. `threads` > 1 folds beneficiaries in parallel; the result is the same.
Projection Project(const History& history, const RulesetCatalog& base, int threads = 1);

}  // namespace ledger
