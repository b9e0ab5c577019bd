#include "generator/care_cost.h"

#include <algorithm>
#include <cassert>

namespace ledger::gen {
namespace {

// The last day of a trajectory window of 12 months from `start` (the day before the same day a
// year later; the window of 29 February ends on 28 February).
CivilDay WindowEnd(CivilDay start) {
  const CivilDate s = FromDay(start);
  if (s.month == 2 && s.day == 29) return ToDay({s.year + 1, 2, 28});
  return ToDay({s.year + 1, s.month, s.day}) - 1;
}

}  // namespace

void Spend::Add(CivilDay day, int64_t cents) {
  assert(cents >= 0);
  total += cents;
  if (!by_year) return;
  const int64_t i = FromDay(day).year - first_year;
  if (i >= 0 && i < static_cast<int64_t>(by_year->size()))
    (*by_year)[static_cast<size_t>(i)] += cents;
}

CareCost::CareCost(const Tariff& tariff, Population population, std::span<const CostPerson> people,
                   Spend* spend)
    : tariff_(tariff), population_(population), people_(people), spend_(spend) {
  assert(people.size() <= kPeopleMax);
  for (size_t i = 0; i < kPeopleMax; ++i) {
    assessed_from_[i] = i < people.size() ? people[i].assessed : INT32_MAX;
  }
}

CareCost::Trajectory& CareCost::ActiveOrStart(size_t person, Function f, CivilDay day) {
  Trajectory& t = trajectories_[person][static_cast<size_t>(f)];
  if (t.start <= day && day <= t.end) return t;
  t = Trajectory{};
  t.start = day;
  t.end = WindowEnd(day);
  t.children = Tariff::ChildrenColumn(population_, Age(person, day));
  return t;
}

void CareCost::Assessment(size_t person, CivilDay day) {
  assessed_from_[person] = std::min(assessed_from_[person], day);
}

void CareCost::Exception(CivilDay day) {
  Trajectory& t = trajectories_[0][static_cast<size_t>(Function::kSupport)];
  if (t.start <= day && day <= t.end) t.exception = true;
}

void CareCost::Individual(CivilDay day, Function f, bool with_context, bool school_cpms,
                          bool enrolled) {
  Trajectory& t = ActiveOrStart(0, f, day);  // any session starts a trajectory
  const int64_t fee = tariff_.IndividualFee(day);
  const int32_t age = Age(0, day);
  if (fee == 0 || !enrolled || !Tariff::AgeFits(population_, age)) return;
  if (f == Function::kTreatment && assessed_from_[0] > day) return;  // no_assessment
  const int32_t today = daily_day_ == day ? daily_count_ : 0;
  if (!with_context && today >= Tariff::kDailyIndividualMax) return;  // daily_limit
  const int32_t extra = t.exception && f == Function::kSupport ? tariff_.ExceptionExtra(day) : 0;
  const int32_t max = tariff_.IndividualMax(day, t.children, f);
  if (t.individual >= max + extra) return;  // counter_exhausted
  const int64_t copay =
      t.individual == 0 ? 0 : tariff_.IndividualCopay(day, age, people_[0].bim, school_cpms);
  ++t.individual;
  daily_day_ = day;
  daily_count_ = today + 1;
  spend_->Add(day, fee - std::min(copay, fee));
}

void CareCost::Group(CivilDay day, Function f, bool school_cpms, uint32_t attendance,
                     std::span<const Facilitator> facilitators) {
  int32_t eligible = 0;
  bool assessed = true;
  for (size_t i = 0; i < people_.size(); ++i) {
    if ((attendance & (1u << i)) == 0) continue;
    ActiveOrStart(i, f, day);
    eligible += Tariff::AgeFits(population_, Age(i, day)) ? 1 : 0;
    assessed = assessed && (f == Function::kSupport || assessed_from_[i] <= day);
  }
  if (!assessed || eligible < Tariff::kGroupMinParticipants) return;
  int64_t fees = 0, first_paid_fee = -1;
  for (const Facilitator& fac : facilitators) {
    const int64_t fee = tariff_.GroupFee(day, fac.other);
    if (fee == 0 || !fac.enrolled) continue;
    fees += fee;
    if (first_paid_fee < 0) first_paid_fee = fee;
  }
  if (first_paid_fee < 0) return;
  // The participants' co-pays, collected by the first paid facilitator (capped at its fee);
  // over the group counter (2021) a participant pays none.
  int64_t copays = 0;
  for (size_t i = 0; i < people_.size(); ++i) {
    if ((attendance & (1u << i)) == 0 || !Tariff::AgeFits(population_, Age(i, day))) continue;
    Trajectory& t = ActiveOrStart(i, f, day);
    if (t.group >= tariff_.GroupMax(day, t.children, f)) continue;
    ++t.group;
    copays += tariff_.GroupCopay(day, Age(i, day), school_cpms);
  }
  spend_->Add(day, fees - std::min(copays, first_paid_fee));
}

void CareCost::Concertation(CivilDay day, int32_t units, int32_t participants,
                            int32_t care_providers, std::span<const Facilitator> paid) {
  const int64_t unit = tariff_.ConcertationUnitFee(day);
  Trajectory& t = trajectories_[0][static_cast<size_t>(Function::kTreatment)];
  const bool active = t.start <= day && day <= t.end;
  if (unit == 0 || !active || !Tariff::AgeFits(population_, Age(0, day))) return;
  if (units > Tariff::kConcertationUnitsMax ||
      t.concertation_units + units > Tariff::kConcertationUnitsMax ||
      t.concertations >= tariff_.ConcertationsMaxPerTrajectory(day) ||
      participants < Tariff::kConcertationMinParticipants ||
      care_providers < Tariff::kConcertationMinCareProviders) {
    return;  // concertation_requirements
  }
  int64_t cents = 0;
  for (const Facilitator& p : paid) cents += p.enrolled ? unit * units : 0;
  if (cents == 0) return;
  t.concertation_units += units;
  ++t.concertations;
  spend_->Add(day, cents);
}

int64_t CareCost::Community(const Tariff& tariff, CivilDay day,
                            std::span<const Facilitator> facilitators, int32_t minutes,
                            int32_t interaction_minutes, int32_t participants, bool defined_group) {
  const bool meets = (participants >= Tariff::kCommunityMinParticipants || defined_group) &&
                     minutes >= Tariff::kCommunityMinMinutes &&
                     interaction_minutes >= Tariff::kCommunityMinInteractionMinutes &&
                     static_cast<int32_t>(facilitators.size()) >= Tariff::kCommunityMinFacilitators;
  if (!meets) return 0;
  int64_t cents = 0;
  for (const Facilitator& f : facilitators)
    cents += f.enrolled ? tariff.CommunityFee(day, f.other) : 0;
  return cents;
}

int64_t CareCost::Mission(const Tariff& tariff, CivilDay day, int32_t minutes, bool enrolled) {
  return enrolled ? tariff.MissionFee(day, minutes) : 0;
}

}  // namespace ledger::gen
