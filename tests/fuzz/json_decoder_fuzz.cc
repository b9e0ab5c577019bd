// libFuzzer target for the event JSON decoder (schemas/json_codec.h). Properties, on any input:
//  - decoding never crashes, leaks or hits undefined behaviour (ASan, UBSan);
//  - a refusal carries a message;
//  - an accepted event round-trips: its JSON decodes again, to the same Cap'n Proto event
//    (canonical bytes), and encodes to the same JSON.
// A broken property aborts, which libFuzzer reports as a crash with the input saved.
//
// Build and run: see tests/CMakeLists.txt (LEDGER_FUZZ). Seeds: tests/fuzz/corpus/.
#include <capnp/message.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "schemas/civil_date.h"
#include "schemas/json_codec.h"

namespace {

// A fixed recording day, so that a run is reproducible: dates up to it are accepted.
const ledger::CivilDay kRecordingDay = ledger::ToDay({2030, 12, 31});

[[noreturn]] void Broken(const char* property, const std::string& a, const std::string& b) {
  std::fprintf(stderr, "json_decoder_fuzz: %s\n  first:  %s\n  second: %s\n", property, a.c_str(),
               b.c_str());
  std::abort();
}

bool SameCanonical(ledger::schema::Event::Reader a, ledger::schema::Event::Reader b) {
  kj::Array<capnp::word> x = capnp::canonicalize(a);
  kj::Array<capnp::word> y = capnp::canonicalize(b);
  return x.asBytes() == y.asBytes();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto decoded = ledger::DecodeEventJson(text, 0, kRecordingDay);
  if (!decoded) {
    if (decoded.error().message.empty()) Broken("a refusal without a message", "", "");
    return 0;
  }
  const std::string json = boost::json::serialize(ledger::EncodeEvent(decoded->event()));
  auto again = ledger::DecodeEventJson(json, 0, kRecordingDay);
  if (!again) Broken("encoded JSON does not decode again", json, again.error().ToString());
  const std::string json_again = boost::json::serialize(ledger::EncodeEvent(again->event()));
  if (json_again != json) Broken("JSON does not round-trip", json, json_again);
  if (!SameCanonical(decoded->event(), again->event())) {
    Broken("the re-decoded event differs from the first", json, json_again);
  }
  return 0;
}
