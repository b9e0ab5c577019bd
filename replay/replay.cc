#include "replay/replay.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <charconv>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>

#include "projections/fold.h"

namespace ledger {
namespace json = boost::json;

Amounts operator-(const Amounts& a, const Amounts& b) {
  return {a.fee - b.fee, a.copay - b.copay, a.insurer - b.insurer};
}

Result<CandidateStanding> CheckCandidate(const RulesetCatalog& in_force, const Ruleset& candidate) {
  const Ruleset* current = in_force.Find(candidate.id);
  if (!current) return CandidateStanding::kNewId;
  if (candidate.version > current->version) return CandidateStanding::kSupersedes;
  if (candidate.version == current->version && candidate.document == current->document) {
    return CandidateStanding::kInForce;
  }
  return Error{ErrorCode::kConflict,
               "ruleset " + candidate.Label() + " is not higher than the version in force (" +
                   current->Label() + "); a revision needs version " +
                   std::to_string(current->version + 1) + " or more",
               -1, "", "version"};
}

std::string FormatEuros(Cents c) {
  const int64_t v = c.value;
  const uint64_t abs = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s%llu.%02llu", v < 0 ? "-" : "",
                static_cast<unsigned long long>(abs / 100),
                static_cast<unsigned long long>(abs % 100));
  return buf;
}

}  // namespace ledger
