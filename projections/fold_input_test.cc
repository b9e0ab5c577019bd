// The one translation of event kinds for the folds, void settlement and the beneficiaries of a
// care event.
#include "projections/fold_input.h"

#include <gtest/gtest.h>

#include <vector>

namespace ledger {
namespace {

using B = schema::Event::Body;

TEST(FoldInputTest, EveryKindHasOneRoleAndCareKindsTheirCareKind) {
  EXPECT_EQ(FoldInputOf(B::NETWORK_REGISTERED), FoldInput::kNetwork);
  EXPECT_EQ(FoldInputOf(B::PROVIDER_ENROLLED), FoldInput::kEnrolment);
  EXPECT_EQ(FoldInputOf(B::PROVIDER_LEFT), FoldInput::kEnrolment);
  EXPECT_EQ(FoldInputOf(B::RULESET_PUBLISHED), FoldInput::kRuleset);
  EXPECT_EQ(FoldInputOf(B::BUDGET_ALLOCATED), FoldInput::kBudget);
  EXPECT_EQ(FoldInputOf(B::ASSESSMENT_RECORDED), FoldInput::kAssessment);
  EXPECT_EQ(FoldInputOf(B::EVENT_VOIDED), FoldInput::kVoid);
  EXPECT_EQ(FoldInputOf(B::INVOICE_ISSUED), FoldInput::kIssuedInvoice);
  const std::vector<std::pair<B::Which, CareKind>> care = {
      {B::SESSION_INDIVIDUAL, CareKind::kIndividual},
      {B::SESSION_GROUP, CareKind::kGroup},
      {B::COMMUNITY_INTERVENTION, CareKind::kCommunity},
      {B::SUPPORT_MISSION, CareKind::kMission},
      {B::CONCERTATION_HELD, CareKind::kConcertation},
      {B::EXCEPTION_GRANTED, CareKind::kException}};
  for (const auto& [which, kind] : care) {
    EXPECT_EQ(FoldInputOf(which), FoldInput::kCare);
    EXPECT_EQ(CareKindOf(which), kind);
  }
  EXPECT_TRUE(IsKnownKind(static_cast<uint8_t>(B::INVOICE_ISSUED)));
  EXPECT_FALSE(IsKnownKind(static_cast<uint8_t>(B::INVOICE_ISSUED) + 1));
}

TEST(FoldInputTest, ContextAndStaticFacts) {
  EXPECT_TRUE(IsFoldContext(FoldInput::kNetwork));
  EXPECT_TRUE(IsFoldContext(FoldInput::kEnrolment));
  EXPECT_TRUE(IsFoldContext(FoldInput::kRuleset));
  EXPECT_FALSE(IsFoldContext(FoldInput::kBudget));
  EXPECT_FALSE(IsFoldContext(FoldInput::kVoid));
  EXPECT_TRUE(IsStaticFact(FoldInput::kBudget));
  EXPECT_TRUE(IsStaticFact(FoldInput::kVoid));
  EXPECT_FALSE(IsStaticFact(FoldInput::kCare));
  EXPECT_FALSE(IsStaticFact(FoldInput::kAssessment));
  EXPECT_FALSE(IsStaticFact(FoldInput::kIssuedInvoice));
}

TEST(FoldInputTest, AVoidedVoidRestoresItsTarget) {
  // 5 voids 2; 7 voids 5 (so 2 stands again); 9 voids 3; 10 voids an event not in the log.
  const std::vector<std::pair<Seq, Seq>> voids = {{5, 2}, {7, 5}, {9, 3}, {10, 0}};
  const auto voided = SettleVoids(voids);
  EXPECT_EQ(voided, (std::unordered_set<Seq>{5, 3}));
  // Without the void of the void, 2 is voided.
  const std::vector<std::pair<Seq, Seq>> one = {{5, 2}};
  EXPECT_EQ(SettleVoids(one), (std::unordered_set<Seq>{2}));
}

TEST(FoldInputTest, EachBeneficiaryOfACareEventOnce) {
  auto of = [](const CareEvent& c) {
    std::vector<BeneficiaryIdx> out;
    ForEachBeneficiary(c, [&](BeneficiaryIdx who) { out.push_back(who); });
    return out;
  };
  CareEvent group;
  group.kind = CareKind::kGroup;
  group.participants = {Person{4, 0, false}, Person{1, 0, false}, Person{4, 0, false}};
  EXPECT_EQ(of(group), (std::vector<BeneficiaryIdx>{4, 1}));
  for (CareKind k : {CareKind::kIndividual, CareKind::kConcertation, CareKind::kException}) {
    CareEvent c;
    c.kind = k;
    c.beneficiary = Person{7, 0, false};
    EXPECT_EQ(of(c), (std::vector<BeneficiaryIdx>{7}));
  }
  for (CareKind k : {CareKind::kCommunity, CareKind::kMission}) {
    CareEvent c;
    c.kind = k;
    EXPECT_TRUE(of(c).empty());
  }
}

}  // namespace
}  // namespace ledger
