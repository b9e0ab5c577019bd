#include "projections/projector.h"

#include <algorithm>
#include <cassert>
#include <climits>
#include <unordered_map>

namespace ledger {

const char* ReasonName(Reason r) {
  switch (r) {
    case Reason::kNone: return "";
    case Reason::kNoConvention: return "no_convention";
    case Reason::kProviderNotEnrolled: return "provider_not_enrolled";
    case Reason::kAgeOutsideNetwork: return "age_outside_network";
    case Reason::kNoAssessment: return "no_assessment";
    case Reason::kDailyLimit: return "daily_limit";
    case Reason::kCounterExhausted: return "counter_exhausted";
    case Reason::kGroupTooSmall: return "group_too_small";
    case Reason::kCommunityRequirements: return "community_requirements";
    case Reason::kConcertationRequirements: return "concertation_requirements";
  }
  return "?";
}

CivilDay WindowEnd(CivilDay start, int32_t months) {
  const CivilDate s = FromDay(start);
  const int32_t m0 = s.month - 1 + months;
  CivilDate t{s.year + m0 / 12, m0 % 12 + 1, s.day};
  if (t.day > DaysInMonth(t.year, t.month)) {  // no such day: the first of the next month
    t.day = 1;
    t.month = t.month == 12 ? 1 : t.month + 1;
    if (t.month == 1) ++t.year;
  }
  return ToDay(t) - 1;
}

int32_t AgeOn(CivilDay birth, CivilDay day) {
  const CivilDate b = FromDay(birth), d = FromDay(day);
  int32_t age = d.year - b.year;
  if (d.month < b.month || (d.month == b.month && d.day < b.day)) --age;
  return age;
}

int32_t MonthOf(CivilDay day) {
  const CivilDate d = FromDay(day);
  return d.year * 100 + d.month;
}

namespace {

std::optional<int32_t> IndividualMax(const Ruleset& r, Column c, CareFunction f) {
  const CounterTable& t = r.counters[static_cast<int>(c)];
  return f == CareFunction::kSupport ? t.support_individual : t.treatment_individual;
}
std::optional<int32_t> GroupMax(const Ruleset& r, Column c, CareFunction f) {
  const CounterTable& t = r.counters[static_cast<int>(c)];
  return f == CareFunction::kSupport ? t.support_group : t.treatment_group;
}
bool FunctionBillable(const Ruleset& r, CareFunction f) {
  return f == CareFunction::kSupport ? r.support_billable : r.treatment_billable;
}
bool PaidAsPsychologist(Role role) { return role != Role::kOther; }

class Fold {
 public:
  Fold(const History& h, const RulesetCatalog& rules, Projection& out)
      : h_(h), rules_(rules), out_(out) {
    BuildEnrolments();
    BuildAssessments();
  }

  void Run() {
    std::vector<const CareEvent*> order;
    order.reserve(h_.care.size());
    for (const CareEvent& c : h_.care) {
      if (!h_.Voided(c.seq)) order.push_back(&c);
    }
    std::sort(order.begin(), order.end(), [](const CareEvent* a, const CareEvent* b) {
      return a->day != b->day ? a->day < b->day : a->seq < b->seq;
    });
    for (const CareEvent* c : order) {
      switch (c->kind) {
        case CareKind::kIndividual: Individual(*c); break;
        case CareKind::kGroup: Group(*c); break;
        case CareKind::kCommunity: Community(*c); break;
        case CareKind::kMission: Mission(*c); break;
        case CareKind::kConcertation: Concertation(*c); break;
        case CareKind::kException: Exception(*c); break;
      }
    }
    for (auto& [key, list] : trajectories_) {
      for (Trajectory& t : list) out_.trajectories.push_back(std::move(t));
    }
    std::sort(out_.trajectories.begin(), out_.trajectories.end(),
              [](const Trajectory& a, const Trajectory& b) {
                return std::tie(a.who, a.function, a.network, a.start) <
                       std::tie(b.who, b.function, b.network, b.start);
              });
    std::sort(out_.lines.begin(), out_.lines.end(), [](const Line& a, const Line& b) {
      const int32_t ma = MonthOf(a.day), mb = MonthOf(b.day);
      return std::tie(a.provider, ma, a.day, a.seq, a.part) <
             std::tie(b.provider, mb, b.day, b.seq, b.part);
    });
  }

 private:
  // --- static facts -------------------------------------------------------------------------
  void BuildEnrolments() {
    for (const auto& [key, events] : h_.enrolments) {
      std::vector<EnrolmentEvent> sorted;
      for (const auto& e : events) {
        if (!h_.Voided(e.seq)) sorted.push_back(e);
      }
      std::sort(sorted.begin(), sorted.end(), [](const EnrolmentEvent& a, const EnrolmentEvent& b) {
        return a.day != b.day ? a.day < b.day : a.seq < b.seq;
      });
      auto& spans = enrolled_[key];
      bool open = false;
      for (const auto& e : sorted) {
        if (e.enrolled && !open) {
          spans.push_back({e.day, INT32_MAX});
          open = true;
        } else if (!e.enrolled && open) {
          spans.back().second = e.day;  // enrolled up to and including the day it left
          open = false;
        }
      }
    }
  }
  void BuildAssessments() {
    for (const auto& [key, list] : h_.assessments) {
      for (const auto& [day, seq] : list) {
        if (h_.Voided(seq)) continue;
        auto [it, inserted] = first_assessment_.emplace(key, day);
        if (!inserted) it->second = std::min(it->second, day);
      }
    }
  }
  bool Enrolled(ProviderIdx p, NetworkIdx n, CivilDay d) const {
    auto it = enrolled_.find({p, n});
    if (it == enrolled_.end()) return false;
    for (const auto& [from, to] : it->second) {
      if (d >= from && d <= to) return true;
    }
    return false;
  }
  bool Assessed(BeneficiaryIdx b, NetworkIdx n, CivilDay d) const {
    auto it = first_assessment_.find({b, n});
    return it != first_assessment_.end() && it->second <= d;
  }
  Population PopulationOf(NetworkIdx n) const {
    return n < h_.population.size() ? h_.population[n] : Population::kUnknown;
  }
  // kNone when the person may be billed in the network on that day.
  Reason AgeReason(NetworkIdx n, const Person& p, CivilDay d, const Ruleset& r) const {
    const int32_t age = AgeOn(p.birth, d);
    switch (PopulationOf(n)) {
      case Population::kUnknown: return Reason::kNoConvention;  // no registered network
      case Population::kChildren:
        return age <= r.children_max_age ? Reason::kNone : Reason::kAgeOutsideNetwork;
      case Population::kAdults:
        return age >= r.adults_min_age ? Reason::kNone : Reason::kAgeOutsideNetwork;
      case Population::kMixed: return Reason::kNone;
    }
    return Reason::kNone;
  }

  // --- trajectories -------------------------------------------------------------------------
  static uint64_t Key(BeneficiaryIdx b, CareFunction f, NetworkIdx n) {
    return (static_cast<uint64_t>(b) << 33) | (static_cast<uint64_t>(n) << 1) |
           static_cast<uint64_t>(f);
  }
  Trajectory* Active(BeneficiaryIdx b, CareFunction f, NetworkIdx n, CivilDay d) {
    auto it = trajectories_.find(Key(b, f, n));
    if (it == trajectories_.end() || it->second.empty()) return nullptr;
    Trajectory& t = it->second.back();  // care-date order: only the newest can be active
    return t.Active(d) ? &t : nullptr;
  }
  // Any non-voided session starts a trajectory when none is active on its date.
  Trajectory& ActiveOrStart(const Person& p, CareFunction f, NetworkIdx n, CivilDay d,
                            const Ruleset* r) {
    if (Trajectory* t = Active(p.who, f, n, d)) return *t;
    Trajectory t;
    t.who = p.who;
    t.function = f;
    t.network = n;
    t.start = d;
    t.end = WindowEnd(d, r ? r->window_months : 12);
    const int32_t mixed_max = r ? r->mixed_children_max_age : 23;
    switch (PopulationOf(n)) {
      case Population::kChildren: t.column = Column::kChildren; break;
      case Population::kAdults:
      case Population::kUnknown: t.column = Column::kAdults; break;
      case Population::kMixed:
        t.column = AgeOn(p.birth, d) <= mixed_max ? Column::kChildren : Column::kAdults;
        break;
    }
    auto& list = trajectories_[Key(p.who, f, n)];
    list.push_back(std::move(t));
    return list.back();
  }

  // --- lines --------------------------------------------------------------------------------
  void Emit(const CareEvent& c, ProviderIdx provider, uint16_t part, FeeItem item,
            const Ruleset* r, Reason reason, Cents fee, Cents copay) {
    Line l;
    l.provider = provider;
    l.network = c.network;
    l.day = c.day;
    l.seq = c.seq;
    l.part = part;
    l.item = item;
    l.reason = reason;
    l.ruleset = r;
    if (reason == Reason::kNone) {
      assert(copay <= fee && copay.value >= 0);
      l.fee = fee;
      l.copay = copay;
      l.insurer = fee - copay;
      assert(l.fee == l.copay + l.insurer);  // conservation
    }
    out_.lines.push_back(l);
  }
  // The fee for an item, or nullopt when the ruleset does not pay it that day.
  static std::optional<Cents> FeeOf(const Ruleset* r, FeeItem item, CivilDay d) {
    if (!r) return std::nullopt;
    const FeeRow* row = r->Fee(item, d);
    return row ? std::optional<Cents>(row->cents) : std::nullopt;
  }
  bool YoungFree(const Ruleset& r, const Person& p, CivilDay d) const {
    return r.young_free_max_age && r.young_free_from && d >= *r.young_free_from &&
           AgeOn(p.birth, d) <= *r.young_free_max_age;
  }
  bool SchoolFree(const Ruleset& r, const CareEvent& c) const {
    return c.school_cpms && r.cpms_school_free_from && c.day >= *r.cpms_school_free_from;
  }

  void Individual(const CareEvent& c);
  void Group(const CareEvent& c);
  void Community(const CareEvent& c);
  void Mission(const CareEvent& c);
  void Concertation(const CareEvent& c);
  void Exception(const CareEvent& c);

  const History& h_;
  const RulesetCatalog& rules_;
  Projection& out_;
  std::map<std::pair<ProviderIdx, NetworkIdx>, std::vector<std::pair<CivilDay, CivilDay>>>
      enrolled_;
  std::map<std::pair<BeneficiaryIdx, NetworkIdx>, CivilDay> first_assessment_;
  std::unordered_map<uint64_t, std::vector<Trajectory>> trajectories_;
  // Per beneficiary: the day of the last billable individual session and how many that day.
  std::unordered_map<BeneficiaryIdx, std::pair<CivilDay, int32_t>> daily_;
};

void Fold::Individual(const CareEvent& c) {
  const Ruleset* r = rules_.InForce(c.day);
  const Person& p = c.beneficiary;
  Trajectory& t = ActiveOrStart(p, c.function, c.network, c.day, r);
  const FeeItem item = FeeItem::kIndividualSession;
  const std::optional<Cents> fee = FeeOf(r, item, c.day);
  auto reject = [&](Reason why) { Emit(c, c.provider, 0, item, r, why, {}, {}); };
  if (!fee || !FunctionBillable(*r, c.function)) return reject(Reason::kNoConvention);
  if (!Enrolled(c.provider, c.network, c.day)) return reject(Reason::kProviderNotEnrolled);
  if (Reason a = AgeReason(c.network, p, c.day, *r); a != Reason::kNone) return reject(a);
  if (c.function == CareFunction::kTreatment && !Assessed(p.who, c.network, c.day)) {
    return reject(Reason::kNoAssessment);
  }
  auto& [daily_day, daily_count] = daily_[p.who];
  const int32_t today = daily_day == c.day ? daily_count : 0;
  if (!c.with_context && today >= r->daily_individual_max) return reject(Reason::kDailyLimit);
  const bool exception_applies = (c.function == CareFunction::kSupport ? r->exception_support
                                                                        : r->exception_treatment);
  const int32_t extra =
      exception_applies && !t.exception_days.empty() ? r->exception_extra_sessions : 0;
  const std::optional<int32_t> max = IndividualMax(*r, t.column, c.function);
  const auto used = static_cast<int32_t>(t.individual_days.size());
  if (max && used >= *max + extra) return reject(Reason::kCounterExhausted);

  Cents copay = p.bim ? r->copay_individual_bim : r->copay_individual;
  if ((used == 0 && r->first_individual_free) || YoungFree(*r, p, c.day) || SchoolFree(*r, c)) {
    copay = Cents{0};
  }
  copay = std::min(copay, *fee);
  t.individual_days.push_back(c.day);
  daily_day = c.day;
  daily_count = today + 1;
  Emit(c, c.provider, 0, item, r, Reason::kNone, *fee, copay);
}

void Fold::Group(const CareEvent& c) {
  const Ruleset* r = rules_.InForce(c.day);
  std::vector<Trajectory*> trajectories;
  int32_t eligible = 0;
  bool all_assessed = true;
  for (const Person& p : c.participants) {
    trajectories.push_back(&ActiveOrStart(p, c.function, c.network, c.day, r));
    if (r && AgeReason(c.network, p, c.day, *r) == Reason::kNone) ++eligible;
    if (!Assessed(p.who, c.network, c.day)) all_assessed = false;
  }
  Reason session = Reason::kNone;
  if (!r || !FunctionBillable(*r, c.function) || PopulationOf(c.network) == Population::kUnknown) {
    session = Reason::kNoConvention;
  } else if (c.function == CareFunction::kTreatment && !all_assessed) {
    session = Reason::kNoAssessment;
  } else if (eligible < r->group_min_participants) {
    session = Reason::kGroupTooSmall;
  }
  // Each facilitator on their own: paid if the session is billable and they are enrolled.
  std::vector<std::pair<Reason, Cents>> paid(c.facilitators.size(), {Reason::kNone, {}});
  int first_paid = -1;
  for (size_t i = 0; i < c.facilitators.size(); ++i) {
    const Facilitator& f = c.facilitators[i];
    const FeeItem item = PaidAsPsychologist(f.role) ? FeeItem::kGroupSessionPsychologist
                                                    : FeeItem::kGroupSessionOther;
    const std::optional<Cents> fee = FeeOf(r, item, c.day);
    Reason why = session;
    if (!fee || session == Reason::kNoConvention) {
      why = Reason::kNoConvention;
    } else if (!Enrolled(f.provider, c.network, c.day)) {
      why = Reason::kProviderNotEnrolled;
    }
    paid[i] = {why, fee.value_or(Cents{})};
    if (why == Reason::kNone && first_paid < 0) first_paid = static_cast<int>(i);
  }
  // The participants' co-pays, counted only when the session is billable for someone.
  Cents copays{0};
  if (first_paid >= 0) {
    for (size_t i = 0; i < c.participants.size(); ++i) {
      const Person& p = c.participants[i];
      if (AgeReason(c.network, p, c.day, *r) != Reason::kNone) continue;  // pays nothing
      Trajectory& t = *trajectories[i];
      const std::optional<int32_t> max = GroupMax(*r, t.column, c.function);
      if (max && static_cast<int32_t>(t.group_days.size()) >= *max) continue;  // over: no co-pay
      t.group_days.push_back(c.day);
      if (!YoungFree(*r, p, c.day) && !SchoolFree(*r, c)) copays += r->copay_group_participant;
    }
  }
  for (size_t i = 0; i < c.facilitators.size(); ++i) {
    const Facilitator& f = c.facilitators[i];
    const FeeItem item = PaidAsPsychologist(f.role) ? FeeItem::kGroupSessionPsychologist
                                                    : FeeItem::kGroupSessionOther;
    const Cents fee = paid[i].second;
    const Cents copay = static_cast<int>(i) == first_paid ? std::min(copays, fee) : Cents{0};
    Emit(c, f.provider, static_cast<uint16_t>(i), item, r, paid[i].first, fee, copay);
  }
}

void Fold::Community(const CareEvent& c) {
  const Ruleset* r = rules_.InForce(c.day);
  const bool meets = r && (c.participant_count >= r->community_min_participants || c.defined_group) &&
                     c.minutes >= r->community_min_minutes &&
                     c.interaction_minutes >= r->community_min_interaction_minutes &&
                     static_cast<int32_t>(c.facilitators.size()) >= r->community_min_facilitators;
  for (size_t i = 0; i < c.facilitators.size(); ++i) {
    const Facilitator& f = c.facilitators[i];
    const FeeItem item = PaidAsPsychologist(f.role) ? FeeItem::kCommunityPsychologist
                                                    : FeeItem::kCommunityOther;
    const std::optional<Cents> fee = FeeOf(r, item, c.day);
    Reason why = Reason::kNone;
    if (!fee || !r->community_billable || PopulationOf(c.network) == Population::kUnknown) {
      why = Reason::kNoConvention;
    } else if (!Enrolled(f.provider, c.network, c.day)) {
      why = Reason::kProviderNotEnrolled;
    } else if (!meets) {
      why = Reason::kCommunityRequirements;
    }
    Emit(c, f.provider, static_cast<uint16_t>(i), item, r, why, fee.value_or(Cents{}), Cents{0});
  }
}

void Fold::Mission(const CareEvent& c) {
  const Ruleset* r = rules_.InForce(c.day);
  const FeeItem item = FeeItem::kSupportMissionHour;
  const std::optional<Cents> hour = FeeOf(r, item, c.day);
  Reason why = Reason::kNone;
  if (!hour || PopulationOf(c.network) == Population::kUnknown) {
    why = Reason::kNoConvention;
  } else if (!Enrolled(c.provider, c.network, c.day)) {
    why = Reason::kProviderNotEnrolled;
  }
  const Cents fee = hour ? ProRataHalfUp(*hour, c.minutes, 60) : Cents{};
  Emit(c, c.provider, 0, item, r, why, fee, Cents{0});
}

void Fold::Concertation(const CareEvent& c) {
  const Ruleset* r = rules_.InForce(c.day);
  const FeeItem item = FeeItem::kConcertationUnit;
  const std::optional<Cents> unit = FeeOf(r, item, c.day);
  Reason session = Reason::kNone;
  Trajectory* t = Active(c.beneficiary.who, CareFunction::kTreatment, c.network, c.day);
  if (!unit || !r->treatment_billable) {
    session = Reason::kNoConvention;
  } else if (Reason a = AgeReason(c.network, c.beneficiary, c.day, *r); a != Reason::kNone) {
    session = a;
  } else {
    int32_t care_providers = 0;
    for (const auto& p : c.concertation) care_providers += p.care_provider ? 1 : 0;
    const bool ok =
        t != nullptr && c.units <= r->concertation_units_max &&
        t->concertation_units + c.units <= r->concertation_units_max_per_trajectory &&
        (!r->concertation_count_max_per_trajectory ||
         t->concertations < *r->concertation_count_max_per_trajectory) &&
        static_cast<int32_t>(c.concertation.size()) >= r->concertation_min_participants &&
        care_providers >= r->concertation_min_care_providers;
    if (!ok) session = Reason::kConcertationRequirements;
  }
  const Cents fee = unit ? Cents{unit->value * c.units} : Cents{};
  bool any_paid = false;
  for (size_t i = 0; i < c.concertation.size(); ++i) {
    const ConcertationParticipant& p = c.concertation[i];
    if (p.provider == kNoProvider) continue;
    Reason why = session;
    if (why != Reason::kNoConvention && !Enrolled(p.provider, c.network, c.day)) {
      why = Reason::kProviderNotEnrolled;
    }
    any_paid = any_paid || why == Reason::kNone;
    Emit(c, p.provider, static_cast<uint16_t>(i), item, r, why, fee, Cents{0});
  }
  if (any_paid) {
    t->concertation_units += c.units;
    ++t->concertations;
  }
}

void Fold::Exception(const CareEvent& c) {
  if (Trajectory* t = Active(c.beneficiary.who, c.function, c.network, c.day)) {
    t->exception_days.push_back(c.day);
  }
}

}  // namespace

Projection Project(const History& history, const RulesetCatalog& base) {
  Projection out;
  out.rulesets = std::make_unique<RulesetCatalog>(base);
  for (const auto& [seq, document] : history.published_rulesets) {
    if (history.Voided(seq)) continue;
    if (auto rs = ParseRulesetText(document)) out.rulesets->Add(std::move(rs).value());
  }
  for (const auto& [key, events] : history.budgets) {
    for (const BudgetEvent& b : events) {  // seq order: the later replaces the earlier
      if (!history.Voided(b.seq)) out.allocated[key] = b.cents;
    }
  }
  Fold fold(history, *out.rulesets, out);
  fold.Run();
  return out;
}

}  // namespace ledger
