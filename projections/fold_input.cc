#include "projections/fold_input.h"

#include <vector>

#include "schemas/invariant.h"

namespace ledger {

FoldInput FoldInputOf(schema::Event::Body::Which kind) {
  using B = schema::Event::Body;
  switch (kind) {
    case B::NETWORK_REGISTERED:
      return FoldInput::kNetwork;
    case B::PROVIDER_ENROLLED:
    case B::PROVIDER_LEFT:
      return FoldInput::kEnrolment;
    case B::RULESET_PUBLISHED:
      return FoldInput::kRuleset;
    case B::BUDGET_ALLOCATED:
      return FoldInput::kBudget;
    case B::ASSESSMENT_RECORDED:
      return FoldInput::kAssessment;
    case B::EXCEPTION_GRANTED:
    case B::SESSION_INDIVIDUAL:
    case B::SESSION_GROUP:
    case B::COMMUNITY_INTERVENTION:
    case B::SUPPORT_MISSION:
    case B::CONCERTATION_HELD:
      return FoldInput::kCare;
    case B::EVENT_VOIDED:
      return FoldInput::kVoid;
    case B::INVOICE_ISSUED:
      return FoldInput::kIssuedInvoice;
  }
  return FoldInput::kIssuedInvoice;  // a kind of a newer writer: not folded, as a History reads it
}

bool IsKnownKind(uint8_t tag) {
  return tag <= static_cast<uint8_t>(schema::Event::Body::INVOICE_ISSUED);  // the union's last
}

CareKind CareKindOf(schema::Event::Body::Which kind) {
  using B = schema::Event::Body;
  switch (kind) {
    case B::SESSION_INDIVIDUAL:
      return CareKind::kIndividual;
    case B::SESSION_GROUP:
      return CareKind::kGroup;
    case B::COMMUNITY_INTERVENTION:
      return CareKind::kCommunity;
    case B::SUPPORT_MISSION:
      return CareKind::kMission;
    case B::CONCERTATION_HELD:
      return CareKind::kConcertation;
    case B::EXCEPTION_GRANTED:
      return CareKind::kException;
    case B::NETWORK_REGISTERED:
    case B::PROVIDER_ENROLLED:
    case B::PROVIDER_LEFT:
    case B::RULESET_PUBLISHED:
    case B::BUDGET_ALLOCATED:
    case B::ASSESSMENT_RECORDED:
    case B::EVENT_VOIDED:
    case B::INVOICE_ISSUED:
      break;
  }
  LEDGER_ASSERT(false && "CareKindOf of an event that is not a care event");
  return CareKind::kIndividual;
}

bool IsFoldContext(FoldInput input) {
  switch (input) {
    case FoldInput::kNetwork:
    case FoldInput::kEnrolment:
    case FoldInput::kRuleset:
      return true;
    case FoldInput::kBudget:
    case FoldInput::kAssessment:
    case FoldInput::kCare:
    case FoldInput::kVoid:
    case FoldInput::kIssuedInvoice:
      return false;
  }
  return false;
}

bool IsStaticFact(FoldInput input) {
  switch (input) {
    case FoldInput::kNetwork:
    case FoldInput::kEnrolment:
    case FoldInput::kRuleset:
    case FoldInput::kBudget:
    case FoldInput::kVoid:
      return true;
    case FoldInput::kAssessment:
    case FoldInput::kCare:
    case FoldInput::kIssuedInvoice:
      return false;
  }
  return false;
}

std::unordered_set<Seq> SettleVoids(std::span<const std::pair<Seq, Seq>> voids) {
  std::unordered_set<Seq> voided;
  for (size_t i = voids.size(); i-- > 0;) {
    const auto [seq, target] = voids[i];
    if (i > 0) LEDGER_ASSERT(voids[i - 1].first < seq);  // in seq order, as documented
    if (voided.count(seq)) continue;
    if (target != 0) voided.insert(target);
  }
  return voided;
}

}  // namespace ledger
