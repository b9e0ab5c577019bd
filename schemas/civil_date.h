// Civil dates (no time zone): the care date of an event, a birth date, a month.
// Stored as days since 1970-01-01 so that comparison and arithmetic are integer operations.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ledger {

struct CivilDate {
  int32_t year = 1970;
  int32_t month = 1;  // 1..12
  int32_t day = 1;    // 1..31
  auto operator<=>(const CivilDate&) const = default;
};

// Days since 1970-01-01 (may be negative).
using CivilDay = int32_t;

bool IsLeapYear(int32_t year);
int32_t DaysInMonth(int32_t year, int32_t month);
CivilDay ToDay(const CivilDate& d);
CivilDate FromDay(CivilDay day);

// Strict "YYYY-MM-DD" (years 1900..9999); nullopt for anything else or a date that does
// not exist (2023-02-29).
std::optional<CivilDate> ParseDate(std::string_view text);
std::string FormatDate(const CivilDate& d);
inline std::string FormatDay(CivilDay day) { return FormatDate(FromDay(day)); }

// Months as year * 100 + month; strict "YYYY-MM".
std::optional<int32_t> ParseMonth(std::string_view text);
std::string FormatMonth(int32_t yyyymm);

// UTC microseconds since the epoch -> "2024-05-01T12:00:00.123456Z"; and the civil day (UTC).
std::string FormatTimestampUs(int64_t micros);
CivilDay DayOfTimestampUs(int64_t micros);
std::optional<int64_t> ParseTimestampUs(std::string_view rfc3339);

}  // namespace ledger
