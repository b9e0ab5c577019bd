#include "schemas/niss.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace ledger {
namespace {

// Builds an 11-digit NISS from its first nine digits with the check number of the rule:
// 97 - (nine digits mod 97), with 2 prefixed to the nine digits for births from 2000.
std::string WithCheck(const std::string& nine, bool born_from_2000) {
  int64_t base = std::stoll(nine);
  if (born_from_2000) base += 2000000000LL;
  const int check = static_cast<int>(97 - base % 97);  // 1..97
  return nine + (check < 10 ? "0" : "") + std::to_string(check);
}

struct KnownNiss {
  const char* niss;
  int birth_year;
};

// The beneficiaries of the shared cases (shared/domain/cases).
constexpr KnownNiss kKnown[] = {
    {"90031210192", 1990}, {"03070120206", 2003}, {"80113004536", 1980}, {"75061533358", 1975},
    {"85090901709", 1985}, {"70012012276", 1970}, {"88120105504", 1988},
};

TEST(NissTest, WithCheckReproducesTheSharedCases) {
  for (const auto& k : kKnown) {
    const std::string niss = k.niss;
    EXPECT_EQ(WithCheck(niss.substr(0, 9), k.birth_year >= 2000), niss);
  }
}

TEST(NissTest, SharedCasesAreValidWithTheirBirthYear) {
  for (const auto& k : kKnown) {
    EXPECT_TRUE(IsValidNiss(k.niss, k.birth_year)) << k.niss;
    EXPECT_TRUE(IsValidNiss(k.niss)) << k.niss;
  }
}

TEST(NissTest, SharedCasesAreInvalidForTheOtherCentury) {
  for (const auto& k : kKnown) {
    const int other = k.birth_year >= 2000 ? k.birth_year - 100 : k.birth_year + 100;
    EXPECT_FALSE(IsValidNiss(k.niss, other)) << k.niss << " as born " << other;
  }
}

TEST(NissTest, AnyOneDigitChangeIsInvalid) {
  for (const auto& k : kKnown) {
    const std::string niss = k.niss;
    for (size_t pos = 0; pos < niss.size(); ++pos) {
      for (char digit = '0'; digit <= '9'; ++digit) {
        if (digit == niss[pos]) continue;
        std::string changed = niss;
        changed[pos] = digit;
        EXPECT_FALSE(IsValidNiss(changed, k.birth_year)) << changed;
      }
    }
  }
}

TEST(NissTest, CenturyVariantsAreDistinguishedByBirthYear) {
  // 2003-07-01 and 1903-07-01, serial 202: the same nine digits, two different check numbers.
  const std::string from_2000 = WithCheck("030701202", true);
  const std::string before_2000 = WithCheck("030701202", false);
  ASSERT_NE(from_2000, before_2000);
  EXPECT_TRUE(IsValidNiss(from_2000, 2003));
  EXPECT_FALSE(IsValidNiss(from_2000, 1903));
  EXPECT_TRUE(IsValidNiss(before_2000, 1903));
  EXPECT_FALSE(IsValidNiss(before_2000, 2003));

  // A 1999 birth and a 2000 birth around the boundary.
  const std::string late_1999 = WithCheck("991231123", false);
  const std::string new_2000 = WithCheck("000101123", true);
  EXPECT_TRUE(IsValidNiss(late_1999, 1999));
  EXPECT_FALSE(IsValidNiss(late_1999, 2099));
  EXPECT_TRUE(IsValidNiss(new_2000, 2000));
  EXPECT_FALSE(IsValidNiss(new_2000, 1900));
  EXPECT_FALSE(IsValidNiss(WithCheck("000101123", false), 2000));
}

TEST(NissTest, WithoutBirthYearEitherVariantIsAccepted) {
  EXPECT_TRUE(IsValidNiss(WithCheck("030701202", true)));
  EXPECT_TRUE(IsValidNiss(WithCheck("030701202", false)));
  EXPECT_TRUE(IsValidNiss(WithCheck("851224567", false), std::nullopt));
  EXPECT_TRUE(IsValidNiss(WithCheck("851224567", true), std::nullopt));
  EXPECT_FALSE(IsValidNiss("90031210193"));
}

TEST(NissTest, BisNumbersWithCorrectCheckAreValid) {
  // BIS numbers: the month is increased by 20 (sex unknown) or 40 (sex known).
  const std::string bis20 = WithCheck("902312101", false);
  const std::string bis40 = WithCheck("904312101", false);
  const std::string bis40_from_2000 = WithCheck("054506333", true);
  EXPECT_TRUE(IsValidNiss(bis20, 1990)) << bis20;
  EXPECT_TRUE(IsValidNiss(bis40, 1990)) << bis40;
  EXPECT_TRUE(IsValidNiss(bis40_from_2000, 2005)) << bis40_from_2000;
  EXPECT_FALSE(IsValidNiss(bis40_from_2000, 1905)) << bis40_from_2000;
  std::string wrong = bis20;
  wrong[10] = wrong[10] == '0' ? '1' : '0';
  EXPECT_FALSE(IsValidNiss(wrong, 1990)) << wrong;
}

TEST(NissTest, CheckNumber97IsValid) {
  // Nine digits that are a multiple of 97 give the check number 97 (never 00).
  const std::string nine = "000000097";
  EXPECT_EQ(WithCheck(nine, false), "00000009797");
  EXPECT_TRUE(IsValidNiss("00000009797", 1900));
  EXPECT_FALSE(IsValidNiss("00000009700", 1900));
}

TEST(NissTest, WrongLengthIsInvalid) {
  EXPECT_FALSE(IsValidNiss(""));
  EXPECT_FALSE(IsValidNiss("9003121019", 1990));    // 10 digits
  EXPECT_FALSE(IsValidNiss("900312101920", 1990));  // 12 digits
  EXPECT_FALSE(IsValidNiss("090031210192", 1990));  // leading zero added
  EXPECT_FALSE(IsValidNiss("90031210192 ", 1990));
}

TEST(NissTest, NonDigitsAreInvalid) {
  EXPECT_FALSE(IsValidNiss("90.03.12-101.92", 1990));  // the printed form
  EXPECT_FALSE(IsValidNiss("9003121019a", 1990));
  EXPECT_FALSE(IsValidNiss("a0031210192", 1990));
  EXPECT_FALSE(IsValidNiss("-9003121019", 1990));
  EXPECT_FALSE(IsValidNiss("+9003121019", 1990));
  EXPECT_FALSE(IsValidNiss(" 9003121019", 1990));
  EXPECT_FALSE(IsValidNiss(std::string("9003121019\0", 11), 1990));
}

TEST(NissTest, TheDateDigitsMustMatchTheBirthDate) {
  EXPECT_TRUE(NissMatchesBirthDate("90031210192", 1990, 3, 12));
  EXPECT_FALSE(NissMatchesBirthDate("90031210192", 1990, 3, 13));
  EXPECT_FALSE(NissMatchesBirthDate("90031210192", 1990, 4, 12));
  EXPECT_FALSE(NissMatchesBirthDate("90031210192", 1991, 3, 12));
  // Only the last two digits of the year are in the number; the check number decides the rest.
  EXPECT_TRUE(NissMatchesBirthDate("03070120206", 2003, 7, 1));
  EXPECT_TRUE(NissMatchesBirthDate("03070120206", 1903, 7, 1));
}

TEST(NissTest, BisMonthsAreRaisedBy20Or40) {
  EXPECT_TRUE(NissMatchesBirthDate(WithCheck("902312101", false), 1990, 3, 12));
  EXPECT_TRUE(NissMatchesBirthDate(WithCheck("904312101", false), 1990, 3, 12));
  EXPECT_TRUE(NissMatchesBirthDate(WithCheck("055206333", true), 2005, 12, 6));
  EXPECT_FALSE(NissMatchesBirthDate(WithCheck("904312101", false), 1990, 4, 12));
  EXPECT_FALSE(NissMatchesBirthDate(WithCheck("902312101", false), 1990, 23, 12));
}

TEST(NissTest, AnUnknownMonthOrDayIsNotCompared) {
  for (const char* unknown_month : {"900012101", "902012101", "904012101"}) {
    const std::string niss = WithCheck(unknown_month, false);
    for (int month = 1; month <= 12; ++month) {
      EXPECT_TRUE(NissMatchesBirthDate(niss, 1990, month, 12)) << niss << " " << month;
    }
    EXPECT_FALSE(NissMatchesBirthDate(niss, 1990, 5, 13)) << niss;
    EXPECT_FALSE(NissMatchesBirthDate(niss, 1989, 5, 12)) << niss;
  }
  const std::string day_unknown = WithCheck("900300101", false);
  EXPECT_TRUE(NissMatchesBirthDate(day_unknown, 1990, 3, 31));
  EXPECT_FALSE(NissMatchesBirthDate(day_unknown, 1990, 2, 1));
  const std::string year_only = WithCheck("900000101", false);
  EXPECT_TRUE(NissMatchesBirthDate(year_only, 1990, 11, 30));
  EXPECT_FALSE(NissMatchesBirthDate(year_only, 1991, 11, 30));
}

TEST(NissTest, DigitsThatEncodeNoDateMatchNothing) {
  for (const char* nine : {"901312101", "901912101", "903312101", "905312101", "909912101",
                           "900332101", "900399101"}) {
    const std::string niss = WithCheck(nine, false);
    for (int month = 1; month <= 12; ++month) {
      for (int day = 1; day <= 31; ++day) {
        EXPECT_FALSE(NissMatchesBirthDate(niss, 1990, month, day)) << niss;
      }
    }
  }
}

}  // namespace
}  // namespace ledger
