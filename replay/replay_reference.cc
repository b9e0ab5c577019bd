// The reference dry run: two full projections (Project) merge-joined by DiffProjections.
#include <cassert>
#include <map>
#include <thread>

#include "replay/line_diff.h"
#include "replay/replay.h"
#include "schemas/invariant.h"

namespace ledger {
using namespace line_diff;  // NOLINT: the comparison this file makes

namespace {

// Accumulates matched lines (either side may be missing) into provider-month buckets, which
// arrive contiguously because both sides are in LineOrder, and network-year totals.
class DiffBuilder {
 public:
  DiffBuilder(const History& h, ReplayReport* out) : h_(h), out_(*out) {}

  void Add(const Line* before, const Line* after) {
    const Line& any = before ? *before : *after;
    const int32_t month = MonthOf(any.day);
    if (!open_ || any.provider != provider_ || month != month_) {
      Flush();
      open_ = true;
      provider_ = any.provider;
      month_ = month;
      bucket_ = ProviderMonthDiff{};
    }
    const auto [b, a] = AddCompared(before, after, &bucket_);
    auto& [consumed_b, consumed_a] = consumed_[{any.network, FromDay(any.day).year}];
    consumed_b += b.insurer;
    consumed_a += a.insurer;
    ++out_.lines_compared;
  }

  void Finish() {
    Flush();
    for (const auto& [key, consumed] : consumed_) {
      if (consumed.first == consumed.second) continue;
      out_.network_years.push_back(
          {h_.networks.Name(key.first), key.second, consumed.first, consumed.second});
    }
    SortDiffs(&out_);
  }

 private:
  void Flush() {
    if (!open_) return;
    bucket_.provider_id = h_.providers.Name(provider_);
    bucket_.month = month_;
    AddProviderMonth(std::move(bucket_), &out_);
  }

  const History& h_;
  ReplayReport& out_;
  bool open_ = false;
  ProviderIdx provider_ = 0;
  int32_t month_ = 0;
  ProviderMonthDiff bucket_;
  std::map<std::pair<NetworkIdx, int32_t>, std::pair<Cents, Cents>> consumed_;
};

}  // namespace

ReplayReport DiffProjections(const History& h, const Projection& before, const Projection& after,
                             std::optional<CivilDay> from) {
  ReplayReport out;
  out.from = from;
  out.last_seq = h.last_seq();
  out.care_events = h.care.size();
  DiffBuilder diff(h, &out);
  MergeLines(before.lines, after.lines, from.value_or(INT32_MIN),
             [&](const Line* b, const Line* a) { diff.Add(b, a); });
  diff.Finish();
  // Conservation over the report's totals, each side.
  LEDGER_ASSERT(out.total_before.fee == out.total_before.copay + out.total_before.insurer);
  LEDGER_ASSERT(out.total_after.fee == out.total_after.copay + out.total_after.insurer);
  return out;
}

Result<ReplayReport> Replay(const History& h, const RulesetCatalog& base, const Ruleset& candidate,
                            std::optional<CivilDay> from, int threads) {
  const std::unique_ptr<RulesetCatalog> in_force = RulesetsOf(h, base);
  auto standing = CheckCandidate(*in_force, candidate);
  if (!standing) return standing.error();
  const Ruleset* current = in_force->Find(candidate.id);
  RulesetCatalog with_candidate = *in_force;
  with_candidate.Add(candidate);

  Projection before, after;
  if (threads >= 2) {
    // Each fold on a thread of its own: both cores busy through the serial parts of a fold too.
    const int each = threads / 2;
    std::thread second([&] { after = Project(h, with_candidate, each); });
    before = Project(h, *in_force, each);
    second.join();
  } else {
    before = Project(h, *in_force, 1);
    after = Project(h, with_candidate, 1);
  }
  ReplayReport out = DiffProjections(h, before, after, from);
  out.candidate = candidate.Label();
  out.supersedes = current ? current->Label() : "";
  out.standing = *standing;
  return out;
}

}  // namespace ledger
