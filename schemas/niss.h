// The Belgian national number (NISS / INSZ), and BIS numbers, which use the same check.
// A NISS is personal data: never log it, never put it in a metric or an error message.
#pragma once

#include <optional>
#include <string_view>

namespace ledger {

// True when `niss` is 11 digits whose last two equal 97 - (first nine mod 97); for people
// born from 2000 on the nine digits are prefixed with 2 first. When the birth year is known
// the matching variant alone is accepted; when it is not (a query by NISS), either.
bool IsValidNiss(std::string_view niss, std::optional<int> birth_year = std::nullopt);

// True when the date part of `niss` (its first six digits, YYMMDD) agrees with a birth on
// year-month-day. In a BIS number the month is raised by 20 or 40. A month of 00 (20 or 40 in
// a BIS number) or a day of 00 says that part of the birth date is unknown: it is not compared,
// the rest is. The century is not in the digits: IsValidNiss decides it from the check number.
// A month that is no encoding of one (13-19, 33-39, over 52) or a day over 31 matches nothing.
// `niss` must be 11 digits (IsValidNiss).
bool NissMatchesBirthDate(std::string_view niss, int year, int month, int day);

}  // namespace ledger
