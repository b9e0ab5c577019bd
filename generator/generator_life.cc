// An entity's life: what a step of individual care or of a group does next, and what it
// costs.
#include "generator/generator_internal.h"

namespace ledger::generator_internal {

// --- an entity's life ------------------------------------------------------------------------

Planned Generator::Plan(Entity e, std::span<const Person> people, std::vector<int64_t>* by_year,
                        int32_t first_year) const {
  std::array<gen::CostPerson, kGroupSizeMax> payers{};
  for (size_t i = 0; i < people.size(); ++i) {
    payers[i] = {people[i].birth_day, people[i].bim, people[i].assessed};
  }
  gen::Spend spend{0, by_year, first_year};
  gen::CareCost cost(tariff_, kNetworks[e.network].population, {payers.data(), people.size()},
                     &spend);
  Planned planned;
  Actions actions;
  bool more = true;
  while (more) {
    actions.size = 0;
    more = StepOnce(e, actions);
    for (size_t i = 0; i < actions.size; ++i) {
      const Action& a = actions.items[i];
      planned.events += a.events();
      Price(e, a, cost);
      if (a.kind == ActionKind::kAssessment && e.kind == EntityKind::kIndividual) {
        planned.first_assessment = std::min(planned.first_assessment, a.day);
      }
    }
  }
  planned.spend = spend.total;
  return planned;
}

// One action as Render writes it, to CareCost: a voided session costs nothing, unless it is
// recorded again (corrected as WriteVoid corrects it).
void Generator::Price(const Entity& e, const Action& a, gen::CareCost& cost) const {
  const auto enrolled = [&](uint32_t p) { return providers_[p].EnrolledOn(a.day); };
  switch (a.kind) {
    case ActionKind::kAssessment:
      return cost.Assessment(e.kind == EntityKind::kGroup ? a.person : 0, a.day);
    case ActionKind::kException:
      return cost.Exception(a.day);
    case ActionKind::kConcertation: {
      std::array<gen::Facilitator, 2> paid{};
      size_t count = 0;
      paid[count++].enrolled = enrolled(e.provider[0]);
      if (a.co_provider >= 0)
        paid[count++].enrolled = enrolled(static_cast<uint32_t>(a.co_provider));
      const bool extra = a.extra_role != 0xff;
      const int32_t participants = static_cast<int32_t>(count) + 1 + (extra ? 1 : 0);
      const int32_t care_providers =
          static_cast<int32_t>(count) + (kConcertationRoles[a.reason].care_provider ? 1 : 0) +
          (extra && kConcertationRoles[a.extra_role].care_provider ? 1 : 0);
      return cost.Concertation(a.day, a.units, participants, care_providers, {paid.data(), count});
    }
    case ActionKind::kIndividual:
    case ActionKind::kGroup:
      break;
  }
  if (a.voided && !a.corrected()) return;
  Location location = a.location;
  if (a.corrected() && a.reason != 0) {
    location = a.location == Location::kPractice ? Location::kVideo : Location::kPractice;
  }
  const bool school_cpms = a.cpms && location == Location::kSchool;
  if (a.kind == ActionKind::kIndividual) {
    return cost.Individual(a.day, a.function, a.with_context, school_cpms, enrolled(e.provider[0]));
  }
  std::array<gen::Facilitator, 2> facilitators{};
  for (size_t i = 0; i < e.facilitator_count; ++i) {
    facilitators[i] = {enrolled(e.provider[i]),
                       providers_[e.provider[i]].profession == Profession::kOther};
  }
  cost.Group(a.day, a.function, school_cpms, a.attendance,
             {facilitators.data(), e.facilitator_count});
}

bool Generator::StepOnce(Entity& e, Actions& out) const {
  switch (e.kind) {
    case EntityKind::kIndividual:
      return StepIndividual(e, out);
    case EntityKind::kGroup:
      return StepGroup(e, out);
  }
  return false;
}

// The individual support counter of the entity's network column (convention.md section 4).
int32_t Generator::SupportCounter(const Entity& e) const {
  switch (kNetworks[e.network].population) {
    case Population::kChildren:
      return 10;
    case Population::kAdults:
      return 8;
    case Population::kMixed:
      return AgeOn(e.person.birth_day, e.day) <= 23 ? 10 : 8;
  }
  return 8;
}

void Generator::PlanTrajectory(Entity& e) const {
  Rng& r = e.rng;
  const int32_t counter = SupportCounter(e);
  const uint64_t x = r.Below(100);
  int32_t sessions;
  if (e.function == Function::kSupport) {
    sessions = x < 8    ? r.Range(1, 2)
               : x < 88 ? r.Range(3, counter)
                        : r.Range(counter + 1, counter + 4);
  } else {
    sessions = x < 8    ? r.Range(1, 2)
               : x < 85 ? r.Range(3, 12)
               : x < 97 ? r.Range(13, 20)
                        : r.Range(21, 24);
  }
  e.sessions_left = static_cast<uint8_t>(sessions);
  e.sessions_done = 0;
  const uint64_t g = r.Below(100);
  e.gap_days = g < 45 ? 7 : g < 80 ? 14 : g < 92 ? 21 : 30;
  const bool young = counter == 10;
  const uint64_t l = r.Below(100);
  e.location = l < 62   ? Location::kPractice
               : l < 78 ? Location::kVideo
               : l < 84 ? Location::kHome
               : l < 90 ? Location::kOutreach
                        : (young ? Location::kSchool : Location::kPractice);
  e.cpms = e.location == Location::kSchool && r.PerMille(700);
  e.minutes = e.function == Function::kTreatment ? (r.PerMille(850) ? 60 : 90)
                                                 : static_cast<int16_t>(r.PerMille(500)   ? 60
                                                                        : r.PerMille(500) ? 50
                                                                                          : 45);
  e.concertation_after = e.function == Function::kTreatment && sessions >= 2 && r.PerMille(250)
                             ? static_cast<uint8_t>(r.Range(1, sessions - 1))
                             : 0;
  e.exception_after = e.function == Function::kSupport && sessions > counter && r.PerMille(400)
                          ? static_cast<uint8_t>(counter)
                          : 0;
  e.next =
      e.function == Function::kTreatment && r.PerMille(880) ? Step::kAssessment : Step::kSession;
}

void Generator::PlanGroup(Entity& e) const {
  Rng& r = e.rng;
  e.sessions_left = static_cast<uint8_t>(r.Range(4, 10));
  e.sessions_done = 0;
  e.gap_days = r.PerMille(700) ? 7 : 14;
  e.minutes = r.PerMille(400) ? 90 : 120;
  const bool children = kNetworks[e.network].population == Population::kChildren;
  const uint64_t l = r.Below(100);
  e.location = l < 55   ? Location::kPractice
               : l < 80 ? Location::kOutreach
               : l < 90 ? Location::kVideo
                        : (children ? Location::kSchool : Location::kPractice);
  e.cpms = e.location == Location::kSchool && r.PerMille(700);
  e.next = e.function == Function::kTreatment ? Step::kAssessment : Step::kSession;
}

// Moves to the next step `gap` days on (Sundays move to Monday). False when it would fall
// after the end of the history: the entity is done.
bool Generator::Advance(Entity& e, int32_t gap) const {
  e.day += gap;
  if (Weekday(e.day) == kSunday) ++e.day;
  return e.day <= o_.to;
}

int32_t Generator::NextGap(Entity& e) const {
  int32_t gap = e.gap_days;
  if (e.rng.PerMille(300)) gap += e.rng.Range(-2, 3);
  if (e.rng.PerMille(50)) gap += e.gap_days;  // a missed appointment
  return std::max(1, gap);
}

bool Generator::StepIndividual(Entity& e, Actions& out) const {
  Rng& r = e.rng;
  switch (e.next) {
    case Step::kAssessment: {
      Action& a = out.Add(ActionKind::kAssessment, e.day);
      a.function = e.function;
      e.next = Step::kSession;
      return Advance(e, r.PerMille(600) ? 0 : r.Range(1, 14));
    }
    case Step::kConcertation:
      AddConcertation(e, out);
      e.next = Step::kSession;
      return Advance(e, e.pending_gap);
    case Step::kException: {
      Action& a = out.Add(ActionKind::kException, e.day);
      a.reason = static_cast<uint8_t>(r.Below(std::size(kExceptionReasons)));
      e.next = Step::kSession;
      return Advance(e, e.pending_gap);
    }
    case Step::kSession:
      AddIndividualSessions(e, out);
      return AfterSession(e);
  }
  return false;
}

// After a session: the next one, a concertation or an exception in between, a follow-up
// trajectory, or the end.
bool Generator::AfterSession(Entity& e) const {
  ++e.sessions_done;
  if (--e.sessions_left == 0) return FollowUpOrEnd(e);
  Rng& r = e.rng;
  const int32_t gap = NextGap(e);
  const int32_t before = r.Range(0, gap - 1);  // days to an interposed step
  if (e.sessions_done == e.concertation_after) {
    e.next = Step::kConcertation;
    e.pending_gap = gap - before;
    return Advance(e, before);
  }
  // An exception is a 2021-convention device: granted only before 2024-04-01.
  if (e.sessions_done == e.exception_after && e.day + before + 1 < convention_2024_) {
    e.next = Step::kException;
    e.pending_gap = gap - before;
    return Advance(e, before);
  }
  e.next = Step::kSession;
  return Advance(e, gap);
}

bool Generator::FollowUpOrEnd(Entity& e) const {
  const FollowUp follow_up = e.follow_up;
  e.follow_up = FollowUp::kNone;
  switch (follow_up) {
    case FollowUp::kNone:
      return false;
    case FollowUp::kTreatment:  // support was not enough: an assessment, then treatment
      e.function = Function::kTreatment;
      PlanTrajectory(e);
      return Advance(e, e.rng.Range(7, 30));
    case FollowUp::kRepeat:  // back after a pause, in a new trajectory
      PlanTrajectory(e);
      return Advance(e, e.rng.Range(90, 450));
  }
  return false;
}

void Generator::AddIndividualSessions(Entity& e, Actions& out) const {
  Rng& r = e.rng;
  Action& a = out.Add(ActionKind::kIndividual, e.day);
  a.function = e.function;
  a.minutes = r.PerMille(100) ? static_cast<int16_t>(r.Range(3, 6) * 15) : e.minutes;
  a.location = r.PerMille(50) ? Location::kVideo : e.location;  // now and then by video
  a.cpms = a.location == Location::kSchool && e.cpms;
  MaybeVoidOrLate(r, a, 4, 20);
  if (r.PerMille(25)) {  // a second session the same day, mostly with the parents or family
    Action& b = out.Add(ActionKind::kIndividual, e.day);
    b.function = e.function;
    b.with_context = r.PerMille(650);
    b.minutes = static_cast<int16_t>(r.PerMille(500) ? 30 : 45);
    b.location = e.location == Location::kVideo ? Location::kVideo : Location::kPractice;
  }
}

void Generator::AddConcertation(Entity& e, Actions& out) const {
  Rng& r = e.rng;
  Action& a = out.Add(ActionKind::kConcertation, e.day);
  const uint64_t u = r.Below(100);
  a.units = u < 15 ? 1 : u < 60 ? 2 : u < 80 ? 3 : 4;
  // Mostly a second provider; with the third participant that makes a valid concertation.
  if (r.PerMille(800)) {
    a.co_provider = PickFrom(networks_[e.network].clinical, e.day, r, e.provider[0]);
  }
  a.reason = static_cast<uint8_t>(r.Below(std::size(kConcertationRoles)));
  if (r.PerMille(300)) {
    a.extra_role = static_cast<uint8_t>(r.Below(std::size(kConcertationRoles)));
  }
}

// A few sessions are voided later (some then recorded again, corrected); a few others are
// recorded late. A voided session is never late: the void must follow its target.
void Generator::MaybeVoidOrLate(Rng& r, Action& a, uint32_t void_per_mille,
                                uint32_t late_per_mille) const {
  if (r.PerMille(void_per_mille)) {
    a.voided = true;
    a.void_day = std::min(a.day + r.Range(1, 30), o_.to);
    a.reason = static_cast<uint8_t>(r.Below(std::size(kVoidReasons)));
  } else if (r.PerMille(late_per_mille)) {
    a.release = std::min(a.day + r.Range(3, 60), o_.to);
  }
}

bool Generator::StepGroup(Entity& e, Actions& out) const {
  Rng& r = e.rng;
  if (e.next == Step::kAssessment) {  // treatment groups: most participants are assessed
    for (uint8_t i = 0; i < e.people_count; ++i) {
      if (!r.PerMille(900)) continue;
      Action& a = out.Add(ActionKind::kAssessment, e.day);
      a.person = i;
    }
    e.next = Step::kSession;
    return Advance(e, r.PerMille(500) ? 0 : r.Range(1, 7));
  }
  Action& a = out.Add(ActionKind::kGroup, e.day);
  a.function = e.function;
  a.minutes = e.minutes;
  a.location = e.location;
  a.cpms = e.location == Location::kSchool && e.cpms;
  for (uint8_t i = 0; i < e.people_count; ++i) {
    if (r.PerMille(950)) a.attendance |= static_cast<uint8_t>(1u << i);
  }
  if (a.attendance == 0) a.attendance = 1;
  MaybeVoidOrLate(r, a, 3, 15);
  ++e.sessions_done;
  if (--e.sessions_left == 0) return false;
  return Advance(e, NextGap(e));
}

}  // namespace ledger::generator_internal
