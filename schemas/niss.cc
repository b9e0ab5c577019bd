#include "schemas/niss.h"

#include <cassert>
#include <cstdint>

namespace ledger {

bool IsValidNiss(std::string_view niss, std::optional<int> birth_year) {
  if (niss.size() != 11) return false;
  int64_t base = 0, check = 0;
  for (size_t i = 0; i < 11; ++i) {
    const char c = niss[i];
    if (c < '0' || c > '9') return false;
    if (i < 9) {
      base = base * 10 + (c - '0');
    } else {
      check = check * 10 + (c - '0');
    }
  }
  const bool before_2000 = check == 97 - base % 97;
  const bool from_2000 = check == 97 - (2000000000LL + base) % 97;
  if (!birth_year) return before_2000 || from_2000;
  return *birth_year >= 2000 ? from_2000 : before_2000;
}

bool NissMatchesBirthDate(std::string_view niss, int year, int month, int day) {
  assert(niss.size() == 11);
  auto two = [&](size_t at) { return (niss[at] - '0') * 10 + (niss[at + 1] - '0'); };
  const int yy = two(0), mm = two(2), dd = two(4);
  if (yy != year % 100) return false;
  // 00 (a NISS), 20 and 40 (BIS numbers): the month is unknown.
  if (mm != 0 && mm != 20 && mm != 40) {
    const int offset = mm > 40 ? 40 : mm > 20 ? 20 : 0;
    const int encoded = mm - offset;
    if (encoded > 12 || encoded != month) return false;
  }
  return dd == 0 || dd == day;
}

}  // namespace ledger
