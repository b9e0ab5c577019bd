// What planned care costs the insurer (internal to generator/): the insurer share of one
// beneficiary's individual care or one group's sessions, priced action by action in care-date
// order as projections/fold.cc prices them (trajectories and their counters, the free first
// session, the daily limit, assessments, a group's minimum and co-pays, the concertation rules,
// enrolment), and of community interventions and support missions. The generator uses it to
// share out care between networks and to size their budgets.
//
// An estimate, not the fold: it ignores what crosses entities (a group participant also in
// individual care, a voided session's effect on later ones) and the recording order of events
// on one care date. budgets_test.cc compares the budgets it sizes with the real fold.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "generator/tariff.h"

namespace ledger::gen {

struct CostPerson {
  CivilDay birth = 0;
  bool bim = false;
  CivilDay assessed = INT32_MAX;  // an assessment recorded for this person outside the entity
};

// Where spend goes: a running total and, optionally, cents by care year from `first_year`.
struct Spend {
  int64_t total = 0;
  std::vector<int64_t>* by_year = nullptr;
  int32_t first_year = 0;

  void Add(CivilDay day, int64_t cents);
};

struct Facilitator {
  bool enrolled = false;
  bool other = false;  // an `other` professional (the lower fee)
};

class CareCost {
 public:
  static constexpr size_t kPeopleMax = 8;

  // `people`: the beneficiary (one) or the group's participants (at most kPeopleMax).
  CareCost(const Tariff& tariff, Population population, std::span<const CostPerson> people,
           Spend* spend);

  void Assessment(size_t person, CivilDay day);
  void Exception(CivilDay day);  // for the support trajectory active that day
  void Individual(CivilDay day, Function f, bool with_context, bool school_cpms, bool enrolled);
  // `attendance`: bit i for participant i; facilitators in the order of the event.
  void Group(CivilDay day, Function f, bool school_cpms, uint32_t attendance,
             std::span<const Facilitator> facilitators);
  // `paid`: the participants with a provider id (enrolled or not); `participants` and
  // `care_providers`: the counts the rules check.
  void Concertation(CivilDay day, int32_t units, int32_t participants, int32_t care_providers,
                    std::span<const Facilitator> paid);

  static int64_t Community(const Tariff& tariff, CivilDay day,
                           std::span<const Facilitator> facilitators, int32_t minutes,
                           int32_t interaction_minutes, int32_t participants, bool defined_group);
  static int64_t Mission(const Tariff& tariff, CivilDay day, int32_t minutes, bool enrolled);

 private:
  struct Trajectory {
    CivilDay start = 0, end = -1;  // end < start: none yet
    bool children = false;
    bool exception = false;
    int32_t individual = 0, group = 0, concertation_units = 0, concertations = 0;
  };
  // The person's trajectory of `f` active on `day`, started there when there is none.
  Trajectory& ActiveOrStart(size_t person, Function f, CivilDay day);
  int32_t Age(size_t person, CivilDay day) const { return AgeOn(people_[person].birth, day); }

  const Tariff& tariff_;
  Population population_;
  std::span<const CostPerson> people_;
  Spend* spend_;
  std::array<CivilDay, kPeopleMax> assessed_from_;
  std::array<std::array<Trajectory, 2>, kPeopleMax> trajectories_{};  // by person, function
  CivilDay daily_day_ = INT32_MIN;  // the last billable individual session's day
  int32_t daily_count_ = 0;
};

}  // namespace ledger::gen
