#include "schemas/niss.h"

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

}  // namespace ledger
