#include "schemas/civil_date.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <random>
#include <string>

namespace ledger {
namespace {

constexpr int64_t kUsPerDay = 86400LL * 1000000LL;

TEST(CivilDateTest, LeapYears) {
  EXPECT_FALSE(IsLeapYear(1900));
  EXPECT_TRUE(IsLeapYear(2000));
  EXPECT_TRUE(IsLeapYear(2024));
  EXPECT_FALSE(IsLeapYear(2023));
  EXPECT_FALSE(IsLeapYear(2100));
  EXPECT_TRUE(IsLeapYear(2400));
  EXPECT_TRUE(IsLeapYear(1996));
}

TEST(CivilDateTest, DaysInMonth) {
  constexpr int32_t kCommon[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  for (int32_t m = 1; m <= 12; ++m) {
    EXPECT_EQ(DaysInMonth(2023, m), kCommon[m - 1]) << "month " << m;
    EXPECT_EQ(DaysInMonth(2024, m), m == 2 ? 29 : kCommon[m - 1]) << "month " << m;
  }
  EXPECT_EQ(DaysInMonth(1900, 2), 28);
  EXPECT_EQ(DaysInMonth(2000, 2), 29);
}

TEST(CivilDateTest, KnownAnchors) {
  EXPECT_EQ(ToDay({1970, 1, 1}), 0);
  EXPECT_EQ(ToDay({1969, 12, 31}), -1);
  EXPECT_EQ(ToDay({1970, 1, 2}), 1);
  EXPECT_EQ(ToDay({1900, 1, 1}), -25567);
  EXPECT_EQ(ToDay({2000, 2, 29}), 11016);
  EXPECT_EQ(ToDay({2000, 3, 1}), 11017);
  EXPECT_EQ(ToDay({2024, 2, 29}), 19782);
  EXPECT_EQ(ToDay({2100, 12, 31}), 47846);
  EXPECT_EQ(ToDay({9999, 12, 31}), 2932896);

  EXPECT_EQ(FromDay(0), (CivilDate{1970, 1, 1}));
  EXPECT_EQ(FromDay(-1), (CivilDate{1969, 12, 31}));
  EXPECT_EQ(FromDay(11017), (CivilDate{2000, 3, 1}));
  EXPECT_EQ(FromDay(-25567), (CivilDate{1900, 1, 1}));
  EXPECT_EQ(FromDay(19782), (CivilDate{2024, 2, 29}));
}

TEST(CivilDateTest, EveryDayFrom1900To2100RoundTripsAndIsConsecutive) {
  const CivilDay first = ToDay({1900, 1, 1});
  const CivilDay last = ToDay({2100, 12, 31});
  CivilDate expected{1900, 1, 1};
  int64_t count = 0;
  for (CivilDay day = first; day <= last; ++day) {
    const CivilDate d = FromDay(day);
    ASSERT_EQ(d, expected) << "day " << day;
    ASSERT_EQ(ToDay(d), day) << FormatDate(d);
    // The next calendar date, computed independently of FromDay.
    if (++expected.day > DaysInMonth(expected.year, expected.month)) {
      expected.day = 1;
      if (++expected.month > 12) {
        expected.month = 1;
        ++expected.year;
      }
    }
    ++count;
  }
  // 201 years, of which 49 are leap years (1900 and 2100 are not).
  EXPECT_EQ(count, 201 * 365 + 49);
}

TEST(CivilDateTest, FormatDate) {
  EXPECT_EQ(FormatDate({2024, 2, 9}), "2024-02-09");
  EXPECT_EQ(FormatDate({1900, 12, 31}), "1900-12-31");
  EXPECT_EQ(FormatDay(0), "1970-01-01");
  EXPECT_EQ(FormatDay(11017), "2000-03-01");
}

TEST(CivilDateTest, ParseDateAcceptsRealDates) {
  EXPECT_EQ(ParseDate("2024-02-29"), (CivilDate{2024, 2, 29}));
  EXPECT_EQ(ParseDate("2000-02-29"), (CivilDate{2000, 2, 29}));
  EXPECT_EQ(ParseDate("1900-01-01"), (CivilDate{1900, 1, 1}));
  EXPECT_EQ(ParseDate("9999-12-31"), (CivilDate{9999, 12, 31}));
  EXPECT_EQ(ParseDate("2023-12-31"), (CivilDate{2023, 12, 31}));
}

TEST(CivilDateTest, ParseDateIsStrict) {
  for (const char* bad : {
           "2023-02-29",   // not a leap year
           "1900-02-29",   // not a leap year either
           "2024-02-30",   // never exists
           "2024-04-31",   // April has 30 days
           "2024-1-01",    // one-digit month
           "2024-01-1",    // one-digit day
           "2024-01-01x",  // trailing garbage
           " 2024-01-01",  // leading space
           "abcd-01-01",   // not digits
           "2024-13-01",   // month 13
           "2024-00-10",   // month 0
           "2024-01-00",   // day 0
           "2024-01-32",   // day 32
           "1899-12-31",   // before 1900
           "0000-01-01",   // year 0
           "2024/01/01",   // wrong separators
           "20240101",     // no separators
           "+024-01-01",   // a sign is not a digit
           "2024-0a-01",   // not digits
           "",             // empty
       }) {
    EXPECT_EQ(ParseDate(bad), std::nullopt) << '"' << bad << '"';
  }
}

TEST(CivilDateTest, ParseDateRoundTripsFormatDate) {
  for (CivilDay day = ToDay({1900, 1, 1}); day <= ToDay({2100, 12, 31}); day += 37) {
    const std::string text = FormatDay(day);
    const auto parsed = ParseDate(text);
    ASSERT_TRUE(parsed.has_value()) << text;
    EXPECT_EQ(ToDay(*parsed), day) << text;
  }
}

TEST(CivilDateTest, ParseMonth) {
  EXPECT_EQ(ParseMonth("2024-05"), 202405);
  EXPECT_EQ(ParseMonth("1900-01"), 190001);
  EXPECT_EQ(ParseMonth("2024-12"), 202412);
  for (const char* bad : {"2024-13", "2024-00", "2024-5", "1899-12", "2024-05-01", "2024/05",
                          "24-05", "abcd-05", "2024-0x", "2024-05 ", ""}) {
    EXPECT_EQ(ParseMonth(bad), std::nullopt) << '"' << bad << '"';
  }
}

TEST(CivilDateTest, FormatMonthRoundTripsParseMonth) {
  EXPECT_EQ(FormatMonth(202405), "2024-05");
  EXPECT_EQ(FormatMonth(190012), "1900-12");
  for (int32_t year = 1900; year <= 2100; ++year) {
    for (int32_t month = 1; month <= 12; ++month) {
      const int32_t yyyymm = year * 100 + month;
      const std::string text = FormatMonth(yyyymm);
      ASSERT_EQ(ParseMonth(text), yyyymm) << text;
    }
  }
}

TEST(CivilDateTest, FormatTimestampUs) {
  EXPECT_EQ(FormatTimestampUs(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatTimestampUs(1), "1970-01-01T00:00:00.000001Z");
  EXPECT_EQ(FormatTimestampUs(1714564800123456), "2024-05-01T12:00:00.123456Z");
  EXPECT_EQ(FormatTimestampUs(1735689599999999), "2024-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatTimestampUs(1735689600000000), "2025-01-01T00:00:00.000000Z");
}

TEST(CivilDateTest, ParseTimestampUs) {
  EXPECT_EQ(ParseTimestampUs("2024-05-01T12:00:00.123456Z"), 1714564800123456);
  EXPECT_EQ(ParseTimestampUs("2024-05-01T12:00:00Z"), 1714564800000000);
  EXPECT_EQ(ParseTimestampUs("2024-05-01T12:00:00.5Z"), 1714564800500000);
  EXPECT_EQ(ParseTimestampUs("2024-05-01T12:00:00.000123Z"), 1714564800000123);
  EXPECT_EQ(ParseTimestampUs("2024-05-01t12:00:00Z"), 1714564800000000);
  EXPECT_EQ(ParseTimestampUs("1970-01-01T00:00:00.000000Z"), 0);
  for (const char* bad : {
           "2024-05-01T12:00:00",           // no zone
           "2024-05-01T12:00:00+01:00",     // not UTC
           "2024-05-01 12:00:00Z",          // no T
           "2024-05-01T24:00:00Z",          // hour 24
           "2024-05-01T12:60:00Z",          // minute 60
           "2024-05-01T12:00:60Z",          // second 60
           "2024-05-01T12:00:00.Z",         // empty fraction
           "2024-05-01T12:00:00.1234567Z",  // more than microseconds
           "2024-05-01T12:00:00,5Z",        // comma
           "2024-02-30T12:00:00Z",          // no such date
           "2024-05-01T1a:00:00Z",          // not digits
           "2024-05-01T12-00-00Z",          // wrong separators
           "",
       }) {
    EXPECT_EQ(ParseTimestampUs(bad), std::nullopt) << '"' << bad << '"';
  }
}

TEST(CivilDateTest, TimestampRoundTrip) {
  std::mt19937_64 rng(20240501);
  // 1970-01-01 .. 2100-12-31 (negative timestamps are not needed).
  std::uniform_int_distribution<int64_t> dist(0, (ToDay({2101, 1, 1}) * kUsPerDay) - 1);
  for (int i = 0; i < 5000; ++i) {
    const int64_t us = dist(rng);
    const std::string text = FormatTimestampUs(us);
    ASSERT_EQ(text.size(), 27u) << text;
    ASSERT_EQ(ParseTimestampUs(text), us) << text;
  }
}

TEST(CivilDateTest, DayOfTimestampUs) {
  EXPECT_EQ(DayOfTimestampUs(0), 0);
  EXPECT_EQ(DayOfTimestampUs(kUsPerDay - 1), 0);
  EXPECT_EQ(DayOfTimestampUs(kUsPerDay), 1);
  EXPECT_EQ(DayOfTimestampUs(-1), -1);
  EXPECT_EQ(DayOfTimestampUs(-kUsPerDay), -1);
  EXPECT_EQ(DayOfTimestampUs(-kUsPerDay - 1), -2);
  EXPECT_EQ(DayOfTimestampUs(1714564800123456), ToDay({2024, 5, 1}));
  EXPECT_EQ(DayOfTimestampUs(1735689599999999), ToDay({2024, 12, 31}));
  EXPECT_EQ(DayOfTimestampUs(1735689600000000), ToDay({2025, 1, 1}));
}

}  // namespace
}  // namespace ledger
