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
// Inline: the folds call it for every line.
inline CivilDate FromDay(CivilDay day) {
  int64_t z = static_cast<int64_t>(day) + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = yoe + era * 400;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp + (mp < 10 ? 3 : -9);
  return CivilDate{static_cast<int32_t>(y + (m <= 2)), static_cast<int32_t>(m),
                   static_cast<int32_t>(d)};
}

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
