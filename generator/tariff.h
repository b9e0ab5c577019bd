// The convention's figures by care date, as the generator needs them to size budgets (internal
// to generator/): fees, co-pays, counters and conditions of shared/domain/convention.md. They are
// the figures of the shipped rulesets (projections/rulesets/*.json), which the generator cannot
// read (it imports schemas/ only); budgets_test.cc checks them against those, date by date.
//
// Amounts in integer cents; a fee of 0 means nothing pays that item on that date.
#pragma once

#include <cstdint>

#include "schemas/civil_date.h"

namespace ledger::gen {

enum class Population : uint8_t { kChildren, kAdults, kMixed };
enum class Function : uint8_t { kSupport, kTreatment };

// Age in whole years on `day` of a person born on `birth`.
inline int32_t AgeOn(CivilDay birth, CivilDay day) {
  const CivilDate b = FromDay(birth), d = FromDay(day);
  int32_t age = d.year - b.year;
  if (d.month < b.month || (d.month == b.month && d.day < b.day)) --age;
  return age;
}

class Tariff {
 public:
  Tariff();

  // No convention before 2021-09-01; convention-2021 up to 2024-03-31; convention-2024 from.
  enum class Convention : uint8_t { kNone, k2021, k2024 };
  Convention On(CivilDay day) const;

  int64_t IndividualFee(CivilDay day) const;
  int64_t GroupFee(CivilDay day, bool other) const;  // per facilitator; `other`: its role
  int64_t CommunityFee(CivilDay day, bool other) const;
  int64_t MissionFee(CivilDay day, int32_t minutes) const;  // pro rata per minute, half-up
  int64_t ConcertationUnitFee(CivilDay day) const;          // per paid participant

  // Co-pays. A trajectory's first billable individual session has none (the caller's rule).
  int64_t IndividualCopay(CivilDay day, int32_t age, bool bim, bool school_cpms) const;
  int64_t GroupCopay(CivilDay day, int32_t age, bool school_cpms) const;  // per participant

  // A trajectory's counters in its column (children or adults); kNoLimit where there is none.
  static constexpr int32_t kNoLimit = INT32_MAX;
  int32_t IndividualMax(CivilDay day, bool children, Function f) const;
  int32_t GroupMax(CivilDay day, bool children, Function f) const;
  int32_t ExceptionExtra(CivilDay day) const;  // sessions an exception adds (2021)
  int32_t ConcertationsMaxPerTrajectory(CivilDay day) const;

  // Conditions, the same under both conventions.
  static bool AgeFits(Population p, int32_t age);  // the network's population
  static bool ChildrenColumn(Population p, int32_t age_at_start);
  static constexpr int32_t kDailyIndividualMax = 1;
  static constexpr int32_t kGroupMinParticipants = 4;
  static constexpr int32_t kCommunityMinParticipants = 10;
  static constexpr int32_t kCommunityMinMinutes = 120;
  static constexpr int32_t kCommunityMinInteractionMinutes = 90;
  static constexpr int32_t kCommunityMinFacilitators = 2;
  static constexpr int32_t kConcertationUnitsMax = 4;  // per concertation and per trajectory
  static constexpr int32_t kConcertationMinParticipants = 3;
  static constexpr int32_t kConcertationMinCareProviders = 2;
  static constexpr int32_t kWindowMonths = 12;

 private:
  CivilDay from_2021_, from_2024_, young_free_from_, school_free_from_;
};

}  // namespace ledger::gen
