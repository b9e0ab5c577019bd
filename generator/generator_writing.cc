// Writing: each action as its JSON line (ids, facilitators, groups, concertations, voids,
// community interventions and support missions).
#include "generator/generator_internal.h"

namespace ledger::generator_internal {

// --- writing ---------------------------------------------------------------------------------

void Generator::Begin(const char* tag, const char* type, CivilDay day) {
  line_.clear();
  line_ += "{\"id\":\"g";
  line_ += seed_text_;
  line_ += '-';
  line_ += tag;
  line_ += '-';
  AppendInt(line_, static_cast<int64_t>(++next_id_));
  line_ += "\",\"type\":\"";
  line_ += type;
  line_ += "\",\"occurred_on\":\"";
  AppendDate(line_, day);
  line_ += '"';
}

void Generator::Emit(std::string_view line) {
  ++stats_.events;
  sink_(line);
}

void Generator::Defer(CivilDay day, std::string line) {
  deferred_.push_back({day, order_++, std::move(line)});
  std::push_heap(deferred_.begin(), deferred_.end());
}

void Generator::Render(const Entity& e, const Action& a) {
  const Provider& provider = providers_[e.provider[0]];
  const char* network = kNetworks[e.network].id;
  switch (a.kind) {
    case ActionKind::kAssessment:
      Begin("ass", "assessment.recorded", a.day);
      FieldStr(line_, "provider_id", provider.id);
      FieldStr(line_, "network_id", network);
      FieldPerson(line_, "beneficiary", PersonOf(e, a.person));
      End();
      return Emit(line_);
    case ActionKind::kException:
      Begin("exc", "exception.granted", a.day);
      FieldStr(line_, "provider_id", provider.id);
      FieldStr(line_, "network_id", network);
      FieldPerson(line_, "beneficiary", e.person);
      FieldStr(line_, "function", "support");
      FieldStr(line_, "reason", kExceptionReasons[a.reason]);
      End();
      return Emit(line_);
    case ActionKind::kConcertation:
      return WriteConcertation(e, a);
    case ActionKind::kIndividual:
    case ActionKind::kGroup:
      break;
  }
  if (a.kind == ActionKind::kIndividual) {
    WriteIndividual(e, a, a.day, a.minutes, a.location);
  } else {
    WriteGroup(e, a, a.minutes, a.location);
  }
  if (a.release > a.day) return Defer(a.release, line_);
  Emit(line_);
  if (a.voided) WriteVoid(e, a, CurrentId());
}

// The id of the line being built: `{"id":"` is 7 characters.
std::string Generator::CurrentId() const {
  constexpr size_t kIdStart = 7;
  return line_.substr(kIdStart, line_.find('"', kIdStart) - kIdStart);
}

void Generator::WriteIndividual(const Entity& e, const Action& a, CivilDay day, int16_t minutes,
                                Location location) {
  Begin("ind", "session.individual", day);
  FieldStr(line_, "provider_id", providers_[e.provider[0]].id);
  FieldStr(line_, "network_id", kNetworks[e.network].id);
  FieldPerson(line_, "beneficiary", e.person);
  FieldStr(line_, "function", kFunctionNames[static_cast<int>(a.function)]);
  FieldInt(line_, "minutes", minutes);
  FieldStr(line_, "location", kLocationNames[static_cast<int>(location)]);
  if (a.with_context) line_ += ",\"with_context\":true";
  if (a.cpms && location == Location::kSchool) FieldStr(line_, "organiser", "cpms");
  End();
}

void Generator::WriteFacilitators(const uint32_t* providers, size_t count) {
  line_ += ",\"facilitators\":[";
  for (size_t i = 0; i < count; ++i) {
    const Provider& p = providers_[providers[i]];
    line_ += i == 0 ? "{\"provider_id\":\"" : ",{\"provider_id\":\"";
    line_ += p.id;
    line_ += "\",\"role\":\"";
    line_ += kProfessionNames[static_cast<int>(p.profession)];
    line_ += "\"}";
  }
  line_ += ']';
}

void Generator::WriteGroup(const Entity& e, const Action& a, int16_t minutes, Location location) {
  Begin("grp", "session.group", a.day);
  WriteFacilitators(e.provider, e.facilitator_count);
  FieldStr(line_, "network_id", kNetworks[e.network].id);
  FieldStr(line_, "function", kFunctionNames[static_cast<int>(a.function)]);
  FieldInt(line_, "minutes", minutes);
  FieldStr(line_, "location", kLocationNames[static_cast<int>(location)]);
  line_ += ",\"participants\":[";
  bool first = true;
  for (uint8_t i = 0; i < e.people_count; ++i) {
    if ((a.attendance & (1u << i)) == 0) continue;
    if (!first) line_ += ',';
    AppendPerson(line_, PersonOf(e, i));
    first = false;
  }
  line_ += ']';
  if (a.cpms && location == Location::kSchool) FieldStr(line_, "organiser", "cpms");
  End();
}

void Generator::WriteConcertation(const Entity& e, const Action& a) {
  Begin("con", "concertation.held", a.day);
  FieldStr(line_, "network_id", kNetworks[e.network].id);
  FieldPerson(line_, "beneficiary", e.person);
  FieldInt(line_, "units", a.units);
  line_ += ",\"participants\":[";
  auto provider = [&](uint32_t index, bool first) {
    const Provider& p = providers_[index];
    line_ += first ? "{\"provider_id\":\"" : ",{\"provider_id\":\"";
    line_ += p.id;
    line_ += "\",\"role\":\"";
    line_ += kProfessionNames[static_cast<int>(p.profession)];
    line_ += "\",\"care_provider\":true}";
  };
  auto other = [&](uint8_t role) {
    line_ += ",{\"role\":\"";
    line_ += kConcertationRoles[role].name;
    line_ += kConcertationRoles[role].care_provider ? "\",\"care_provider\":true}"
                                                    : "\",\"care_provider\":false}";
  };
  provider(e.provider[0], true);
  if (a.co_provider >= 0) provider(static_cast<uint32_t>(a.co_provider), false);
  other(a.reason);
  if (a.extra_role != 0xff) other(a.extra_role);
  line_ += ']';
  End();
  Emit(line_);
}

// The void, due on a.void_day, and for a correctable mistake the session recorded again.
void Generator::WriteVoid(const Entity& e, const Action& a, const std::string& target) {
  Begin("void", "event.voided", a.void_day);
  FieldStr(line_, "target", target);
  FieldStr(line_, "reason", kVoidReasons[a.reason]);
  End();
  Defer(a.void_day, line_);
  if (!a.corrected()) return;
  const bool duration = a.reason == 0;
  const int16_t minutes = duration ? static_cast<int16_t>(a.minutes == 60 ? 45 : 60) : a.minutes;
  const Location location =
      duration ? a.location
               : (a.location == Location::kPractice ? Location::kVideo : Location::kPractice);
  if (a.kind == ActionKind::kIndividual) {
    WriteIndividual(e, a, a.day, minutes, location);
  } else {
    WriteGroup(e, a, minutes, location);
  }
  Defer(a.void_day, line_);
}

CommunityPlan Generator::DrawCommunity(CivilDay day, uint32_t n, Rng& r) const {
  const Network& net = networks_[n];
  CommunityPlan c;
  const uint64_t x = r.Below(100);
  const size_t count = x < 10 ? 1 : x < 75 ? 2 : 3;
  c.facilitators[0] = PickClinical(n, day, r);
  c.count = 1;
  for (int attempt = 0; c.count < count && attempt < 6; ++attempt) {  // small networks: fewer
    const bool use_other = !net.others.empty() && r.PerMille(400);
    const int64_t p = use_other ? PickFrom(net.others, day, r) : PickFrom(net.clinical, day, r);
    if (p < 0) break;
    const auto end = c.facilitators.begin() + static_cast<std::ptrdiff_t>(c.count);
    if (std::find(c.facilitators.begin(), end, static_cast<uint32_t>(p)) == end) {
      c.facilitators[c.count++] = static_cast<uint32_t>(p);
    }
  }
  c.minutes = r.PerMille(900) ? 120 : r.PerMille(500) ? 90 : 150;
  // Mostly 90 minutes or more of direct interaction, as F1 requires; some fall short.
  c.interaction_minutes = std::min(c.minutes, r.PerMille(900) ? r.Range(90, 120) : r.Range(80, 89));
  c.defined_group = r.PerMille(200);
  c.participants = c.defined_group ? r.Range(6, 28) : r.Range(8, 30);
  c.host = r.Below(std::size(kHosts));
  return c;
}

int64_t Generator::CostOf(const CommunityPlan& c, CivilDay day) const {
  std::array<gen::Facilitator, 3> facilitators{};
  for (size_t i = 0; i < c.count; ++i) {
    const Provider& p = providers_[c.facilitators[i]];
    facilitators[i] = {p.EnrolledOn(day), p.profession == Profession::kOther};
  }
  return gen::CareCost::Community(tariff_, day, {facilitators.data(), c.count}, c.minutes,
                                  c.interaction_minutes, c.participants, c.defined_group);
}

void Generator::WriteCommunity(CivilDay day, uint32_t n, const CommunityPlan& c) {
  Begin("com", "community.intervention", day);
  WriteFacilitators(c.facilitators.data(), c.count);
  FieldStr(line_, "network_id", kNetworks[n].id);
  FieldInt(line_, "minutes", c.minutes);
  FieldInt(line_, "interaction_minutes", c.interaction_minutes);
  FieldInt(line_, "participant_count", c.participants);
  if (c.defined_group) line_ += ",\"defined_group\":true";
  FieldStr(line_, "host", kHosts[c.host]);
  End();
  Emit(line_);
}

MissionPlan Generator::DrawMission(CivilDay day, uint32_t n, Rng& r) const {
  const Network& net = networks_[n];
  int64_t p = -1;
  if (!net.others.empty() && r.PerMille(150)) p = PickFrom(net.others, day, r);
  if (p < 0) p = PickClinical(n, day, r);
  return {static_cast<uint32_t>(p), r.Range(2, 16) * 15, r.Below(std::size(kMissionKinds))};
}

int64_t Generator::CostOf(const MissionPlan& m, CivilDay day) const {
  return gen::CareCost::Mission(tariff_, day, m.minutes, providers_[m.provider].EnrolledOn(day));
}

void Generator::WriteMission(CivilDay day, uint32_t n, const MissionPlan& m) {
  Begin("mis", "support.mission", day);
  FieldStr(line_, "provider_id", providers_[m.provider].id);
  FieldStr(line_, "network_id", kNetworks[n].id);
  FieldInt(line_, "minutes", m.minutes);
  FieldStr(line_, "kind", kMissionKinds[m.kind]);
  End();
  Emit(line_);
}

}  // namespace ledger::generator_internal
