// Comparing the lines of one history under two catalogs, shared by both paths of the dry run
// (replay_reference.cc, replay_packed.cc): pairing two line lists in LineOrder, what a line
// bills, and the report's rows and order. Internal to replay/.
#pragma once

#include <algorithm>
#include <span>
#include <tuple>
#include <utility>

#include "projections/fold.h"
#include "replay/replay.h"

namespace ledger::line_diff {

inline Amounts Billed(const Line& l) {
  return l.billable() ? Amounts{l.fee, l.copay, l.insurer} : Amounts{};
}

inline bool SamePricing(const Line& a, const Line& b) {
  return a.reason == b.reason && a.fee == b.fee && a.copay == b.copay && a.insurer == b.insurer;
}

// Pairs two line lists in LineOrder by key (a line may be on one side only) and gives each pair
// dated on or after `first` to `add(before, after)`.
template <class Add>
void MergeLines(std::span<const Line> b, std::span<const Line> a, CivilDay first, Add&& add) {
  size_t i = 0, j = 0;
  while (i < b.size() || j < a.size()) {
    if (i < b.size() && b[i].day < first) {
      ++i;
    } else if (j < a.size() && a[j].day < first) {
      ++j;
    } else if (j == a.size() || (i < b.size() && LineOrder(b[i], a[j]))) {
      add(&b[i++], nullptr);
    } else if (i == b.size() || LineOrder(a[j], b[i])) {
      add(nullptr, &a[j++]);
    } else {
      add(&b[i++], &a[j++]);
    }
  }
}

// Adds a line compared under both catalogs (either side may be missing) to a provider-month's
// sums and counts (ProviderMonthDiff or the packed replay's Bucket); returns what it bills
// before and after.
template <class Sums>
std::pair<Amounts, Amounts> AddCompared(const Line* before, const Line* after, Sums* m) {
  const Amounts b = before ? Billed(*before) : Amounts{};
  const Amounts a = after ? Billed(*after) : Amounts{};
  m->before += b;
  m->after += a;
  const bool billable_b = before && before->billable(), billable_a = after && after->billable();
  if (!before || !after || !SamePricing(*before, *after)) ++m->lines_repriced;
  if (billable_b != billable_a) ++m->billability_changed;
  return {b, a};
}

// Adds a provider-month's sums to the report's totals, and the provider-month itself when it
// differs.
inline void AddProviderMonth(ProviderMonthDiff d, ReplayReport* out) {
  out->total_before += d.before;
  out->total_after += d.after;
  out->lines_repriced += d.lines_repriced;
  out->billability_changed += d.billability_changed;
  if (d.before == d.after && d.lines_repriced == 0) return;
  out->provider_months.push_back(std::move(d));
}

// The report's order: provider-months by provider id then month, network-years by network id
// then year.
inline void SortDiffs(ReplayReport* out) {
  std::sort(out->provider_months.begin(), out->provider_months.end(),
            [](const ProviderMonthDiff& x, const ProviderMonthDiff& y) {
              return std::tie(x.provider_id, x.month) < std::tie(y.provider_id, y.month);
            });
  std::sort(out->network_years.begin(), out->network_years.end(),
            [](const NetworkYearDiff& x, const NetworkYearDiff& y) {
              return std::tie(x.network_id, x.year) < std::tie(y.network_id, y.year);
            });
}

}  // namespace ledger::line_diff
