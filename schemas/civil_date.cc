#include "schemas/civil_date.h"

#include <cstdio>

namespace ledger {
namespace {

bool ParseDigits(std::string_view s, int32_t* out) {
  int32_t v = 0;
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

// Howard Hinnant's days_from_civil / civil_from_days.
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

}  // namespace

bool IsLeapYear(int32_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int32_t DaysInMonth(int32_t year, int32_t month) {
  static constexpr int32_t kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && IsLeapYear(year)) return 29;
  return kDays[month - 1];
}

CivilDay ToDay(const CivilDate& d) {
  return static_cast<CivilDay>(DaysFromCivil(d.year, d.month, d.day));
}

std::optional<CivilDate> ParseDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  CivilDate d;
  if (!ParseDigits(s.substr(0, 4), &d.year) || !ParseDigits(s.substr(5, 2), &d.month) ||
      !ParseDigits(s.substr(8, 2), &d.day)) {
    return std::nullopt;
  }
  if (d.year < 1900 || d.month < 1 || d.month > 12 || d.day < 1 ||
      d.day > DaysInMonth(d.year, d.month)) {
    return std::nullopt;
  }
  return d;
}

std::string FormatDate(const CivilDate& d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", d.year, d.month, d.day);
  return buf;
}

std::optional<int32_t> ParseMonth(std::string_view s) {
  int32_t y = 0, m = 0;
  if (s.size() != 7 || s[4] != '-' || !ParseDigits(s.substr(0, 4), &y) ||
      !ParseDigits(s.substr(5, 2), &m) || y < 1900 || m < 1 || m > 12) {
    return std::nullopt;
  }
  return y * 100 + m;
}

std::string FormatMonth(int32_t yyyymm) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d", yyyymm / 100, yyyymm % 100);
  return buf;
}

CivilDay DayOfTimestampUs(int64_t micros) {
  constexpr int64_t kUsPerDay = 86400LL * 1000000LL;
  int64_t day = micros / kUsPerDay;
  if (micros % kUsPerDay < 0) --day;
  return static_cast<CivilDay>(day);
}

std::string FormatTimestampUs(int64_t micros) {
  constexpr int64_t kUsPerDay = 86400LL * 1000000LL;
  const CivilDay day = DayOfTimestampUs(micros);
  const int64_t in_day = micros - static_cast<int64_t>(day) * kUsPerDay;
  const int64_t secs = in_day / 1000000, us = in_day % 1000000;
  const CivilDate d = FromDay(day);
  char buf[96];  // room for any int32 year, as the compiler checks
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", d.year, d.month, d.day,
                static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60),
                static_cast<int>(secs % 60), static_cast<long long>(us));
  return buf;
}

std::optional<int64_t> ParseTimestampUs(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.ffffff]Z (UTC only).
  if (s.size() < 20 || s.back() != 'Z' || (s[10] != 'T' && s[10] != 't')) return std::nullopt;
  auto date = ParseDate(s.substr(0, 10));
  int32_t h = 0, mi = 0, se = 0;
  if (!date || s[13] != ':' || s[16] != ':' || !ParseDigits(s.substr(11, 2), &h) ||
      !ParseDigits(s.substr(14, 2), &mi) || !ParseDigits(s.substr(17, 2), &se) || h > 23 ||
      mi > 59 || se > 59) {
    return std::nullopt;
  }
  int64_t us = 0;
  std::string_view rest = s.substr(19, s.size() - 20);
  if (!rest.empty()) {
    if (rest[0] != '.' || rest.size() < 2 || rest.size() > 7) return std::nullopt;
    int32_t frac = 0;
    if (!ParseDigits(rest.substr(1), &frac)) return std::nullopt;
    us = frac;
    for (size_t i = rest.size() - 1; i < 6; ++i) us *= 10;
  }
  return (static_cast<int64_t>(ToDay(*date)) * 86400 + h * 3600 + mi * 60 + se) * 1000000LL + us;
}

}  // namespace ledger
