// The fold: events + rulesets -> invoice lines, trajectories (counters) and budgets.
// A pure function: no clock, no I/O, no randomness. Care events are taken in care-date order,
// then recording order (seq), whatever order they were recorded in (book, section 9).
#pragma once

#include <map>
#include <memory>
#include <vector>

#include "projections/history.h"
#include "projections/model.h"
#include "projections/ruleset.h"

namespace ledger {

struct Trajectory {
  BeneficiaryIdx who = 0;
  CareFunction function = CareFunction::kSupport;
  NetworkIdx network = 0;
  CivilDay start = 0, end = 0;  // inclusive window
  Column column = Column::kAdults;
  std::vector<CivilDay> individual_days;  // billable individual sessions
  std::vector<CivilDay> group_days;       // billable group participations
  std::vector<CivilDay> exception_days;
  int32_t concertation_units = 0, concertations = 0;
  bool Active(CivilDay d) const { return d >= start && d <= end; }
};

// The last day of a window of `months` starting on `start`: the day before the same month and
// day `months` later (a window starting on 29 February ends on 28 February).
CivilDay WindowEnd(CivilDay start, int32_t months);
// Age in whole years on `day`.
int32_t AgeOn(CivilDay birth, CivilDay day);

struct Projection {
  std::unique_ptr<RulesetCatalog> rulesets;  // lines point into it
  std::vector<Line> lines;                   // by provider, month, day, seq, part
  std::vector<Trajectory> trajectories;      // by beneficiary, function, network, start
  std::map<std::pair<NetworkIdx, int32_t>, Cents> allocated;  // latest budget.allocated
};

// Folds a sealed history. `base` are the rulesets before any published one (the shipped ones).
Projection Project(const History& history, const RulesetCatalog& base);

int32_t MonthOf(CivilDay day);  // yyyymm

}  // namespace ledger
