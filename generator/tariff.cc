#include "generator/tariff.h"

namespace ledger::gen {
namespace {

// Fees of convention-2021 (its [default] figures included) and convention-2024, in cents.
struct Fees {
  int64_t individual, group_psychologist, group_other, community_psychologist, community_other,
      mission_hour, concertation_unit;
};
constexpr Fees k2021Fees = {7500, 20000, 12601, 0, 0, 7500, 1875};
constexpr Fees k2024Fees = {8669, 23118, 14565, 23118, 14565, 8669, 2167};

constexpr int64_t kCopayIndividual = 1100, kCopayIndividualBim = 400, kCopayGroup = 250;
constexpr int32_t kYoungFreeMaxAge = 23;
constexpr int32_t kChildrenMaxAge = 23, kAdultsMinAge = 15, kMixedChildrenMaxAge = 23;

}  // namespace

Tariff::Tariff()
    : from_2021_(ToDay({2021, 9, 1})),
      from_2024_(ToDay({2024, 4, 1})),
      young_free_from_(ToDay({2024, 2, 1})),
      school_free_from_(ToDay({2023, 9, 1})) {}

Tariff::Convention Tariff::On(CivilDay day) const {
  if (day < from_2021_) return Convention::kNone;
  return day < from_2024_ ? Convention::k2021 : Convention::k2024;
}

namespace {
const Fees* FeesOn(Tariff::Convention c) {
  switch (c) {
    case Tariff::Convention::kNone:
      return nullptr;
    case Tariff::Convention::k2021:
      return &k2021Fees;
    case Tariff::Convention::k2024:
      return &k2024Fees;
  }
  return nullptr;
}
}  // namespace

int64_t Tariff::IndividualFee(CivilDay day) const {
  const Fees* f = FeesOn(On(day));
  return f ? f->individual : 0;
}

int64_t Tariff::GroupFee(CivilDay day, bool other) const {
  const Fees* f = FeesOn(On(day));
  return f ? (other ? f->group_other : f->group_psychologist) : 0;
}

int64_t Tariff::CommunityFee(CivilDay day, bool other) const {
  const Fees* f = FeesOn(On(day));
  return f ? (other ? f->community_other : f->community_psychologist) : 0;
}

int64_t Tariff::MissionFee(CivilDay day, int32_t minutes) const {
  const Fees* f = FeesOn(On(day));
  return f ? (f->mission_hour * minutes * 2 + 60) / 120 : 0;
}

int64_t Tariff::ConcertationUnitFee(CivilDay day) const {
  const Fees* f = FeesOn(On(day));
  return f ? f->concertation_unit : 0;
}

int64_t Tariff::IndividualCopay(CivilDay day, int32_t age, bool bim, bool school_cpms) const {
  if (day >= young_free_from_ && age <= kYoungFreeMaxAge) return 0;
  if (school_cpms && day >= school_free_from_) return 0;
  return bim ? kCopayIndividualBim : kCopayIndividual;
}

int64_t Tariff::GroupCopay(CivilDay day, int32_t age, bool school_cpms) const {
  if (day >= young_free_from_ && age <= kYoungFreeMaxAge) return 0;
  if (school_cpms && day >= school_free_from_) return 0;
  return kCopayGroup;
}

int32_t Tariff::IndividualMax(CivilDay day, bool children, Function f) const {
  if (f == Function::kTreatment) return 20;
  return children ? 10 : 8;
}

int32_t Tariff::GroupMax(CivilDay day, bool children, Function f) const {
  if (On(day) != Convention::k2021) return kNoLimit;  // 2024: group sessions have no limit
  if (f == Function::kTreatment) return children ? 15 : 12;
  return children ? 8 : 5;
}

int32_t Tariff::ExceptionExtra(CivilDay day) const { return On(day) == Convention::k2021 ? 1 : 0; }

int32_t Tariff::ConcertationsMaxPerTrajectory(CivilDay day) const {
  return On(day) == Convention::k2021 ? 1 : kNoLimit;
}

bool Tariff::AgeFits(Population p, int32_t age) {
  switch (p) {
    case Population::kChildren:
      return age <= kChildrenMaxAge;
    case Population::kAdults:
      return age >= kAdultsMinAge;
    case Population::kMixed:
      return true;
  }
  return true;
}

bool Tariff::ChildrenColumn(Population p, int32_t age_at_start) {
  switch (p) {
    case Population::kChildren:
      return true;
    case Population::kAdults:
      return false;
    case Population::kMixed:
      return age_at_start <= kMixedChildrenMaxAge;
  }
  return false;
}

}  // namespace ledger::gen
