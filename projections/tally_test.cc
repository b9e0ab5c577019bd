// Tallies of invoice lines: what they add, what they take back, and their encoding.
#include "projections/tally.h"

#include <gtest/gtest.h>

namespace ledger {
namespace {

LineRecord Billable(int64_t fee, int64_t copay, SpendFunction f) {
  LineRecord l;
  l.fee = Cents{fee};
  l.copay = Cents{copay};
  l.insurer = Cents{fee - copay};
  l.spend = f;
  return l;
}
LineRecord Unbillable(Reason why) {
  LineRecord l;
  l.reason = why;
  return l;
}

TEST(Tally, AddsBillableAmountsAndCountsUnbillableLinesByReason) {
  LineTally t;
  t.Add(Billable(8669, 1100, SpendFunction::kSupport));
  t.Add(Billable(23118, 0, SpendFunction::kTreatment));
  t.Add(Billable(2167, 0, SpendFunction::kConcertation));
  t.Add(Unbillable(Reason::kCounterExhausted));
  t.Add(Unbillable(Reason::kCounterExhausted));
  t.Add(Unbillable(Reason::kDailyLimit));
  EXPECT_EQ(t.fee.value, 8669 + 23118 + 2167);
  EXPECT_EQ(t.copay.value, 1100);
  EXPECT_EQ(t.insurer.value, 7569 + 23118 + 2167);
  EXPECT_EQ(t.billable_lines, 3);
  EXPECT_EQ(t.unbillable_lines, 3);
  EXPECT_EQ(t.unbillable_by_reason[static_cast<size_t>(Reason::kCounterExhausted)], 2);
  EXPECT_EQ(t.insurer_by_function[static_cast<size_t>(SpendFunction::kTreatment)].value, 23118);
  EXPECT_TRUE(t.consistent());
  // Taking lines back (a line replaced or voided) returns to nothing.
  LineTally u = t;
  u.Add(Billable(8669, 1100, SpendFunction::kSupport), -1);
  u.Add(Billable(23118, 0, SpendFunction::kTreatment), -1);
  u.Add(Billable(2167, 0, SpendFunction::kConcertation), -1);
  for (Reason r : {Reason::kCounterExhausted, Reason::kCounterExhausted, Reason::kDailyLimit}) {
    u.Add(Unbillable(r), -1);
  }
  EXPECT_EQ(u, LineTally{});
  EXPECT_TRUE(u.empty());
  LineTally sum;
  sum += t;
  sum += t;
  EXPECT_EQ(sum.fee.value, 2 * t.fee.value);
  EXPECT_EQ(sum.unbillable_by_reason,
            (std::array<int64_t, kReasonCount>{0, 0, 0, 0, 0, 2, 4, 0, 0, 0}));
}

TEST(Tally, EncodingRoundTripsAndIsCheckedWhereRead) {
  LineTally t;
  t.Add(Billable(8669, 400, SpendFunction::kSupport));
  t.Add(Unbillable(Reason::kNoAssessment));
  LineTally back;
  ASSERT_TRUE(DecodeTally(EncodeTally(t), &back));
  EXPECT_EQ(back, t);
  EXPECT_FALSE(DecodeTally(EncodeTally(t).substr(0, 40), &back));
  // A record that does not conserve (fee != copay + insurer) is refused.
  LineTally broken = t;
  broken.fee.value += 1;
  EXPECT_FALSE(broken.consistent());
  EXPECT_FALSE(DecodeTally(EncodeTally(broken), &back));
  LineTally by_function = t;
  by_function.insurer_by_function[0].value += 5;
  EXPECT_FALSE(DecodeTally(EncodeTally(by_function), &back));
}

}  // namespace
}  // namespace ledger
