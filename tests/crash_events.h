// The events of the crash test (tests/crash_test.cc and its child, crash_append_child):
// valid session.individual events with distinct ids and NISS from a small fixed set.
#pragma once

#include <cstdint>
#include <string>

namespace ledger::crash {

struct Person {
  const char* niss;
  const char* birth_date;
};
// Valid NISS from the shared cases.
inline constexpr Person kPeople[] = {
    {"88120105504", "1988-12-01"}, {"90031210192", "1990-03-12"}, {"80113004536", "1980-11-30"},
    {"75061533358", "1975-06-15"}, {"85090901709", "1985-09-09"},
};

// Event `i` of a batch whose ids start with `prefix`: "<prefix><i>".
inline std::string SessionJson(const std::string& prefix, uint64_t i) {
  const Person& p = kPeople[i % (sizeof(kPeople) / sizeof(kPeople[0]))];
  return R"({"id": ")" + prefix + std::to_string(i) +
         R"(", "type": "session.individual", "occurred_on": "2024-06-03", "provider_id": "P-100", )"
         R"("network_id": "N-1", "beneficiary": {"niss": ")" +
         p.niss + R"(", "birth_date": ")" + p.birth_date +
         R"(", "bim": false}, "function": "support", "minutes": )" + std::to_string(30 + i % 60) +
         R"(, "location": "practice"})";
}

// The prefix of the ids of the child's batch `batch`, and of the parent's own batch `round`.
inline std::string ChildPrefix(uint64_t batch) { return "b" + std::to_string(batch) + "-"; }
inline std::string ParentPrefix(uint64_t round) { return "p" + std::to_string(round) + "-"; }

}  // namespace ledger::crash
