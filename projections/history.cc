#include "projections/history.h"

#include <algorithm>
#include <cassert>

#include "projections/fold_input.h"

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
  const Seq seq = view.seq();
  last_seq_ = std::max(last_seq_, seq);
  const schema::Event::Reader ev = view.event();
  event_ids_.emplace_back(seq, ev.getId().cStr());
  const CivilDay day = ev.getOccurredOn();
  const auto body = ev.getBody();
  const FoldInput input = FoldInputOf(body.which());
  if (IsFoldContext(input)) static_seqs.push_back(seq);
  switch (input) {
    case FoldInput::kNetwork:
      return AddNetwork(seq, body.getNetworkRegistered());
    case FoldInput::kEnrolment: {
      const bool enrolled = body.isProviderEnrolled();
      const auto provider = enrolled ? body.getProviderEnrolled().getProviderId()
                                     : body.getProviderLeft().getProviderId();
      const auto network = enrolled ? body.getProviderEnrolled().getNetworkId()
                                    : body.getProviderLeft().getNetworkId();
      EnrolmentEvent e{day, seq, enrolled};
      if (enrolled) e.profession = RoleOf(body.getProviderEnrolled().getProfession());
      enrolments[{providers.Intern(provider.cStr()), Network(network)}].push_back(e);
      return;
    }
    case FoldInput::kBudget: {
      auto b = body.getBudgetAllocated();
      budgets[{Network(b.getNetworkId()), b.getYear()}].push_back(
          {seq, Cents{b.getCareBudgetCents()}});
      return;
    }
    case FoldInput::kRuleset:
      published_rulesets.emplace_back(seq, body.getRulesetPublished().getRulesetJson().cStr());
      return;
    case FoldInput::kAssessment: {
      auto b = body.getAssessmentRecorded();
      const Person p = PersonOf(b.getBeneficiary());
      assessments[{p.who, Network(b.getNetworkId())}].push_back({day, seq});
      return;
    }
    case FoldInput::kVoid:
      voids_.emplace_back(seq, body.getEventVoided().getTarget().cStr());
      return;
    case FoldInput::kIssuedInvoice:
      return AddIssuedInvoice(seq, ev);
    case FoldInput::kCare:
      AddCare(view);
      return;
  }
}

void History::AddNetwork(Seq seq, schema::NetworkRegistered::Reader b) {
  const NetworkIdx n = Network(b.getNetworkId());
  // The first registration holds; the population is a fact of the network.
  if (population[n] == Population::kUnknown) population[n] = PopulationOf(b.getPopulation());
  registrations.push_back({seq, n, b.getName().cStr(), PopulationOf(b.getPopulation())});
}

// What was billed: kept for replay/ (regularisations), not folded.
void History::AddIssuedInvoice(Seq seq, schema::Event::Reader ev) {
  auto b = ev.getBody().getInvoiceIssued();
  issued_invoices.push_back(IssuedInvoice{seq,
                                          ev.getId().cStr(),
                                          ev.getOccurredOn(),
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
}

void History::AddCare(const StoredEventView& view) {
  CareEvent c;
  if (ToCare(view, &c)) care.push_back(std::move(c));
}

bool History::ToCare(const StoredEventView& view, CareEvent* out) {
  const schema::Event::Reader ev = view.event();
  const auto body = ev.getBody();
  if (FoldInputOf(body.which()) != FoldInput::kCare) return false;
  CareEvent& c = *out;
  c.seq = view.seq();
  c.day = ev.getOccurredOn();
  c.kind = CareKindOf(body.which());
  auto facilitators = [&](capnp::List<schema::Facilitator>::Reader list) {
    for (auto f : list) {
      c.facilitators.push_back({providers.Intern(f.getProviderId().cStr()), RoleOf(f.getRole())});
    }
  };
  switch (c.kind) {
    case CareKind::kIndividual: {
      auto b = body.getSessionIndividual();
      c.network = Network(b.getNetworkId());
      c.provider = providers.Intern(b.getProviderId().cStr());
      c.beneficiary = PersonOf(b.getBeneficiary());
      c.function = FunctionOf(b.getFunction());
      c.minutes = b.getMinutes();
      c.with_context = b.getWithContext();
      c.school_cpms = SchoolCpms(b.getLocation(), b.getOrganiser());
      return true;
    }
    case CareKind::kGroup: {
      auto b = body.getSessionGroup();
      facilitators(b.getFacilitators());
      c.network = Network(b.getNetworkId());
      c.function = FunctionOf(b.getFunction());
      c.minutes = b.getMinutes();
      c.school_cpms = SchoolCpms(b.getLocation(), b.getOrganiser());
      for (auto p : b.getParticipants()) c.participants.push_back(PersonOf(p));
      return true;
    }
    case CareKind::kCommunity: {
      auto b = body.getCommunityIntervention();
      facilitators(b.getFacilitators());
      c.network = Network(b.getNetworkId());
      c.minutes = b.getMinutes();
      c.interaction_minutes = b.getInteractionMinutes();
      c.participant_count = b.getParticipantCount();
      c.defined_group = b.getDefinedGroup();
      return true;
    }
    case CareKind::kMission: {
      auto b = body.getSupportMission();
      c.network = Network(b.getNetworkId());
      c.provider = providers.Intern(b.getProviderId().cStr());
      c.minutes = b.getMinutes();
      return true;
    }
    case CareKind::kConcertation: {
      auto b = body.getConcertationHeld();
      c.network = Network(b.getNetworkId());
      c.beneficiary = PersonOf(b.getBeneficiary());
      c.units = b.getUnits();
      for (auto p : b.getParticipants()) {
        ConcertationParticipant cp;
        if (p.getProviderId().size() > 0) cp.provider = providers.Intern(p.getProviderId().cStr());
        cp.care_provider = p.getCareProvider();
        c.concertation.push_back(cp);
      }
      return true;
    }
    case CareKind::kException: {
      auto b = body.getExceptionGranted();
      c.network = Network(b.getNetworkId());
      c.provider = providers.Intern(b.getProviderId().cStr());
      c.beneficiary = PersonOf(b.getBeneficiary());
      c.function = FunctionOf(b.getFunction());
      return true;
    }
  }
  return false;
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
  // Void targets by id -> seq (the first event with that id; 0 when it is not held).
  std::unordered_map<std::string, Seq> targets;
  for (const auto& [seq, target] : voids_) targets.emplace(target, 0);
  for (const auto& [seq, id] : event_ids_) {
    auto it = targets.find(id);
    if (it != targets.end() && it->second == 0) it->second = seq;
  }
  std::vector<std::pair<Seq, Seq>> voids;
  voids.reserve(voids_.size());
  for (const auto& [seq, target] : voids_) voids.emplace_back(seq, targets[target]);
  std::sort(voids.begin(), voids.end());  // Add() takes events in any order
  for (Seq seq : SettleVoids(voids)) voided_.insert(seq);
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
