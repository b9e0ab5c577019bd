// The network directory: enrolment periods, the providers listed on a day or ever, and the
// records' encodings.
#include "projections/directory.h"

#include <gtest/gtest.h>

namespace ledger {
namespace {

CivilDay D(int y, int m, int d) { return ToDay({y, m, d}); }

TEST(Directory, EnrolmentPeriodsFollowTheEventsInDateOrder) {
  // Out of order; a second enrolment while enrolled changes nothing; a departure closes the
  // period on its day; a departure while not enrolled is ignored; re-enrolment opens another.
  const std::vector<EnrolmentEvent> events = {
      {D(2024, 6, 30), 9, false},
      {D(2022, 1, 1), 2, true, Role::kOrthopedagogue},
      {D(2023, 1, 1), 5, true, Role::kPsychologist},
      {D(2021, 1, 1), 1, false},
      {D(2025, 2, 1), 12, true, Role::kOther},
  };
  const auto periods = EnrolmentPeriods(events);
  ASSERT_EQ(periods.size(), 2u);
  EXPECT_EQ(periods[0].from, D(2022, 1, 1));
  EXPECT_EQ(periods[0].to, std::optional<CivilDay>(D(2024, 6, 30)));
  EXPECT_EQ(periods[0].profession, Role::kOrthopedagogue);
  EXPECT_EQ(periods[1].from, D(2025, 2, 1));
  EXPECT_FALSE(periods[1].to.has_value());
  EXPECT_EQ(periods[1].profession, Role::kOther);
  // Same day: by seq (left, then enrolled again: enrolled).
  const auto same_day = EnrolmentPeriods(
      {{D(2024, 1, 1), 3, true}, {D(2024, 5, 1), 8, true}, {D(2024, 5, 1), 7, false}});
  ASSERT_EQ(same_day.size(), 2u);
  EXPECT_EQ(same_day[0].to, std::optional<CivilDay>(D(2024, 5, 1)));
  EXPECT_EQ(same_day[1].from, D(2024, 5, 1));
}

TEST(Directory, FirstDifferenceIsTheFirstDayEnrolmentDiffers) {
  const std::vector<EnrolmentPeriod> open = {{D(2021, 9, 1), std::nullopt, Role::kPsychologist}};
  // The same coverage with another profession, or split in two adjacent periods: no day.
  EXPECT_EQ(FirstDifference(open, {{D(2021, 9, 1), std::nullopt, Role::kOther}}), std::nullopt);
  EXPECT_EQ(FirstDifference(open, {{D(2021, 9, 1), D(2023, 1, 31)}, {D(2023, 2, 1), std::nullopt}}),
            std::nullopt);
  EXPECT_EQ(FirstDifference({}, {}), std::nullopt);
  // Closed: from the day after it left. Opened later: from the first day. Either way round.
  const std::vector<EnrolmentPeriod> left = {{D(2021, 9, 1), D(2024, 6, 30)}};
  EXPECT_EQ(FirstDifference(open, left), D(2024, 7, 1));
  EXPECT_EQ(FirstDifference(left, open), D(2024, 7, 1));
  EXPECT_EQ(FirstDifference(open, {{D(2022, 3, 1), std::nullopt}}), D(2021, 9, 1));
  EXPECT_EQ(FirstDifference({}, left), D(2021, 9, 1));
  // A gap in the middle.
  EXPECT_EQ(FirstDifference(open, {{D(2021, 9, 1), D(2022, 1, 9)}, {D(2022, 2, 1), std::nullopt}}),
            D(2022, 1, 10));
}

TEST(Directory, ProvidersListedOnADayOrEver) {
  const std::vector<EnrolmentRecord> periods = {
      {"P-1", "N", Role::kPsychologist, D(2022, 1, 1), D(2023, 12, 31)},
      {"P-1", "N", Role::kPsychologist, D(2024, 3, 1), std::nullopt},
      {"P-2", "N", Role::kOther, D(2022, 6, 1), D(2022, 12, 31)},
      {"P-3", "N", Role::kOrthopedagogue, D(2024, 1, 1), std::nullopt},
  };
  auto ever = ProvidersListed(periods, std::nullopt);
  ASSERT_EQ(ever.size(), 3u);
  EXPECT_EQ(ever[0].provider_id, "P-1");
  EXPECT_EQ(ever[0].enrolled_on, D(2024, 3, 1));  // the latest period
  auto on = ProvidersListed(periods, D(2022, 12, 31));
  ASSERT_EQ(on.size(), 2u);
  EXPECT_EQ(on[0].left_on, std::optional<CivilDay>(D(2023, 12, 31)));
  EXPECT_EQ(on[1].provider_id, "P-2");
  EXPECT_TRUE(ProvidersListed(periods, D(2021, 1, 1)).empty());
  EXPECT_EQ(ProvidersListed(periods, D(2024, 2, 1)).size(), 1u);  // P-3 alone: P-1 had left
}

TEST(Directory, RecordsRoundTripAndRefuseGarbage) {
  const NetworkRecord n{"N-ADULT-01", "Antwerpen adults", Population::kAdults};
  NetworkRecord back;
  ASSERT_TRUE(DecodeNetwork(EncodeNetwork(n), &back));
  EXPECT_EQ(back.network_id, n.network_id);
  EXPECT_EQ(back.name, n.name);
  EXPECT_EQ(back.population, n.population);
  std::string bad = EncodeNetwork(n);
  bad.back() = 9;  // no such population
  EXPECT_FALSE(DecodeNetwork(bad, &back));
  EXPECT_FALSE(DecodeNetwork(EncodeNetwork(n).substr(1), &back));

  const std::vector<EnrolmentPeriod> p = {{D(2021, 9, 1), D(2024, 3, 31), Role::kOther},
                                          {D(1969, 12, 31), std::nullopt, Role::kPsychologist}};
  std::vector<EnrolmentPeriod> q;
  ASSERT_TRUE(DecodePeriods(EncodePeriods(p), &q));
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(q[0].from, p[0].from);
  EXPECT_EQ(q[0].to, p[0].to);
  EXPECT_EQ(q[1].from, p[1].from);
  EXPECT_FALSE(q[1].to.has_value());
  EXPECT_FALSE(DecodePeriods(EncodePeriods(p) + "x", &q));
  EXPECT_FALSE(DecodePeriods("", &q));
  EXPECT_STREQ(PopulationName(Population::kMixed), "mixed");
  EXPECT_STREQ(ProfessionName(Role::kOrthopedagogue), "orthopedagogue");
}

}  // namespace
}  // namespace ledger
