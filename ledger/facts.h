// The facts of an event that a fold of the convention reads, in a compact form written beside
// the event, in the same atomic write (EventLog, column family `facts`). A replay of the whole
// log reads these instead of decoding every stored event: tens of bytes an event instead of
// hundreds, no decompression, no Cap'n Proto.
//
// Facts are derived data: the events remain the record. Each appended event has exactly one
// record; `verify` re-encodes every event and checks it against its record, so facts that do
// not say what the events say are found like a broken hash chain.
//
// Layout (ledger/README.md): one value per written chunk of events, keyed by the chunk's first
// seq (8 bytes BE): u8 format (kFactsFormat), u32 count, then `count` records in seq order.
// A record: u8 tag (schema::Event::Body::Which), i32 occurred_on, then by tag:
//   network_registered     str network, u8 population
//   provider_enrolled/left str provider, str network
//   ruleset_published      str32 ruleset_json
//   assessment_recorded    str network, person
//   exception_granted      str provider, str network, person, u8 function
//   session_individual     str provider, str network, person, u8 function, u8 location,
//                          u8 organiser, u8 with_context
//   session_group          u32 n, n × (str provider, u8 role), str network, u8 function,
//                          i32 minutes, u8 location, u8 organiser, u32 m, m × person
//   community_intervention u32 n, n × (str provider, u8 role), str network, i32 minutes,
//                          i32 interaction_minutes, i32 participant_count, u8 defined_group
//   support_mission        str provider, str network, i32 minutes
//   concertation_held      str network, person, i32 units, u32 n, n × (str provider,
//                          u8 care_provider)
//   event_voided           u64 the target's seq
//   budget_allocated, invoice_issued: nothing more (not folded into lines)
// where str is u16 length + bytes (ids are short; 0xffff then u32 length for a longer one), str32
// u32 length + bytes, and a person is u64 NISS value (11 digits), or kOddNiss followed by str (a
// NISS that is not 11 digits, never expected), then i32 birth day and u8 bim. Integers are
// little-endian. Enums are the schema's numbers.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "schemas/event.capnp.h"

namespace ledger {

inline constexpr uint8_t kFactsFormat = 1;
inline constexpr size_t kFactsHeaderBytes = 5;  // format, count
inline constexpr uint64_t kOddNiss = UINT64_MAX;
inline constexpr uint16_t kLongStr = 0xffff;

// Appends the record of `event` to `out`. `void_target`: for an event.voided, its target's seq.
void AppendFactRecord(schema::Event::Reader event, uint64_t void_target, std::string* out);

struct FactPerson {
  uint64_t niss = 0;     // the NISS's value, or kOddNiss
  std::string_view odd;  // the NISS as written, when niss == kOddNiss
  int32_t birth = 0;
  bool bim = false;
};

// Reads records field by field, in the order above. A read past the end sets !ok() and gives
// zeros; callers check ok() after a record.
class FactReader {
 public:
  explicit FactReader(std::string_view records) : p_(records.data()), end_(p_ + records.size()) {}
  bool ok() const { return ok_; }
  bool done() const { return p_ == end_; }
  const char* position() const { return p_; }

  uint8_t U8() { return Fixed<uint8_t>(); }
  int32_t I32() { return Fixed<int32_t>(); }
  uint32_t U32() { return Fixed<uint32_t>(); }
  uint64_t U64() { return Fixed<uint64_t>(); }
  std::string_view Str() {
    const uint16_t n = Fixed<uint16_t>();
    return Bytes(n == kLongStr ? Fixed<uint32_t>() : n);
  }
  std::string_view Str32() { return Bytes(Fixed<uint32_t>()); }
  FactPerson Person() {
    FactPerson p;
    p.niss = U64();
    if (p.niss == kOddNiss) p.odd = Str();
    p.birth = I32();
    p.bim = U8() != 0;
    return p;
  }

 private:
  template <typename T>
  T Fixed() {
    T v{};
    if (static_cast<size_t>(end_ - p_) < sizeof(T)) {
      ok_ = false;
      p_ = end_;
      return v;
    }
    std::memcpy(&v, p_, sizeof(T));  // little-endian hosts only (checked in facts.cc)
    p_ += sizeof(T);
    return v;
  }
  std::string_view Bytes(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) {
      ok_ = false;
      p_ = end_;
      return {};
    }
    std::string_view s(p_, n);
    p_ += n;
    return s;
  }

  const char* p_;
  const char* end_;
  bool ok_ = true;
};

}  // namespace ledger
