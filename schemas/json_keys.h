// Duplicate keys. JSON allows an object to name a key twice, and Boost.JSON (like most parsers)
// keeps the last value silently. For a recorded fact that is ambiguous input ("niss" given
// twice: which one did the sender mean?), so the decoders refuse it. This scans the text with
// Boost.JSON's own SAX parser (basic_parser), building nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ledger {

struct DuplicateKey {
  // For a top-level array (an HTTP batch), the element holding it; -1 otherwise.
  int64_t index = -1;
  // The field path in the codec's notation, within the event: "beneficiary.niss",
  // "participants[1].niss".
  std::string path;
};

// The first key repeated within one object of `text`, if any. Malformed JSON has none here:
// the parse that follows reports it.
std::optional<DuplicateKey> FindDuplicateKey(std::string_view text);

}  // namespace ledger
