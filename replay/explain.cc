#include "replay/explain.h"

#include <algorithm>
#include <optional>
#include <tuple>
#include <vector>

#include "projections/directory.h"
#include "projections/fold.h"
#include "projections/fold_input.h"
#include "projections/records.h"
#include "projections/views.h"

namespace ledger {
namespace json = boost::json;

namespace {

const char* KindType(CareKind k) {
  switch (k) {
    case CareKind::kIndividual:
      return "session.individual";
    case CareKind::kGroup:
      return "session.group";
    case CareKind::kCommunity:
      return "community.intervention";
    case CareKind::kMission:
      return "support.mission";
    case CareKind::kConcertation:
      return "concertation.held";
    case CareKind::kException:
      return "exception.granted";
  }
  return "?";
}

const char* FunctionName(CareFunction f) {
  return f == CareFunction::kSupport ? "support" : "treatment";
}

json::value Day(std::optional<CivilDay> d) {
  return d ? json::value(FormatDay(*d)) : json::value(nullptr);
}

json::value RulesetJson(const Ruleset* r) {
  if (!r) return nullptr;
  return json::object{{"id", r->id},
                      {"version", r->version},
                      {"valid_from", FormatDay(r->valid_from)},
                      {"valid_to", Day(r->valid_to)}};
}

json::value FeeRowJson(const Ruleset* r, FeeItem item, CivilDay day) {
  const FeeRow* row = r ? r->Fee(item, day) : nullptr;
  if (!row) return nullptr;
  return json::object{{"rule", r->RuleLabel(item)},
                      {"cents", row->cents.value},
                      {"from", FormatDay(row->from)},
                      {"to", Day(row->to)},
                      {"default", row->is_default}};
}

Cents FeeCents(const Ruleset* r, FeeItem item, CivilDay day) {
  const FeeRow* row = r ? r->Fee(item, day) : nullptr;
  return row ? row->cents : Cents{};
}

// --- the fold up to an event -----------------------------------------------------------------

// The fold's order (fold.cc, FoldBeneficiary): care date, concertations after sessions, seq.
std::tuple<CivilDay, int, Seq> FoldKey(const CareEvent& c) {
  return {c.day, c.kind == CareKind::kConcertation ? 1 : 0, c.seq};
}

bool Concerns(const CareEvent& c, BeneficiaryIdx who) {
  bool concerns = false;
  ForEachBeneficiary(c, [&](BeneficiaryIdx b) { concerns = concerns || b == who; });
  return concerns;
}

// The beneficiary's fold over its non-voided events that come before `target` in fold order.
BeneficiaryFold FoldBefore(const History& h, const FoldContext& ctx, BeneficiaryIdx who,
                           const CareEvent& target) {
  std::vector<const CareEvent*> events;
  for (const CareEvent& c : h.care) {
    if (!h.Voided(c.seq) && Concerns(c, who) && FoldKey(c) < FoldKey(target)) {
      events.push_back(&c);
    }
  }
  return FoldBeneficiary(ctx, who, std::move(events));
}

// As the fold finds it: the latest trajectory of that function and network, if active on `d`.
const Trajectory* ActiveIn(const BeneficiaryFold& f, CareFunction fn, NetworkIdx n, CivilDay d) {
  const Trajectory* last = nullptr;
  for (const Trajectory& t : f.trajectories) {
    if (t.function == fn && t.network == n) last = &t;  // sorted by function, network, start
  }
  return last && last->Active(d) ? last : nullptr;
}

// The counter table a trajectory starting on `d` would take (fold.cc, ActiveOrStart).
Column StartColumn(const FoldContext& ctx, NetworkIdx n, const Person& p, CivilDay d,
                   const Ruleset* r) {
  switch (ctx.PopulationOf(n)) {
    case Population::kChildren:
      return Column::kChildren;
    case Population::kAdults:
    case Population::kUnknown:
      return Column::kAdults;
    case Population::kMixed:
      return AgeOn(p.birth, d) <= (r ? r->mixed_children_max_age : 23) ? Column::kChildren
                                                                       : Column::kAdults;
  }
  return Column::kAdults;
}

std::optional<int32_t> IndividualMax(const Ruleset& r, Column c, CareFunction f) {
  const CounterTable& t = r.counters[static_cast<int>(c)];
  return f == CareFunction::kSupport ? t.support_individual : t.treatment_individual;
}

// The trajectory an event of `c`'s function and network meets, before it.
json::object TrajectoryJson(const History& h, const FoldContext& ctx, const BeneficiaryFold& f,
                            const CareEvent& c, const Person& who, CareFunction fn) {
  const Ruleset* r = ctx.rules().InForce(c.day);
  const Trajectory* t = ActiveIn(f, fn, c.network, c.day);
  json::object o;
  o["function"] = FunctionName(fn);
  o["network_id"] = h.networks.Name(c.network);
  o["starts_here"] = t == nullptr;
  o["started_on"] = FormatDay(t ? t->start : c.day);
  o["ends_on"] = FormatDay(t ? t->end : WindowEnd(c.day, r ? r->window_months : 12));
  const Column column = t ? t->column : StartColumn(ctx, c.network, who, c.day, r);
  o["column"] = ColumnName(column);
  const auto used = static_cast<int64_t>(t ? t->individual_days.size() : 0);
  o["individual_used_before"] = used;
  o["group_used_before"] = static_cast<int64_t>(t ? t->group_days.size() : 0);
  o["exceptions"] = static_cast<int64_t>(t ? t->exception_days.size() : 0);
  o["concertation_units_before"] = t ? t->concertation_units : 0;
  json::value max = nullptr;
  if (r) {
    const bool exc = fn == CareFunction::kSupport ? r->exception_support : r->exception_treatment;
    const int32_t extra = exc && t && !t->exception_days.empty() ? r->exception_extra_sessions : 0;
    if (auto m = IndividualMax(*r, column, fn)) max = *m + extra;
  }
  o["individual_max"] = max;
  return o;
}

json::object EnrolmentJson(const History& h, const FoldContext& ctx, ProviderIdx p, NetworkIdx n,
                           CivilDay d) {
  json::array events;
  if (auto it = h.enrolments.find({p, n}); it != h.enrolments.end()) {
    std::vector<EnrolmentEvent> list = it->second;
    std::sort(list.begin(), list.end(), [](const EnrolmentEvent& a, const EnrolmentEvent& b) {
      return std::tie(a.day, a.seq) < std::tie(b.day, b.seq);
    });
    for (const EnrolmentEvent& e : list) {
      if (h.Voided(e.seq)) continue;
      events.push_back(
          json::object{{"on", FormatDay(e.day)}, {"event", e.enrolled ? "enrolled" : "left"}});
    }
  }
  return json::object{{"provider_id", h.providers.Name(p)},
                      {"enrolled_on_care_date", ctx.Enrolled(p, n, d)},
                      {"events", std::move(events)}};
}

std::optional<CivilDay> FirstAssessment(const History& h, BeneficiaryIdx b, NetworkIdx n) {
  std::optional<CivilDay> first;
  if (auto it = h.assessments.find({b, n}); it != h.assessments.end()) {
    for (const auto& [day, seq] : it->second) {
      if (!h.Voided(seq) && (!first || day < *first)) first = day;
    }
  }
  return first;
}

json::object PersonJson(const FoldContext& ctx, const CareEvent& c, const Person& p,
                        const Ruleset* r) {
  json::object o;
  o["age_on_care_date"] = AgeOn(p.birth, c.day);
  o["bim"] = p.bim;
  o["outside_network_ages"] =
      r ? ctx.AgeReason(c.network, p, c.day, *r) == Reason::kAgeOutsideNetwork : false;
  return o;
}

// --- lines -----------------------------------------------------------------------------------

std::vector<const Line*> LinesOf(const Projection& p, Seq seq) {
  std::vector<const Line*> out;
  for (const Line& l : p.lines) {
    if (l.seq == seq) out.push_back(&l);
  }
  std::sort(out.begin(), out.end(), [](const Line* a, const Line* b) { return a->part < b->part; });
  return out;
}

// The line as an invoice prints it, plus its provider.
json::object LineJson(const History& h, const Line& l) {
  const std::string& provider = h.providers.Name(l.provider);
  json::object inv = InvoiceJson(provider, MonthOf(l.day), {ToRecord(h, l)});
  json::object o = inv.at("lines").as_array().at(0).as_object();
  o["provider_id"] = provider;
  o["part"] = l.part;
  return o;
}

// The common arithmetic: fee = co-pay + insurer share, and whether the line reproduces `fee`
// and `copay` (zero amounts when not billable).
json::object Arithmetic(const Line& l, Cents fee, Cents copay) {
  json::object a;
  const bool billable = l.billable();
  a["fee_cents"] = l.fee.value;
  a["copay_cents"] = l.copay.value;
  a["insurer_cents"] = l.insurer.value;
  a["sum"] = std::to_string(l.fee.value) + " = " + std::to_string(l.copay.value) + " + " +
             std::to_string(l.insurer.value);
  const Cents want_fee = billable ? fee : Cents{}, want_copay = billable ? copay : Cents{};
  a["consistent"] = l.fee == l.copay + l.insurer && l.fee == want_fee && l.copay == want_copay;
  return a;
}

json::array LinesJson(const History& h, const std::vector<const Line*>& lines,
                      const std::vector<json::object>& arithmetic) {
  json::array out;
  for (size_t i = 0; i < lines.size(); ++i) {
    json::object o = LineJson(h, *lines[i]);
    o["arithmetic"] = arithmetic[i];
    out.emplace_back(std::move(o));
  }
  return out;
}

// --- per kind: each fills "state_before" and "lines" of `out` --------------------------------

struct Ctx {
  const History& h;
  const Projection& p;
  const FoldContext& fold;
  const CareEvent& c;
  const Ruleset* r;  // in force on the care date
};

bool YoungFree(const Ruleset& r, const Person& p, CivilDay d) {
  return r.young_free_max_age && r.young_free_from && d >= *r.young_free_from &&
         AgeOn(p.birth, d) <= *r.young_free_max_age;
}
bool SchoolFree(const Ruleset& r, const CareEvent& c) {
  return c.school_cpms && r.cpms_school_free_from && c.day >= *r.cpms_school_free_from;
}

// The co-pay rule of the book (section 6) that applied to a billable individual session.
std::pair<const char*, Cents> IndividualCopay(const Ruleset& r, const CareEvent& c, int64_t used) {
  if (used == 0 && r.first_individual_free) return {"first_individual_session_free", Cents{0}};
  if (YoungFree(r, c.beneficiary, c.day)) return {"young_free", Cents{0}};
  if (SchoolFree(r, c)) return {"cpms_school_free", Cents{0}};
  if (c.beneficiary.bim) return {"bim", r.copay_individual_bim};
  return {"standard", r.copay_individual};
}

void ExplainIndividual(const Ctx& x, json::object* out) {
  const CareEvent& c = x.c;
  const BeneficiaryFold f = FoldBefore(x.h, x.fold, c.beneficiary.who, c);
  json::object state;
  state["beneficiary"] = PersonJson(x.fold, c, c.beneficiary, x.r);
  state["population"] = PopulationName(x.fold.PopulationOf(c.network));
  state["provider"] = EnrolmentJson(x.h, x.fold, c.provider, c.network, c.day);
  const std::optional<CivilDay> assessed = FirstAssessment(x.h, c.beneficiary.who, c.network);
  state["assessment"] = json::object{{"required", c.function == CareFunction::kTreatment},
                                     {"first_on", Day(assessed)},
                                     {"on_or_before_care_date", assessed && *assessed <= c.day}};
  json::object t = TrajectoryJson(x.h, x.fold, f, c, c.beneficiary, c.function);
  const int64_t used = t.at("individual_used_before").as_int64();
  state["first_session"] = used == 0;
  state["trajectory"] = std::move(t);
  int64_t same_day = 0;
  for (const Line& l : f.lines) {
    same_day += l.item == FeeItem::kIndividualSession && l.billable() && l.day == c.day ? 1 : 0;
  }
  state["billable_individual_sessions_earlier_that_day"] = same_day;
  state["with_context"] = c.with_context;
  (*out)["state_before"] = std::move(state);

  const std::vector<const Line*> lines = LinesOf(x.p, c.seq);
  std::vector<json::object> arithmetic;
  for (const Line* l : lines) {
    const Cents fee = FeeCents(x.r, FeeItem::kIndividualSession, c.day);
    json::object a;
    a["fee"] = FeeRowJson(x.r, FeeItem::kIndividualSession, c.day);
    Cents copay;
    if (l->billable() && x.r) {
      const auto [rule, cents] = IndividualCopay(*x.r, c, used);
      a["copay_rule"] = rule;
      a["copay_rule_cents"] = cents.value;
      a["copay_capped_at_fee"] = cents > fee;
      copay = std::min(cents, fee);
    } else {
      a["copay_rule"] = nullptr;
    }
    for (auto& [k, v] : Arithmetic(*l, fee, copay)) a[k] = v;
    arithmetic.push_back(std::move(a));
  }
  (*out)["lines"] = LinesJson(x.h, lines, arithmetic);
}

// A group session: the session's conditions, each participant's share (from the projection),
// and each facilitator's line; the co-pays are collected by the first paid facilitator.
void ExplainGroup(const Ctx& x, json::object* out) {
  const CareEvent& c = x.c;
  auto lo = std::lower_bound(x.p.shares.begin(), x.p.shares.end(), c.seq,
                             [](const GroupShare& s, Seq seq) { return s.seq < seq; });
  json::array participants;
  int64_t eligible = 0;
  bool all_assessed = true;
  Cents copays;
  for (size_t i = 0; i < c.participants.size(); ++i) {
    const Person& person = c.participants[i];
    json::object j = PersonJson(x.fold, c, person, x.r);
    j["position"] = i;
    const bool assessed = x.fold.Assessed(person.who, c.network, c.day);
    all_assessed = all_assessed && assessed;
    eligible += x.r && x.fold.AgeReason(c.network, person, c.day, *x.r) == Reason::kNone;
    j["assessed"] = assessed;
    for (auto it = lo; it != x.p.shares.end() && it->seq == c.seq; ++it) {
      if (it->participant != i) continue;
      j["counted"] = it->counted;
      j["copay_cents"] = it->copay.value;
      copays += it->copay;
    }
    participants.emplace_back(std::move(j));
  }
  json::object state;
  state["function"] = FunctionName(c.function);
  state["population"] = PopulationName(x.fold.PopulationOf(c.network));
  state["participants_registered"] = c.participants.size();
  state["participants_in_age_range"] = eligible;
  state["min_participants"] = x.r ? json::value(x.r->group_min_participants) : nullptr;
  state["assessment_required"] = c.function == CareFunction::kTreatment;
  state["all_assessed"] = all_assessed;
  state["participants"] = std::move(participants);
  state["copays_collected_cents"] = copays.value;
  (*out)["state_before"] = std::move(state);

  const std::vector<const Line*> lines = LinesOf(x.p, c.seq);
  std::vector<json::object> arithmetic;
  bool collected = false;
  for (const Line* l : lines) {
    const Facilitator& fac = c.facilitators[l->part];
    const Cents fee = FeeCents(x.r, l->item, c.day);
    const bool collector = l->billable() && !collected;
    collected = collected || collector;
    json::object a;
    a["role"] = ProfessionName(fac.role);
    a["enrolled_on_care_date"] = x.fold.Enrolled(fac.provider, c.network, c.day);
    a["fee"] = FeeRowJson(x.r, l->item, c.day);
    a["copay_rule"] = collector ? json::value("group_copays_collected_by_first_paid_facilitator")
                                : json::value(nullptr);
    for (auto& [k, v] : Arithmetic(*l, fee, collector ? std::min(copays, fee) : Cents{})) {
      a[k] = v;
    }
    arithmetic.push_back(std::move(a));
  }
  (*out)["lines"] = LinesJson(x.h, lines, arithmetic);
}

void ExplainConcertation(const Ctx& x, json::object* out) {
  const CareEvent& c = x.c;
  const BeneficiaryFold f = FoldBefore(x.h, x.fold, c.beneficiary.who, c);
  const Trajectory* t = ActiveIn(f, CareFunction::kTreatment, c.network, c.day);
  int64_t care_providers = 0;
  for (const auto& p : c.concertation) care_providers += p.care_provider ? 1 : 0;
  json::object state;
  state["beneficiary"] = PersonJson(x.fold, c, c.beneficiary, x.r);
  state["treatment_trajectory"] =
      t ? json::value(TrajectoryJson(x.h, x.fold, f, c, c.beneficiary, CareFunction::kTreatment))
        : json::value(nullptr);
  state["units"] = c.units;
  state["units_before_in_trajectory"] = t ? t->concertation_units : 0;
  state["concertations_before_in_trajectory"] = t ? t->concertations : 0;
  state["participants"] = c.concertation.size();
  state["care_providers"] = care_providers;
  if (x.r) {
    state["units_max"] = x.r->concertation_units_max;
    state["units_max_per_trajectory"] = x.r->concertation_units_max_per_trajectory;
    state["min_participants"] = x.r->concertation_min_participants;
    state["min_care_providers"] = x.r->concertation_min_care_providers;
  }
  (*out)["state_before"] = std::move(state);
  const std::vector<const Line*> lines = LinesOf(x.p, c.seq);
  std::vector<json::object> arithmetic;
  const Cents unit = FeeCents(x.r, FeeItem::kConcertationUnit, c.day);
  for (const Line* l : lines) {
    json::object a;
    a["fee"] = FeeRowJson(x.r, FeeItem::kConcertationUnit, c.day);
    a["units"] = c.units;
    a["enrolled_on_care_date"] = x.fold.Enrolled(l->provider, c.network, c.day);
    a["copay_rule"] = "none_for_concertation";
    for (auto& [k, v] : Arithmetic(*l, Cents{unit.value * c.units}, Cents{})) a[k] = v;
    arithmetic.push_back(std::move(a));
  }
  (*out)["lines"] = LinesJson(x.h, lines, arithmetic);
}

void ExplainMission(const Ctx& x, json::object* out) {
  const CareEvent& c = x.c;
  (*out)["state_before"] =
      json::object{{"minutes", c.minutes},
                   {"population", PopulationName(x.fold.PopulationOf(c.network))},
                   {"provider", EnrolmentJson(x.h, x.fold, c.provider, c.network, c.day)}};
  const std::vector<const Line*> lines = LinesOf(x.p, c.seq);
  std::vector<json::object> arithmetic;
  const Cents hour = FeeCents(x.r, FeeItem::kSupportMissionHour, c.day);
  for (const Line* l : lines) {
    json::object a;
    a["fee"] = FeeRowJson(x.r, FeeItem::kSupportMissionHour, c.day);
    a["pro_rata"] = std::to_string(hour.value) + " x " + std::to_string(c.minutes) +
                    " / 60, rounded half-up to the cent";
    a["copay_rule"] = "none_for_support_missions";
    for (auto& [k, v] : Arithmetic(*l, ProRataHalfUp(hour, c.minutes, 60), Cents{})) a[k] = v;
    arithmetic.push_back(std::move(a));
  }
  (*out)["lines"] = LinesJson(x.h, lines, arithmetic);
}

void ExplainCommunity(const Ctx& x, json::object* out) {
  const CareEvent& c = x.c;
  json::object state{{"participant_count", c.participant_count},
                     {"defined_group", c.defined_group},
                     {"minutes", c.minutes},
                     {"interaction_minutes", c.interaction_minutes},
                     {"facilitators", c.facilitators.size()},
                     {"population", PopulationName(x.fold.PopulationOf(c.network))}};
  if (x.r) {
    state["community_billable"] = x.r->community_billable;
    state["min_participants"] = x.r->community_min_participants;
    state["min_minutes"] = x.r->community_min_minutes;
    state["min_interaction_minutes"] = x.r->community_min_interaction_minutes;
    state["min_facilitators"] = x.r->community_min_facilitators;
  }
  (*out)["state_before"] = std::move(state);
  const std::vector<const Line*> lines = LinesOf(x.p, c.seq);
  std::vector<json::object> arithmetic;
  for (const Line* l : lines) {
    json::object a;
    a["enrolled_on_care_date"] =
        x.fold.Enrolled(c.facilitators[l->part].provider, c.network, c.day);
    a["fee"] = FeeRowJson(x.r, l->item, c.day);
    a["copay_rule"] = "none_for_community_interventions";
    for (auto& [k, v] : Arithmetic(*l, FeeCents(x.r, l->item, c.day), Cents{})) a[k] = v;
    arithmetic.push_back(std::move(a));
  }
  (*out)["lines"] = LinesJson(x.h, lines, arithmetic);
}

void ExplainException(const Ctx& x, json::object* out) {
  const CareEvent& c = x.c;
  const BeneficiaryFold f = FoldBefore(x.h, x.fold, c.beneficiary.who, c);
  const bool active = ActiveIn(f, c.function, c.network, c.day) != nullptr;
  json::object state;
  state["applies_to"] =
      active ? json::value(TrajectoryJson(x.h, x.fold, f, c, c.beneficiary, c.function))
             : json::value("the trajectory of that function and network that starts on " +
                           FormatDay(c.day) + ", if one does");
  if (x.r) {
    const bool applies =
        c.function == CareFunction::kSupport ? x.r->exception_support : x.r->exception_treatment;
    state["extra_individual_sessions"] = applies ? x.r->exception_extra_sessions : 0;
  }
  (*out)["state_before"] = std::move(state);
  (*out)["lines"] = json::array();
}

}  // namespace

Result<json::object> ExplainEvent(const History& h, const Projection& p, Seq seq) {
  auto it =
      std::find_if(h.care.begin(), h.care.end(), [&](const CareEvent& c) { return c.seq == seq; });
  if (it == h.care.end()) {
    return Error{ErrorCode::kNotFound, "seq " + std::to_string(seq) + " is not a care event"};
  }
  const CareEvent& c = *it;
  const FoldContext fold = ContextOf(h, p.rulesets.get());
  const Ruleset* r = p.rulesets->InForce(c.day);
  json::object out;
  out["event_id"] = h.EventId(seq);
  out["seq"] = seq;
  out["type"] = KindType(c.kind);
  out["occurred_on"] = FormatDay(c.day);
  out["network_id"] = h.networks.Name(c.network);
  out["voided"] = h.Voided(seq);
  out["ruleset"] = RulesetJson(r);
  if (h.Voided(seq)) {
    out["lines"] = json::array();  // a voided event yields no line at all
    return out;
  }
  const Ctx x{h, p, fold, c, r};
  switch (c.kind) {
    case CareKind::kIndividual:
      ExplainIndividual(x, &out);
      break;
    case CareKind::kGroup:
      ExplainGroup(x, &out);
      break;
    case CareKind::kConcertation:
      ExplainConcertation(x, &out);
      break;
    case CareKind::kMission:
      ExplainMission(x, &out);
      break;
    case CareKind::kCommunity:
      ExplainCommunity(x, &out);
      break;
    case CareKind::kException:
      ExplainException(x, &out);
      break;
  }
  return out;
}

}  // namespace ledger
