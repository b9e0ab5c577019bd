#include "projections/fold.h"

#include <algorithm>
#include <cassert>
#include <climits>
#include <span>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "projections/directory.h"
#include "schemas/invariant.h"

namespace ledger {

const char* ReasonName(Reason r) {
  switch (r) {
    case Reason::kNone:
      return "";
    case Reason::kNoConvention:
      return "no_convention";
    case Reason::kProviderNotEnrolled:
      return "provider_not_enrolled";
    case Reason::kAgeOutsideNetwork:
      return "age_outside_network";
    case Reason::kNoAssessment:
      return "no_assessment";
    case Reason::kDailyLimit:
      return "daily_limit";
    case Reason::kCounterExhausted:
      return "counter_exhausted";
    case Reason::kGroupTooSmall:
      return "group_too_small";
    case Reason::kCommunityRequirements:
      return "community_requirements";
    case Reason::kConcertationRequirements:
      return "concertation_requirements";
  }
  return "?";
}

const char* SpendFunctionName(SpendFunction f) {
  switch (f) {
    case SpendFunction::kCommunity:
      return "community";
    case SpendFunction::kSupport:
      return "support";
    case SpendFunction::kTreatment:
      return "treatment";
    case SpendFunction::kSupportMission:
      return "support_mission";
    case SpendFunction::kConcertation:
      return "concertation";
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

bool LineOrder(const Line& a, const Line& b) {
  // The month is a monotonic function of the day: (provider, day, ...) orders by month too.
  return std::tie(a.provider, a.day, a.seq, a.part) < std::tie(b.provider, b.day, b.seq, b.part);
}

// --- FoldContext -----------------------------------------------------------------------------

void FoldContext::SetPopulation(NetworkIdx n, Population p) {
  if (population_.size() <= n) population_.resize(n + 1, Population::kUnknown);
  population_[n] = p;
}

void FoldContext::SetEnrolments(ProviderIdx p, NetworkIdx n, std::vector<EnrolmentEvent> events) {
  assert(p != kNoProvider);
  if (enrolled_.size() <= p) enrolled_.resize(size_t{p} + 1);
  std::vector<EnrolmentSpan>& spans = enrolled_[p];
  std::erase_if(spans, [&](const EnrolmentSpan& s) { return s.network == n; });
  for (const EnrolmentPeriod& period : EnrolmentPeriods(std::move(events))) {
    spans.push_back({n, period.from, period.to.value_or(INT32_MAX)});
  }
}

std::vector<std::pair<NetworkIdx, CivilDay>> FoldContext::FirstAssessments(BeneficiaryIdx b) const {
  std::vector<std::pair<NetworkIdx, CivilDay>> out;
  if (b < first_assessment_.size()) {
    for (const FirstAssessment& f : first_assessment_[b]) out.emplace_back(f.network, f.day);
  }
  return out;
}

void FoldContext::AddAssessment(BeneficiaryIdx b, NetworkIdx n, CivilDay day) {
  if (first_assessment_.size() <= b) first_assessment_.resize(size_t{b} + 1);
  std::vector<FirstAssessment>& firsts = first_assessment_[b];
  for (FirstAssessment& f : firsts) {
    if (f.network == n) {
      f.day = std::min(f.day, day);
      return;
    }
  }
  firsts.push_back({n, day});
}

void FoldContext::ClearAssessments(BeneficiaryIdx b) {
  if (b < first_assessment_.size()) first_assessment_[b].clear();
}

bool FoldContext::Enrolled(ProviderIdx p, NetworkIdx n, CivilDay d) const {
  if (p >= enrolled_.size()) return false;
  for (const EnrolmentSpan& s : enrolled_[p]) {
    if (s.network == n && d >= s.from && d <= s.to) return true;
  }
  return false;
}

bool FoldContext::Assessed(BeneficiaryIdx b, NetworkIdx n, CivilDay d) const {
  if (b >= first_assessment_.size()) return false;
  for (const FirstAssessment& f : first_assessment_[b]) {
    if (f.network == n) return f.day <= d;
  }
  return false;
}

Population FoldContext::PopulationOf(NetworkIdx n) const {
  return n < population_.size() ? population_[n] : Population::kUnknown;
}

namespace {

// FoldContext::AgeReason for a population and an age.
Reason AgeReasonFor(Population population, int32_t age, const Ruleset& r) {
  switch (population) {
    case Population::kUnknown:
      return Reason::kNoConvention;  // no registered network
    case Population::kChildren:
      return age <= r.children_max_age ? Reason::kNone : Reason::kAgeOutsideNetwork;
    case Population::kAdults:
      return age >= r.adults_min_age ? Reason::kNone : Reason::kAgeOutsideNetwork;
    case Population::kMixed:
      return Reason::kNone;
  }
  return Reason::kNone;
}

// The first day of `year` on which AgeOn counts the year for a person born on `b`: the birthday,
// or 1 March for 29 February in a common year.
CivilDay BirthdayIn(const CivilDate& b, int32_t year) {
  if (b.day > DaysInMonth(year, b.month)) return ToDay(CivilDate{year, b.month + 1, 1});
  return ToDay(CivilDate{year, b.month, b.day});
}

// AgeOn for the dates of one person's fold: the age holds from one birthday to the next, so
// dates visited in order are mostly answered without date arithmetic.
class AgeCache {
 public:
  int32_t On(CivilDay birth, CivilDay day) {
    if (birth != birth_ || day < from_ || day >= until_) Fill(birth, day);
    return age_;
  }

 private:
  void Fill(CivilDay birth, CivilDay day) {
    const CivilDate b = FromDay(birth);
    birth_ = birth;
    age_ = AgeOn(birth, day);
    from_ = BirthdayIn(b, b.year + age_);
    until_ = BirthdayIn(b, b.year + age_ + 1);
    assert(day >= from_ && day < until_);
  }

  CivilDay birth_ = 0, from_ = 0, until_ = 0;  // [from_, until_): empty until filled
  int32_t age_ = 0;
};

}  // namespace

Reason FoldContext::AgeReason(NetworkIdx n, const Person& p, CivilDay d, const Ruleset& r) const {
  return AgeReasonFor(PopulationOf(n), AgeOn(p.birth, d), r);
}

// --- helpers ---------------------------------------------------------------------------------

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
FeeItem GroupItem(Role role) {
  return role == Role::kOther ? FeeItem::kGroupSessionOther : FeeItem::kGroupSessionPsychologist;
}
FeeItem CommunityItem(Role role) {
  return role == Role::kOther ? FeeItem::kCommunityOther : FeeItem::kCommunityPsychologist;
}
// The fee for an item, or nullopt when the ruleset does not pay it that day.
std::optional<Cents> FeeOf(const Ruleset* r, FeeItem item, CivilDay d) {
  if (!r) return std::nullopt;
  const FeeRow* row = r->Fee(item, d);
  return row ? std::optional<Cents>(row->cents) : std::nullopt;
}
// `age`: the person's age on `d`.
bool YoungFree(const Ruleset& r, CivilDay d, int32_t age) {
  return r.young_free_max_age && r.young_free_from && d >= *r.young_free_from &&
         age <= *r.young_free_max_age;
}
bool SchoolFree(const Ruleset& r, const CareEvent& c) {
  return c.school_cpms && r.cpms_school_free_from && c.day >= *r.cpms_school_free_from;
}

// What a care event's lines pay for.
SpendFunction SpendOf(const CareEvent& c) {
  switch (c.kind) {
    case CareKind::kIndividual:
    case CareKind::kGroup:
    case CareKind::kException:
      return c.function == CareFunction::kTreatment ? SpendFunction::kTreatment
                                                    : SpendFunction::kSupport;
    case CareKind::kCommunity:
      return SpendFunction::kCommunity;
    case CareKind::kMission:
      return SpendFunction::kSupportMission;
    case CareKind::kConcertation:
      return SpendFunction::kConcertation;
  }
  return SpendFunction::kSupport;
}

// Appends a line to `lines`, written in place.
void AddLine(std::vector<Line>* lines, const CareEvent& c, ProviderIdx provider, uint16_t part,
             FeeItem item, const Ruleset* r, Reason reason, Cents fee, Cents copay) {
  Line& l = lines->emplace_back();
  l.provider = provider;
  l.network = c.network;
  l.day = c.day;
  l.seq = c.seq;
  l.part = part;
  l.item = item;
  l.spend = SpendOf(c);
  l.reason = reason;
  l.ruleset = r;
  if (reason == Reason::kNone) {
    LEDGER_ASSERT(copay <= fee && copay.value >= 0);
    l.fee = fee;
    l.copay = copay;
    l.insurer = fee - copay;
  }
  LEDGER_ASSERT(l.fee == l.copay + l.insurer);  // conservation, on every line, where produced
}

// How a group session stands before its participants' shares: the session-level reason and,
// per facilitator, why it is not paid (or kNone) and its fee.
struct GroupPricing {
  const Ruleset* r = nullptr;
  std::vector<std::pair<Reason, Cents>> facilitators;
  int first_paid = -1;  // the facilitator who collects the co-pays
};

GroupPricing PriceGroupSession(const FoldContext& ctx, const CareEvent& c) {
  GroupPricing g;
  g.r = ctx.rules().InForce(c.day);
  const Ruleset* r = g.r;
  Reason session = Reason::kNone;
  if (!r || !FunctionBillable(*r, c.function) ||
      ctx.PopulationOf(c.network) == Population::kUnknown) {
    session = Reason::kNoConvention;
  } else {
    // Assessments matter for treatment only; eligible participants are counted up to the
    // minimum.
    const bool all_assessed =
        c.function != CareFunction::kTreatment ||
        std::all_of(c.participants.begin(), c.participants.end(),
                    [&](const Person& p) { return ctx.Assessed(p.who, c.network, c.day); });
    int32_t eligible = 0;
    for (size_t i = 0;
         all_assessed && i < c.participants.size() && eligible < r->group_min_participants; ++i) {
      if (ctx.AgeReason(c.network, c.participants[i], c.day, *r) == Reason::kNone) ++eligible;
    }
    if (!all_assessed) {
      session = Reason::kNoAssessment;
    } else if (eligible < r->group_min_participants) {
      session = Reason::kGroupTooSmall;
    }
  }
  for (size_t i = 0; i < c.facilitators.size(); ++i) {
    const Facilitator& f = c.facilitators[i];
    const std::optional<Cents> fee = FeeOf(r, GroupItem(f.role), c.day);
    Reason why = session;
    if (!fee || session == Reason::kNoConvention) {
      why = Reason::kNoConvention;
    } else if (!ctx.Enrolled(f.provider, c.network, c.day)) {
      why = Reason::kProviderNotEnrolled;
    }
    g.facilitators.push_back({why, fee.value_or(Cents{})});
    if (why == Reason::kNone && g.first_paid < 0) g.first_paid = static_cast<int>(i);
  }
  return g;
}

// Whether a group session is paid to any facilitator (PriceGroupSession's first_paid >= 0), as
// each participant's fold asks: the same conditions, checked cheapest first, counting eligible
// participants only up to the minimum.
bool GroupPaid(const FoldContext& ctx, const CareEvent& c, const Ruleset* r) {
  if (!r || !FunctionBillable(*r, c.function) ||
      ctx.PopulationOf(c.network) == Population::kUnknown) {
    return false;  // kNoConvention
  }
  const bool payable =
      std::any_of(c.facilitators.begin(), c.facilitators.end(), [&](const Facilitator& f) {
        return FeeOf(r, GroupItem(f.role), c.day) && ctx.Enrolled(f.provider, c.network, c.day);
      });
  if (!payable) return false;
  if (c.function == CareFunction::kTreatment) {
    for (const Person& p : c.participants) {
      if (!ctx.Assessed(p.who, c.network, c.day)) return false;  // kNoAssessment
    }
  }
  if (r->group_min_participants <= 0) return true;
  int32_t eligible = 0;
  for (const Person& p : c.participants) {
    if (ctx.AgeReason(c.network, p, c.day, *r) == Reason::kNone &&
        ++eligible >= r->group_min_participants) {
      return true;
    }
  }
  return false;  // kGroupTooSmall
}

// One beneficiary's fold state, in buffers that outlive it (BeneficiaryFolder's).
class Folder {
 public:
  using PendingException = std::tuple<CareFunction, NetworkIdx, CivilDay>;
  // `out` and `pending_exceptions` empty; `spare`: trajectories whose buffers may be reused.
  // `group_paid`: GroupPaid answers under `ctx`, by seq.
  Folder(const FoldContext& ctx, BeneficiaryIdx who, BeneficiaryFold* out,
         std::vector<Trajectory>* spare, std::vector<PendingException>* pending_exceptions,
         std::unordered_map<Seq, bool>* group_paid)
      : ctx_(ctx),
        who_(who),
        out_(*out),
        trajectories_(out->trajectories),
        spare_(*spare),
        pending_exceptions_(*pending_exceptions),
        group_paid_(*group_paid) {}

  // Goes on from where an earlier fold ended (its trajectories are out_'s already).
  void Resume(const FoldCarry& carry) {
    daily_day_ = carry.daily_day;
    daily_count_ = carry.daily_count;
    pending_exceptions_ = carry.pending_exceptions;
  }
  // Where the fold stands after its last event (at `position`).
  FoldCarry Carry(FoldPosition position) const {
    FoldCarry c{position, daily_day_, daily_count_, {}};
    for (const PendingException& e : pending_exceptions_) {
      if (std::get<2>(e) == position.day) c.pending_exceptions.push_back(e);
    }
    return c;
  }

  void Individual(const CareEvent& c);
  void Group(const CareEvent& c);
  void Concertation(const CareEvent& c);
  void Exception(const CareEvent& c);
  void Finish();

 private:
  int32_t Age(const Person& p, CivilDay d) { return ages_.On(p.birth, d); }
  Reason AgeReason(NetworkIdx n, const Person& p, CivilDay d, const Ruleset& r) {
    return AgeReasonFor(ctx_.PopulationOf(n), Age(p, d), r);
  }
  Trajectory* Active(CareFunction f, NetworkIdx n, CivilDay d) {
    for (auto it = trajectories_.rbegin(); it != trajectories_.rend(); ++it) {
      if (it->function == f && it->network == n) return it->Active(d) ? &*it : nullptr;
    }
    return nullptr;
  }
  // A new trajectory, with the (emptied) day lists of a spare one when there is one.
  Trajectory NewTrajectory() {
    Trajectory t;
    if (spare_.empty()) return t;
    Trajectory& s = spare_.back();
    t.individual_days.swap(s.individual_days);
    t.group_days.swap(s.group_days);
    t.exception_days.swap(s.exception_days);
    spare_.pop_back();
    t.individual_days.clear();
    t.group_days.clear();
    t.exception_days.clear();
    return t;
  }
  // Any non-voided session starts a trajectory when none is active on its date; the counter
  // table is fixed then.
  Trajectory& ActiveOrStart(const Person& p, CareFunction f, NetworkIdx n, CivilDay d,
                            const Ruleset* r) {
    if (Trajectory* t = Active(f, n, d)) return *t;
    Trajectory t = NewTrajectory();
    t.who = who_;
    t.function = f;
    t.network = n;
    t.start = d;
    t.end = WindowEnd(d, r ? r->window_months : 12);
    const int32_t mixed_max = r ? r->mixed_children_max_age : 23;
    switch (ctx_.PopulationOf(n)) {
      case Population::kChildren:
        t.column = Column::kChildren;
        break;
      case Population::kAdults:
      case Population::kUnknown:
        t.column = Column::kAdults;
        break;
      case Population::kMixed:
        t.column = Age(p, d) <= mixed_max ? Column::kChildren : Column::kAdults;
        break;
    }
    // An exception granted earlier the same day, before this first session, is for the
    // trajectory active on its date: this one.
    for (const auto& [pf, pn, pd] : pending_exceptions_) {
      if (pf == f && pn == n && pd == d) t.exception_days.push_back(d);
    }
    trajectories_.push_back(std::move(t));
    return trajectories_.back();
  }

  const FoldContext& ctx_;
  BeneficiaryIdx who_;
  BeneficiaryFold& out_;
  std::vector<Trajectory>& trajectories_;  // out_.trajectories, in start order until Finish
  std::vector<Trajectory>& spare_;
  std::vector<PendingException>& pending_exceptions_;
  std::unordered_map<Seq, bool>& group_paid_;
  AgeCache ages_;                   // the beneficiary's
  CivilDay daily_day_ = INT32_MIN;  // the day of the last billable individual session
  int32_t daily_count_ = 0;         // and how many that day
};

void Folder::Individual(const CareEvent& c) {
  const Ruleset* r = ctx_.rules().InForce(c.day);
  const Person& p = c.beneficiary;
  Trajectory& t = ActiveOrStart(p, c.function, c.network, c.day, r);
  const FeeItem item = FeeItem::kIndividualSession;
  const FeeRow* const fee = r ? r->Fee(item, c.day) : nullptr;  // not paid that day when null
  auto reject = [&](Reason why) { AddLine(&out_.lines, c, c.provider, 0, item, r, why, {}, {}); };
  if (!fee || !FunctionBillable(*r, c.function)) return reject(Reason::kNoConvention);
  if (!ctx_.Enrolled(c.provider, c.network, c.day)) return reject(Reason::kProviderNotEnrolled);
  if (Reason a = AgeReason(c.network, p, c.day, *r); a != Reason::kNone) return reject(a);
  if (c.function == CareFunction::kTreatment && !ctx_.Assessed(who_, c.network, c.day)) {
    return reject(Reason::kNoAssessment);
  }
  const int32_t today = daily_day_ == c.day ? daily_count_ : 0;
  if (!c.with_context && today >= r->daily_individual_max) return reject(Reason::kDailyLimit);
  const bool exception_applies =
      c.function == CareFunction::kSupport ? r->exception_support : r->exception_treatment;
  const int32_t extra =
      exception_applies && !t.exception_days.empty() ? r->exception_extra_sessions : 0;
  const std::optional<int32_t> max = IndividualMax(*r, t.column, c.function);
  const auto used = static_cast<int32_t>(t.individual_days.size());
  if (max && used >= *max + extra) return reject(Reason::kCounterExhausted);

  Cents copay = p.bim ? r->copay_individual_bim : r->copay_individual;
  if ((used == 0 && r->first_individual_free) || YoungFree(*r, c.day, Age(p, c.day)) ||
      SchoolFree(*r, c)) {
    copay = Cents{0};
  }
  t.individual_days.push_back(c.day);
  daily_day_ = c.day;
  daily_count_ = today + 1;
  AddLine(&out_.lines, c, c.provider, 0, item, r, Reason::kNone, fee->cents,
          std::min(copay, fee->cents));
}

void Folder::Group(const CareEvent& c) {
  const Ruleset* r = ctx_.rules().InForce(c.day);
  const auto [known, inserted] = group_paid_.try_emplace(c.seq, false);
  if (inserted) known->second = GroupPaid(ctx_, c, r);
  const bool paid = known->second;
  for (size_t i = 0; i < c.participants.size(); ++i) {
    const Person& p = c.participants[i];
    if (p.who != who_) continue;
    Trajectory& t = ActiveOrStart(p, c.function, c.network, c.day, r);
    GroupShare share{c.seq, static_cast<uint16_t>(i), false, Cents{0}};
    // Counted only when the session is paid to someone; out-of-age participants pay nothing;
    // over the group counter (2021): no co-pay, reported, facilitators' fees unaffected.
    if (paid && AgeReason(c.network, p, c.day, *r) == Reason::kNone) {
      const std::optional<int32_t> max = GroupMax(*r, t.column, c.function);
      if (!max || static_cast<int32_t>(t.group_days.size()) < *max) {
        t.group_days.push_back(c.day);
        share.counted = true;
        if (!YoungFree(*r, c.day, Age(p, c.day)) && !SchoolFree(*r, c))
          share.copay = r->copay_group_participant;
      }
    }
    out_.shares.push_back(share);
  }
}

void Folder::Concertation(const CareEvent& c) {
  const Ruleset* r = ctx_.rules().InForce(c.day);
  const FeeItem item = FeeItem::kConcertationUnit;
  const std::optional<Cents> unit = FeeOf(r, item, c.day);
  Trajectory* t = Active(CareFunction::kTreatment, c.network, c.day);
  Reason session = Reason::kNone;
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
    if (why != Reason::kNoConvention && !ctx_.Enrolled(p.provider, c.network, c.day)) {
      why = Reason::kProviderNotEnrolled;
    }
    any_paid = any_paid || why == Reason::kNone;
    AddLine(&out_.lines, c, p.provider, static_cast<uint16_t>(i), item, r, why, fee, {});
  }
  if (any_paid) {
    t->concertation_units += c.units;
    ++t->concertations;
  }
}

void Folder::Exception(const CareEvent& c) {
  if (Trajectory* t = Active(c.function, c.network, c.day)) {
    t->exception_days.push_back(c.day);
  } else {
    pending_exceptions_.emplace_back(c.function, c.network, c.day);
  }
}

void Folder::Finish() {
  std::sort(
      trajectories_.begin(), trajectories_.end(), [](const Trajectory& a, const Trajectory& b) {
        return std::tie(a.function, a.network, a.start) < std::tie(b.function, b.network, b.start);
      });
}

}  // namespace

FoldPosition PositionOf(const CareEvent& c) {
  return FoldPosition{c.day, c.kind == CareKind::kConcertation ? 1 : 0, c.seq};
}

const BeneficiaryFold& BeneficiaryFolder::Fold(BeneficiaryIdx who,
                                               std::span<const CareEvent*> events,
                                               BeneficiaryFold* from) {
  const FoldContext& ctx = ctx_;
  for (Trajectory& t : fold_.trajectories) spare_.push_back(std::move(t));
  fold_.trajectories.clear();
  fold_.lines.clear();
  fold_.shares.clear();
  pending_exceptions_.clear();
  // Care-date order, then recording order; a concertation comes after the sessions of its day,
  // which may start the treatment trajectory it needs (it changes no session's pricing).
  std::sort(events.begin(), events.end(), [&](const CareEvent* a, const CareEvent* b) {
    return PositionOf(*a) < PositionOf(*b);
  });
  Folder folder(ctx, who, &fold_, &spare_, &pending_exceptions_, &group_paid_);
  FoldPosition position;
  if (from) {
    fold_.trajectories = std::move(from->trajectories);
    folder.Resume(from->carry);
    position = from->carry.position;
    // Every event comes after where the earlier fold ended (the caller checks; a resumed fold
    // of an earlier event would price it against later counters).
    LEDGER_ASSERT(events.empty() || position < PositionOf(*events.front()));
  }
  if (!events.empty()) position = PositionOf(*events.back());
  for (const CareEvent* c : events) {
    switch (c->kind) {
      case CareKind::kIndividual:
        folder.Individual(*c);
        break;
      case CareKind::kGroup:
        folder.Group(*c);
        break;
      case CareKind::kConcertation:
        folder.Concertation(*c);
        break;
      case CareKind::kException:
        folder.Exception(*c);
        break;
      case CareKind::kCommunity:
      case CareKind::kMission:
        break;  // not about a beneficiary
    }
  }
  folder.Finish();
  fold_.carry = folder.Carry(position);
  return fold_;
}

BeneficiaryFold FoldBeneficiary(const FoldContext& ctx, BeneficiaryIdx who,
                                std::vector<const CareEvent*> events) {
  BeneficiaryFolder folder(ctx);
  folder.Fold(who, events);
  return folder.Take();
}

BeneficiaryFold ResumeBeneficiary(const FoldContext& ctx, BeneficiaryIdx who,
                                  std::vector<Trajectory> trajectories, const FoldCarry& carry,
                                  std::vector<const CareEvent*> events) {
  BeneficiaryFolder folder(ctx);
  BeneficiaryFold from;
  from.trajectories = std::move(trajectories);
  from.carry = carry;
  folder.Fold(who, events, &from);
  return folder.Take();
}

std::vector<Line> GroupLines(const FoldContext& ctx, const CareEvent& c,
                             std::span<const GroupShare> shares) {
  const GroupPricing g = PriceGroupSession(ctx, c);
  Cents copays{0};
  for (const GroupShare& s : shares) {
    if (s.seq == c.seq) copays += s.copay;
  }
  std::vector<Line> lines;
  lines.reserve(c.facilitators.size());
  for (size_t i = 0; i < c.facilitators.size(); ++i) {
    const auto& [why, fee] = g.facilitators[i];
    const Cents copay = static_cast<int>(i) == g.first_paid ? std::min(copays, fee) : Cents{0};
    AddLine(&lines, c, c.facilitators[i].provider, static_cast<uint16_t>(i),
            GroupItem(c.facilitators[i].role), g.r, why, fee, copay);
  }
  return lines;
}

std::vector<Line> CommunityLines(const FoldContext& ctx, const CareEvent& c) {
  const Ruleset* r = ctx.rules().InForce(c.day);
  const bool meets = r &&
                     (c.participant_count >= r->community_min_participants || c.defined_group) &&
                     c.minutes >= r->community_min_minutes &&
                     c.interaction_minutes >= r->community_min_interaction_minutes &&
                     static_cast<int32_t>(c.facilitators.size()) >= r->community_min_facilitators;
  std::vector<Line> lines;
  lines.reserve(c.facilitators.size());
  for (size_t i = 0; i < c.facilitators.size(); ++i) {
    const Facilitator& f = c.facilitators[i];
    const FeeItem item = CommunityItem(f.role);
    const std::optional<Cents> fee = FeeOf(r, item, c.day);
    Reason why = Reason::kNone;
    if (!fee || !r->community_billable || ctx.PopulationOf(c.network) == Population::kUnknown) {
      why = Reason::kNoConvention;
    } else if (!ctx.Enrolled(f.provider, c.network, c.day)) {
      why = Reason::kProviderNotEnrolled;
    } else if (!meets) {
      why = Reason::kCommunityRequirements;
    }
    AddLine(&lines, c, f.provider, static_cast<uint16_t>(i), item, r, why, fee.value_or(Cents{}),
            Cents{0});
  }
  return lines;
}

std::vector<Line> MissionLines(const FoldContext& ctx, const CareEvent& c) {
  const Ruleset* r = ctx.rules().InForce(c.day);
  const FeeItem item = FeeItem::kSupportMissionHour;
  const std::optional<Cents> hour = FeeOf(r, item, c.day);
  Reason why = Reason::kNone;
  if (!hour || ctx.PopulationOf(c.network) == Population::kUnknown) {
    why = Reason::kNoConvention;
  } else if (!ctx.Enrolled(c.provider, c.network, c.day)) {
    why = Reason::kProviderNotEnrolled;
  }
  const Cents fee = hour ? ProRataHalfUp(*hour, c.minutes, 60) : Cents{};
  std::vector<Line> lines;
  AddLine(&lines, c, c.provider, 0, item, r, why, fee, Cents{0});
  return lines;
}

}  // namespace ledger
