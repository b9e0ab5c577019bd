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

}  // namespace ledger
