#include "projections/history.h"

#include <algorithm>
#include <cassert>

namespace ledger {

uint32_t Interner::Intern(std::string_view name) {
  auto it = index_.find(name);
  if (it != index_.end()) return it->second;
  const auto idx = static_cast<uint32_t>(names_.size());
  names_.emplace_back(name);
  index_.emplace(names_.back(), idx);
  return idx;
}

Role RoleOf(schema::Profession p) {
  switch (p) {
    case schema::Profession::PSYCHOLOGIST:
      return Role::kPsychologist;
    case schema::Profession::ORTHOPEDAGOGUE:
      return Role::kOrthopedagogue;
    case schema::Profession::OTHER:
      return Role::kOther;
  }
  return Role::kOther;
}

Population PopulationOf(schema::Population p) {
  switch (p) {
    case schema::Population::CHILDREN:
      return Population::kChildren;
    case schema::Population::ADULTS:
      return Population::kAdults;
    case schema::Population::MIXED:
      return Population::kMixed;
  }
  return Population::kUnknown;
}

std::optional<uint32_t> Interner::Find(std::string_view name) const {
  auto it = index_.find(name);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::tuple<BeneficiaryIdx, NetworkIdx, CivilDay>> History::ToAssessment(
    const StoredEventView& view) {
  const auto body = view.event().getBody();
  if (!body.isAssessmentRecorded()) return std::nullopt;
  auto b = body.getAssessmentRecorded();
  return std::tuple(beneficiaries.Intern(b.getBeneficiary().getNiss().cStr()),
                    Network(b.getNetworkId()), view.event().getOccurredOn());
}

NetworkIdx History::Network(capnp::Text::Reader id) {
  const NetworkIdx n = networks.Intern(id.cStr());
  if (population.size() <= n) population.resize(n + 1, Population::kUnknown);
  return n;
}

Person History::PersonOf(schema::Beneficiary::Reader b) {
  return Person{beneficiaries.Intern(b.getNiss().cStr()), b.getBirthDay(), b.getBim()};
}

CareFunction FunctionOf(schema::CareFunction f) {
  return f == schema::CareFunction::TREATMENT ? CareFunction::kTreatment : CareFunction::kSupport;
}
bool SchoolCpms(schema::Location l, schema::Organiser o) {
  return l == schema::Location::SCHOOL && o == schema::Organiser::CPMS;
}

void History::Add(const StoredEventView& view) {
  using B = schema::Event::Body;
  const Seq seq = view.seq();
  last_seq_ = std::max(last_seq_, seq);
  const schema::Event::Reader ev = view.event();
  event_ids_.emplace_back(seq, ev.getId().cStr());
  const CivilDay day = ev.getOccurredOn();
  const auto body = ev.getBody();
  if (body.isNetworkRegistered() || body.isProviderEnrolled() || body.isProviderLeft() ||
      body.isRulesetPublished()) {
    static_seqs.push_back(seq);
  }
  switch (body.which()) {
    case B::NETWORK_REGISTERED: {
      auto b = body.getNetworkRegistered();
      const NetworkIdx n = Network(b.getNetworkId());
      // The first registration holds; the population is a fact of the network.
      if (population[n] == Population::kUnknown) {
        population[n] = PopulationOf(b.getPopulation());
      }
      registrations.push_back({seq, n, b.getName().cStr(), PopulationOf(b.getPopulation())});
      return;
    }
    case B::PROVIDER_ENROLLED: {
      auto b = body.getProviderEnrolled();
      enrolments[{providers.Intern(b.getProviderId().cStr()), Network(b.getNetworkId())}].push_back(
          {day, seq, true, RoleOf(b.getProfession())});
      return;
    }
    case B::PROVIDER_LEFT: {
      auto b = body.getProviderLeft();
      enrolments[{providers.Intern(b.getProviderId().cStr()), Network(b.getNetworkId())}].push_back(
          {day, seq, false});
      return;
    }
    case B::BUDGET_ALLOCATED: {
      auto b = body.getBudgetAllocated();
      budgets[{Network(b.getNetworkId()), b.getYear()}].push_back(
          {seq, Cents{b.getCareBudgetCents()}});
      return;
    }
    case B::RULESET_PUBLISHED:
      published_rulesets.emplace_back(seq, body.getRulesetPublished().getRulesetJson().cStr());
      return;
    case B::ASSESSMENT_RECORDED: {
      auto b = body.getAssessmentRecorded();
      const Person p = PersonOf(b.getBeneficiary());
      assessments[{p.who, Network(b.getNetworkId())}].push_back({day, seq});
      return;
    }
    case B::EVENT_VOIDED:
      voids_.emplace_back(seq, body.getEventVoided().getTarget().cStr());
      return;
    case B::INVOICE_ISSUED: {
      // What was billed: kept for replay/ (regularisations), not folded.
      auto b = body.getInvoiceIssued();
      issued_invoices.push_back(IssuedInvoice{seq,
                                              ev.getId().cStr(),
                                              day,
                                              b.getProviderId().cStr(),
                                              b.getMonth(),
                                              b.getRulesetId().cStr(),
                                              b.getRulesetVersion(),
                                              Cents{b.getFeeCents()},
                                              Cents{b.getCopayCents()},
                                              Cents{b.getInsurerCents()},
                                              b.getLines(),
                                              b.getLinesSha256().cStr(),
                                              {}});
      for (auto g : b.getRegularisations()) {
        issued_invoices.back().regularisations.push_back({g.getMonth(), Cents{g.getFeeCents()},
                                                          Cents{g.getCopayCents()},
                                                          Cents{g.getInsurerCents()}});
      }
      return;
    }
    case B::EXCEPTION_GRANTED:
    case B::SESSION_INDIVIDUAL:
    case B::SESSION_GROUP:
    case B::COMMUNITY_INTERVENTION:
    case B::SUPPORT_MISSION:
    case B::CONCERTATION_HELD:
      AddCare(view);
      return;
  }
}

void History::AddCare(const StoredEventView& view) {
  CareEvent c;
  if (ToCare(view, &c)) care.push_back(std::move(c));
}

bool History::ToCare(const StoredEventView& view, CareEvent* out) {
  using B = schema::Event::Body;
  const schema::Event::Reader ev = view.event();
  const auto body = ev.getBody();
  CareEvent& c = *out;
  c.seq = view.seq();
  c.day = ev.getOccurredOn();
  auto facilitators = [&](capnp::List<schema::Facilitator>::Reader list) {
    for (auto f : list) {
      c.facilitators.push_back({providers.Intern(f.getProviderId().cStr()), RoleOf(f.getRole())});
    }
  };
  switch (body.which()) {
    case B::SESSION_INDIVIDUAL: {
      auto b = body.getSessionIndividual();
      c.kind = CareKind::kIndividual;
      c.network = Network(b.getNetworkId());
      c.provider = providers.Intern(b.getProviderId().cStr());
      c.beneficiary = PersonOf(b.getBeneficiary());
      c.function = FunctionOf(b.getFunction());
      c.minutes = b.getMinutes();
      c.with_context = b.getWithContext();
      c.school_cpms = SchoolCpms(b.getLocation(), b.getOrganiser());
      break;
    }
    case B::SESSION_GROUP: {
      auto b = body.getSessionGroup();
      c.kind = CareKind::kGroup;
      facilitators(b.getFacilitators());
      c.network = Network(b.getNetworkId());
      c.function = FunctionOf(b.getFunction());
      c.minutes = b.getMinutes();
      c.school_cpms = SchoolCpms(b.getLocation(), b.getOrganiser());
      for (auto p : b.getParticipants()) c.participants.push_back(PersonOf(p));
      break;
    }
    case B::COMMUNITY_INTERVENTION: {
      auto b = body.getCommunityIntervention();
      c.kind = CareKind::kCommunity;
      facilitators(b.getFacilitators());
      c.network = Network(b.getNetworkId());
      c.minutes = b.getMinutes();
      c.interaction_minutes = b.getInteractionMinutes();
      c.participant_count = b.getParticipantCount();
      c.defined_group = b.getDefinedGroup();
      break;
    }
    case B::SUPPORT_MISSION: {
      auto b = body.getSupportMission();
      c.kind = CareKind::kMission;
      c.network = Network(b.getNetworkId());
      c.provider = providers.Intern(b.getProviderId().cStr());
      c.minutes = b.getMinutes();
      break;
    }
    case B::CONCERTATION_HELD: {
      auto b = body.getConcertationHeld();
      c.kind = CareKind::kConcertation;
      c.network = Network(b.getNetworkId());
      c.beneficiary = PersonOf(b.getBeneficiary());
      c.units = b.getUnits();
      for (auto p : b.getParticipants()) {
        ConcertationParticipant cp;
        if (p.getProviderId().size() > 0) cp.provider = providers.Intern(p.getProviderId().cStr());
        cp.care_provider = p.getCareProvider();
        c.concertation.push_back(cp);
      }
      break;
    }
    case B::EXCEPTION_GRANTED: {
      auto b = body.getExceptionGranted();
      c.kind = CareKind::kException;
      c.network = Network(b.getNetworkId());
      c.provider = providers.Intern(b.getProviderId().cStr());
      c.beneficiary = PersonOf(b.getBeneficiary());
      c.function = FunctionOf(b.getFunction());
      break;
    }
    default:
      return false;
  }
  return true;
}

const std::string& History::EventId(Seq seq) const {
  static const std::string kUnknown;
  // A history read from seq 1 holds every seq: the id is at seq - 1.
  if (seq >= 1 && seq <= event_ids_.size() && event_ids_[seq - 1].first == seq) {
    return event_ids_[seq - 1].second;
  }
  auto it =
      std::lower_bound(event_ids_.begin(), event_ids_.end(), seq,
                       [](const std::pair<Seq, std::string>& e, Seq s) { return e.first < s; });
  return it != event_ids_.end() && it->first == seq ? it->second : kUnknown;
}

void History::Seal() {
  std::sort(event_ids_.begin(), event_ids_.end());
  // A void can only target an earlier event, so walking voids from the newest down settles
  // each void's own status before it is applied: a voided void restores its target.
  std::unordered_map<std::string, Seq> targets;
  for (const auto& [seq, target] : voids_) targets.emplace(target, 0);
  for (const auto& [seq, id] : event_ids_) {
    auto it = targets.find(id);
    if (it != targets.end() && it->second == 0) it->second = seq;
  }
  for (auto it = voids_.rbegin(); it != voids_.rend(); ++it) {
    if (voided_.count(it->first)) continue;
    const Seq target = targets[it->second];
    if (target != 0) voided_.insert(target);
  }
}

Result<History> History::Load(const EventLog& log, Seq as_of) {
  History h;
  const Seq to = as_of == 0 ? UINT64_MAX : as_of;
  Status s = log.ReadRange(1, to, [&](const StoredEventView& v) {
    h.Add(v);
    return true;
  });
  if (!s) return s.error();
  h.Seal();
  return h;
}

}  // namespace ledger
