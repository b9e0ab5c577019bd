// The run: day by day, the calendar (budgets, enrolments), arrivals into care and the steps
// of what is in care; and the public entry points of generator.h.
#include "generator/generator_internal.h"

namespace ledger::generator_internal {

// --- the run ---------------------------------------------------------------------------------

GeneratorStats Generator::Run() {
  SetUpProviders();
  PlanTargets();
  PlanBudgets();
  std::stable_sort(calendar_.begin(), calendar_.end(),
                   [](const CalendarItem& a, const CalendarItem& b) { return a.day < b.day; });
  stats_.fixed_events = kNetworkCount + calendar_.size();
  care_target_ = std::max<int64_t>(0, o_.events_target - static_cast<int64_t>(stats_.fixed_events));
  for (CivilDay d = o_.from; d <= o_.to; ++d) total_weight_ += DayWeight(d);
  SizeBudgets();

  for (uint32_t n = 0; n < kNetworkCount; ++n) {
    Begin("net", "network.registered", registered_on_);
    FieldStr(line_, "network_id", kNetworks[n].id);
    FieldStr(line_, "name", kNetworks[n].name);
    FieldStr(line_, "population", kPopulationNames[static_cast<int>(kNetworks[n].population)]);
    End();
    Emit(line_);
  }
  WriteCalendar(o_.from - 1);
  for (CivilDay today = o_.from; today <= o_.to; ++today) {
    ReleaseDeferred(today);
    WriteCalendar(today);
    StartArrivals(today);
    RunCare(today);
  }
  ReleaseDeferred(kNever);
  // Conservation: every planned event was written, and nothing else.
  assert(calendar_next_ == calendar_.size());
  assert(heap_.empty());
  assert(static_cast<int64_t>(stats_.events) ==
         static_cast<int64_t>(stats_.fixed_events) + care_planned_);
  return stats_;
}

void Generator::WriteCalendar(CivilDay through) {
  while (calendar_next_ < calendar_.size() && calendar_[calendar_next_].day <= through) {
    WriteCalendarItem(calendar_[calendar_next_++]);
  }
}

void Generator::WriteCalendarItem(const CalendarItem& c) {
  switch (c.kind) {
    case CalendarItem::kBudget:
      Begin("bud", "budget.allocated", c.day);
      FieldStr(line_, "network_id", kNetworks[c.index].id);
      FieldInt(line_, "year", c.year);
      FieldInt(line_, "care_budget_cents", c.cents);
      break;
    case CalendarItem::kEnrolled: {
      const Provider& p = providers_[c.index];
      Begin("enr", "provider.enrolled", c.day);
      FieldStr(line_, "provider_id", p.id);
      FieldStr(line_, "network_id", kNetworks[p.network].id);
      FieldStr(line_, "profession", kProfessionNames[static_cast<int>(p.profession)]);
      break;
    }
    case CalendarItem::kLeft: {
      const Provider& p = providers_[c.index];
      Begin("lft", "provider.left", c.day);
      FieldStr(line_, "provider_id", p.id);
      FieldStr(line_, "network_id", kNetworks[p.network].id);
      break;
    }
  }
  End();
  Emit(line_);
}

void Generator::ReleaseDeferred(CivilDay through) {
  while (!deferred_.empty() && deferred_.front().day <= through) {
    std::pop_heap(deferred_.begin(), deferred_.end());
    Emit(deferred_.back().line);
    deferred_.pop_back();
  }
}

// New care starts while the events planned so far stay under the day's share of the target.
// Each start is counted exactly (Plan), so the total lands just above the target.
void Generator::StartArrivals(CivilDay today) {
  if (total_weight_ == 0) return;
  cumulative_weight_ += DayWeight(today);
  const int64_t allowed = care_target_ * cumulative_weight_ / total_weight_;
  while (care_planned_ < allowed) care_planned_ += StartOne(today);
}

StartKind Generator::KindOf(uint64_t per_mille, bool convention_2024) {
  // Per mille of starts; community interventions are billable only from 2024-04-01.
  const uint64_t community = convention_2024 ? 40 : 3;
  const uint64_t mission = convention_2024 ? 70 : 35;
  const uint64_t group = 35;
  if (per_mille < community) return StartKind::kCommunity;
  if (per_mille < community + mission) return StartKind::kMission;
  if (per_mille < community + mission + group) return StartKind::kGroup;
  return StartKind::kIndividual;
}

int64_t Generator::StartOne(CivilDay today) {
  const size_t year = static_cast<size_t>(FromDay(today).year - first_year_);
  const uint32_t n = SteerNetwork(year);
  std::fill(start_spend_.begin(), start_spend_.end(), 0);
  int64_t events = 1;
  switch (KindOf(rng_.Below(1000), today >= convention_2024_)) {
    case StartKind::kCommunity: {
      const CommunityPlan c = DrawCommunity(today, n, rng_);
      start_spend_[year] += CostOf(c, today);
      WriteCommunity(today, n, c);
      break;
    }
    case StartKind::kMission: {
      const MissionPlan m = DrawMission(today, n, rng_);
      start_spend_[year] += CostOf(m, today);
      WriteMission(today, n, m);
      break;
    }
    case StartKind::kGroup:
      events = StartGroup(today, n, &start_spend_).events;
      break;
    case StartKind::kIndividual:
      events = StartIndividual(today, n, &start_spend_).events;
      break;
  }
  // A cent per event too: care that costs nothing (before the convention) is shared out as well.
  start_spend_[year] += events;
  for (size_t y = year; y < start_spend_.size(); ++y) {
    planned_spend_[y][n] += start_spend_[y];
    planned_spend_total_[y] += start_spend_[y];
  }
  return events;
}

Entity Generator::DrawIndividual(CivilDay today, uint32_t n, const Person& person, Rng& r) const {
  Entity e;
  e.rng = Rng(r.Next());
  e.kind = EntityKind::kIndividual;
  e.network = static_cast<uint8_t>(n);
  e.day = today;
  e.person = person;
  e.people_count = 1;
  e.provider[0] = PickClinical(n, today, r);
  e.function = r.PerMille(700) ? Function::kSupport : Function::kTreatment;
  const uint64_t x = r.Below(1000);
  e.follow_up = e.function == Function::kSupport && x < 100 ? FollowUp::kTreatment
                : x >= 950                                  ? FollowUp::kRepeat
                                                            : FollowUp::kNone;
  PlanTrajectory(e);
  return e;
}

Planned Generator::StartIndividual(CivilDay today, uint32_t n, std::vector<int64_t>* by_year) {
  const Person person = NewPerson(kNetworks[n].population, today);
  const Planned planned = Admit(DrawIndividual(today, n, person, rng_), by_year);
  // Remembered for groups, with the assessment a treatment group would need.
  Network& net = networks_[n];
  Person& recent = net.recent[net.recent_count++ % kRecentPeople];
  recent = person;
  recent.assessed = planned.first_assessment;
  return planned;
}

Planned Generator::StartGroup(CivilDay today, uint32_t n, std::vector<int64_t>* by_year) {
  const Network& net = networks_[n];
  Participants people{};
  Entity e = DrawGroup(today, n, rng_, &people, [&](uint8_t i, const Participants& before) {
    // Some participants are also in individual care in the network.
    const size_t known = std::min(net.recent_count, kRecentPeople);
    if (known > 0 && rng_.PerMille(200)) {
      const Person& p = net.recent[rng_.Below(known)];
      const bool fresh = std::none_of(before.begin(), before.begin() + i, [&](const Person& q) {
        return std::memcmp(q.niss, p.niss, sizeof p.niss) == 0;
      });
      if (fresh) return p;
    }
    return NewPerson(kNetworks[n].population, today);
  });
  if (free_groups_.empty()) {
    e.group = static_cast<uint32_t>(groups_.size());
    groups_.push_back(people);
  } else {
    e.group = free_groups_.back();
    free_groups_.pop_back();
    groups_[e.group] = people;
  }
  return Admit(e, by_year);
}

Planned Generator::Admit(const Entity& e, std::vector<int64_t>* by_year) {
  const Planned planned =
      e.kind == EntityKind::kGroup
          ? Plan(e, {groups_[e.group].data(), e.people_count}, by_year, first_year_)
          : Plan(e, {&e.person, 1}, by_year, first_year_);
  uint32_t slot;
  if (free_slots_.empty()) {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.push_back(e);
  } else {
    slot = free_slots_.back();
    free_slots_.pop_back();
    slots_[slot] = e;
  }
  heap_.push_back({e.day, order_++, slot});
  std::push_heap(heap_.begin(), heap_.end());
  stats_.active_peak = std::max<uint64_t>(stats_.active_peak, heap_.size());
  return planned;
}

void Generator::RunCare(CivilDay today) {
  Actions actions;
  while (!heap_.empty() && heap_.front().day <= today) {
    assert(heap_.front().day == today);  // nothing is left behind
    std::pop_heap(heap_.begin(), heap_.end());
    const uint32_t slot = heap_.back().slot;
    heap_.pop_back();
    Entity& e = slots_[slot];
    actions.size = 0;
    const bool more = StepOnce(e, actions);
    for (size_t i = 0; i < actions.size; ++i) Render(e, actions.items[i]);
    if (more) {
      assert(e.day >= today && e.day <= o_.to);
      heap_.push_back({e.day, order_++, slot});
      std::push_heap(heap_.begin(), heap_.end());
    } else {
      if (e.kind == EntityKind::kGroup) free_groups_.push_back(e.group);
      free_slots_.push_back(slot);
    }
  }
}

}  // namespace ledger::generator_internal

namespace ledger {
using generator_internal::Generator;

Status ValidateGeneratorOptions(const GeneratorOptions& o) {
  if (o.events_target < 1 || o.events_target > kGeneratorEventsMax) {
    return Error{ErrorCode::kInvalidArgument,
                 "--events must be from 1 to " + std::to_string(kGeneratorEventsMax)};
  }
  const CivilDate from = FromDay(o.from), to = FromDay(o.to);
  if (from.year < kGeneratorFirstYear || to.year > kGeneratorLastYear) {
    return Error{ErrorCode::kInvalidArgument, "--from and --to must lie in the years " +
                                                  std::to_string(kGeneratorFirstYear) + " to " +
                                                  std::to_string(kGeneratorLastYear)};
  }
  if (o.from > o.to) {
    return Error{ErrorCode::kInvalidArgument, "--from must not lie after --to"};
  }
  if (o.to - o.from > kGeneratorSpanDaysMax) {
    return Error{ErrorCode::kInvalidArgument, "--from and --to must lie at most 30 years apart"};
  }
  return Ok();
}

Result<GeneratorStats> GenerateHistory(const GeneratorOptions& options, const EventSink& sink) {
  if (Status s = ValidateGeneratorOptions(options); !s) return s.error();
  Generator generator(options, sink);
  return generator.Run();
}

}  // namespace ledger
