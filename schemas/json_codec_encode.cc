// Cap'n Proto -> JSON (json_codec.h): one function per event kind, dispatched by an exhaustive
// switch, in the contract's field order.
#include <string>

#include "schemas/json_codec.h"
#include "schemas/json_codec_reader.h"

namespace ledger {
namespace json = boost::json;
using schema::Event;
using namespace codec;  // NOLINT: this file is the codec

namespace {

json::object EncodeBeneficiary(schema::Beneficiary::Reader b) {
  json::object o;
  o["niss"] = std::string_view(b.getNiss().cStr(), b.getNiss().size());
  o["birth_date"] = FormatDay(b.getBirthDay());
  o["bim"] = b.getBim();
  return o;
}

json::array EncodeFacilitators(capnp::List<schema::Facilitator>::Reader list) {
  json::array a;
  for (auto f : list) {
    json::object o;
    o["provider_id"] = f.getProviderId().cStr();
    o["role"] = NameOf(kProfessions, f.getRole());
    a.emplace_back(std::move(o));
  }
  return a;
}

void EncodeOrganiser(json::object& o, schema::Organiser org) {
  if (org != schema::Organiser::NONE) o["organiser"] = NameOf(kOrganisers, org);
}

void EncodeNetworkRegistered(Event::Body::Reader body, json::object& o) {
  auto b = body.getNetworkRegistered();
  o["network_id"] = b.getNetworkId().cStr();
  o["name"] = b.getName().cStr();
  o["population"] = NameOf(kPopulations, b.getPopulation());
}

void EncodeProviderEnrolled(Event::Body::Reader body, json::object& o) {
  auto b = body.getProviderEnrolled();
  o["provider_id"] = b.getProviderId().cStr();
  o["network_id"] = b.getNetworkId().cStr();
  o["profession"] = NameOf(kProfessions, b.getProfession());
}

void EncodeProviderLeft(Event::Body::Reader body, json::object& o) {
  auto b = body.getProviderLeft();
  o["provider_id"] = b.getProviderId().cStr();
  o["network_id"] = b.getNetworkId().cStr();
}

void EncodeBudgetAllocated(Event::Body::Reader body, json::object& o) {
  auto b = body.getBudgetAllocated();
  o["network_id"] = b.getNetworkId().cStr();
  o["year"] = b.getYear();
  o["care_budget_cents"] = b.getCareBudgetCents();
}

void EncodeRulesetPublished(Event::Body::Reader body, json::object& o) {
  auto b = body.getRulesetPublished();
  boost::system::error_code ec;
  o["ruleset"] = json::parse(b.getRulesetJson().cStr(), ec);
  o["reason"] = b.getReason().cStr();
}

void EncodeAssessmentRecorded(Event::Body::Reader body, json::object& o) {
  auto b = body.getAssessmentRecorded();
  o["provider_id"] = b.getProviderId().cStr();
  o["network_id"] = b.getNetworkId().cStr();
  o["beneficiary"] = EncodeBeneficiary(b.getBeneficiary());
}

void EncodeExceptionGranted(Event::Body::Reader body, json::object& o) {
  auto b = body.getExceptionGranted();
  o["provider_id"] = b.getProviderId().cStr();
  o["network_id"] = b.getNetworkId().cStr();
  o["beneficiary"] = EncodeBeneficiary(b.getBeneficiary());
  o["function"] = NameOf(kFunctions, b.getFunction());
  o["reason"] = b.getReason().cStr();
}

void EncodeSessionIndividual(Event::Body::Reader body, json::object& o) {
  auto b = body.getSessionIndividual();
  o["provider_id"] = b.getProviderId().cStr();
  o["network_id"] = b.getNetworkId().cStr();
  o["beneficiary"] = EncodeBeneficiary(b.getBeneficiary());
  o["function"] = NameOf(kFunctions, b.getFunction());
  o["minutes"] = b.getMinutes();
  o["location"] = NameOf(kLocations, b.getLocation());
  if (b.getWithContext()) o["with_context"] = true;
  EncodeOrganiser(o, b.getOrganiser());
}

void EncodeSessionGroup(Event::Body::Reader body, json::object& o) {
  auto b = body.getSessionGroup();
  o["facilitators"] = EncodeFacilitators(b.getFacilitators());
  o["network_id"] = b.getNetworkId().cStr();
  o["function"] = NameOf(kFunctions, b.getFunction());
  o["minutes"] = b.getMinutes();
  o["location"] = NameOf(kLocations, b.getLocation());
  json::array ps;
  for (auto p : b.getParticipants()) ps.emplace_back(EncodeBeneficiary(p));
  o["participants"] = std::move(ps);
  EncodeOrganiser(o, b.getOrganiser());
}

void EncodeCommunityIntervention(Event::Body::Reader body, json::object& o) {
  auto b = body.getCommunityIntervention();
  o["facilitators"] = EncodeFacilitators(b.getFacilitators());
  o["network_id"] = b.getNetworkId().cStr();
  o["minutes"] = b.getMinutes();
  o["interaction_minutes"] = b.getInteractionMinutes();
  o["participant_count"] = b.getParticipantCount();
  if (b.getDefinedGroup()) o["defined_group"] = true;
  o["host"] = b.getHost().cStr();
}

void EncodeSupportMission(Event::Body::Reader body, json::object& o) {
  auto b = body.getSupportMission();
  o["provider_id"] = b.getProviderId().cStr();
  o["network_id"] = b.getNetworkId().cStr();
  o["minutes"] = b.getMinutes();
  o["kind"] = NameOf(kMissionKinds, b.getKind());
}

void EncodeConcertationHeld(Event::Body::Reader body, json::object& o) {
  auto b = body.getConcertationHeld();
  o["network_id"] = b.getNetworkId().cStr();
  o["beneficiary"] = EncodeBeneficiary(b.getBeneficiary());
  o["units"] = b.getUnits();
  json::array ps;
  for (auto p : b.getParticipants()) {
    json::object po;
    if (p.getProviderId().size() > 0) po["provider_id"] = p.getProviderId().cStr();
    po["role"] = p.getRole().cStr();
    po["care_provider"] = p.getCareProvider();
    ps.emplace_back(std::move(po));
  }
  o["participants"] = std::move(ps);
}

void EncodeEventVoided(Event::Body::Reader body, json::object& o) {
  auto b = body.getEventVoided();
  o["target"] = b.getTarget().cStr();
  o["reason"] = b.getReason().cStr();
}

void EncodeInvoiceIssued(Event::Body::Reader body, json::object& o) {
  auto b = body.getInvoiceIssued();
  o["provider_id"] = b.getProviderId().cStr();
  o["month"] = FormatMonth(b.getMonth());
  json::object rs;
  rs["id"] = b.getRulesetId().cStr();
  rs["version"] = b.getRulesetVersion();
  o["ruleset"] = std::move(rs);
  o["fee_cents"] = b.getFeeCents();
  o["copay_cents"] = b.getCopayCents();
  o["insurer_cents"] = b.getInsurerCents();
  o["lines"] = b.getLines();
  if (b.getLinesSha256().size() > 0) o["lines_sha256"] = b.getLinesSha256().cStr();
  if (b.getRegularisations().size() > 0) {
    json::array regs;
    for (auto g : b.getRegularisations()) {
      regs.emplace_back(json::object{{"month", FormatMonth(g.getMonth())},
                                     {"fee_cents", g.getFeeCents()},
                                     {"copay_cents", g.getCopayCents()},
                                     {"insurer_cents", g.getInsurerCents()}});
    }
    o["regularisations"] = std::move(regs);
  }
}

void EncodeBody(Event::Body::Reader body, json::object& o) {
  switch (body.which()) {
    case Event::Body::NETWORK_REGISTERED:
      return EncodeNetworkRegistered(body, o);
    case Event::Body::PROVIDER_ENROLLED:
      return EncodeProviderEnrolled(body, o);
    case Event::Body::PROVIDER_LEFT:
      return EncodeProviderLeft(body, o);
    case Event::Body::BUDGET_ALLOCATED:
      return EncodeBudgetAllocated(body, o);
    case Event::Body::RULESET_PUBLISHED:
      return EncodeRulesetPublished(body, o);
    case Event::Body::ASSESSMENT_RECORDED:
      return EncodeAssessmentRecorded(body, o);
    case Event::Body::EXCEPTION_GRANTED:
      return EncodeExceptionGranted(body, o);
    case Event::Body::SESSION_INDIVIDUAL:
      return EncodeSessionIndividual(body, o);
    case Event::Body::SESSION_GROUP:
      return EncodeSessionGroup(body, o);
    case Event::Body::COMMUNITY_INTERVENTION:
      return EncodeCommunityIntervention(body, o);
    case Event::Body::SUPPORT_MISSION:
      return EncodeSupportMission(body, o);
    case Event::Body::CONCERTATION_HELD:
      return EncodeConcertationHeld(body, o);
    case Event::Body::EVENT_VOIDED:
      return EncodeEventVoided(body, o);
    case Event::Body::INVOICE_ISSUED:
      return EncodeInvoiceIssued(body, o);
  }
}

}  // namespace

json::object EncodeEvent(Event::Reader event) {
  json::object o;
  o["id"] = event.getId().cStr();
  o["type"] = EventTypeName(event.getBody().which());
  o["occurred_on"] = FormatDay(event.getOccurredOn());
  EncodeBody(event.getBody(), o);
  return o;
}

json::object EncodeStoredEvent(schema::StoredEvent::Reader stored, std::string_view hash_hex) {
  json::object o;
  o["seq"] = stored.getSeq();
  for (auto& kv : EncodeEvent(stored.getEvent())) o[kv.key()] = kv.value();
  o["recorded_at"] = FormatTimestampUs(stored.getRecordedAtUs());
  o["hash"] = hash_hex;
  return o;
}

}  // namespace ledger
