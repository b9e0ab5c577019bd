// The packed dry run (ReplayPacked): each beneficiary folded under both catalogs at once, over a
// PackedHistory, then the group sessions, community interventions and support missions.
#include <algorithm>
#include <atomic>
#include <cassert>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <thread>
#include <tuple>
#include <utility>

#include "projections/fold.h"
#include "replay/line_diff.h"
#include "replay/replay.h"
#include "schemas/invariant.h"

namespace ledger {
using namespace line_diff;  // NOLINT: the comparison this file makes

namespace {

struct Bucket {
  Amounts before, after;
  int64_t lines_repriced = 0, billability_changed = 0;
  Bucket& operator+=(const Bucket& o) {
    before += o.before;
    after += o.after;
    lines_repriced += o.lines_repriced;
    billability_changed += o.billability_changed;
    return *this;
  }
};

// (id, period) -> a dense index in first-seen order, through a table of every id and period
// of the history: a lookup is one array read (ids are dense, periods a range).
class PeriodIndex {
 public:
  PeriodIndex(size_t ids, int32_t first, int32_t last)
      : first_(first), count_(last - first + 1), slots_(ids * static_cast<size_t>(count_), kNone) {}
  // `key` is kept for key(): what the index stands for.
  uint32_t Intern(uint32_t id, int32_t period, uint64_t key) {
    assert(period >= first_ && period < first_ + count_);
    uint32_t& slot =
        slots_[size_t{id} * static_cast<size_t>(count_) + static_cast<size_t>(period - first_)];
    if (slot == kNone) {
      slot = static_cast<uint32_t>(keys_.size());
      keys_.push_back(key);
    }
    return slot;
  }
  size_t size() const { return keys_.size(); }
  uint64_t key(uint32_t i) const { return keys_[i]; }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  int32_t first_, count_;
  std::vector<uint32_t> slots_;
  std::vector<uint64_t> keys_;
};

int32_t MonthOrdinal(int32_t yyyymm) { return yyyymm / 100 * 12 + yyyymm % 100 - 1; }

// One worker's sums over the lines it compared, per provider-month and network-year: the
// same sums DiffBuilder makes. They are sums of integers, so neither the order of the lines
// nor how they are split over workers changes them.
class LineSums {
 public:
  // For lines of `providers` and `networks` dated from `first` to `last`.
  LineSums(size_t providers, size_t networks, CivilDay first, CivilDay last)
      : month_index_(providers, MonthOrdinal(MonthOf(first)), MonthOrdinal(MonthOf(last))),
        year_index_(networks, FromDay(first).year, FromDay(last).year),
        first_day_(first) {
    for (CivilDay d = first; d <= last; ++d) month_of_day_.push_back(MonthOf(d));
  }

  // A line under both catalogs (either may be missing), as DiffBuilder::Add.
  void Add(const Line* before, const Line* after) {
    const Line& any = before ? *before : *after;
    assert(any.day >= first_day_ && any.day - first_day_ < std::ssize(month_of_day_));
    const int32_t month = month_of_day_[static_cast<size_t>(any.day - first_day_)];
    const int32_t year = month / 100;
    // A beneficiary's lines often fall in the provider-month and network-year of the one before.
    if (any.provider != last_provider_ || month != last_month_) {
      last_provider_ = any.provider;
      last_month_ = month;
      last_month_at_ = At(&month_index_, &months_, any.provider, month, MonthOrdinal(month));
    }
    if (any.network != last_network_ || year != last_year_) {
      last_network_ = any.network;
      last_year_ = year;
      last_year_at_ = At(&year_index_, &years_, any.network, year, year);
    }
    Bucket& m = months_[last_month_at_];
    auto& consumed = years_[last_year_at_];
    const auto [b, a] = AddCompared(before, after, &m);
    consumed.first += b.insurer;
    consumed.second += a.insurer;
    ++lines_;
  }

  void Merge(const LineSums& o) {
    for (uint32_t i = 0; i < o.months_.size(); ++i) {
      const uint64_t k = o.month_index_.key(i);
      months_[At(&month_index_, &months_, Id(k), Period(k), MonthOrdinal(Period(k)))] +=
          o.months_[i];
    }
    for (uint32_t i = 0; i < o.years_.size(); ++i) {
      const uint64_t k = o.year_index_.key(i);
      auto& c = years_[At(&year_index_, &years_, Id(k), Period(k), Period(k))];
      c.first += o.years_[i].first;
      c.second += o.years_[i].second;
    }
    lines_ += o.lines_;
  }

  uint64_t lines() const { return lines_; }
  // fn(provider, yyyymm, bucket) / fn(network, year, consumed before, after), in no order.
  template <typename Fn>
  void ForEachMonth(Fn fn) const {
    for (uint32_t i = 0; i < months_.size(); ++i) {
      const uint64_t k = month_index_.key(i);
      fn(static_cast<ProviderIdx>(Id(k)), Period(k), months_[i]);
    }
  }
  template <typename Fn>
  void ForEachYear(Fn fn) const {
    for (uint32_t i = 0; i < years_.size(); ++i) {
      const uint64_t k = year_index_.key(i);
      fn(static_cast<NetworkIdx>(Id(k)), Period(k), years_[i].first, years_[i].second);
    }
  }

 private:
  static uint32_t Id(uint64_t key) { return static_cast<uint32_t>(key >> 32); }
  static int32_t Period(uint64_t key) { return static_cast<int32_t>(key & UINT32_MAX); }
  // The index of (id, yyyymm or year, whose ordinal in the index is `ordinal`), its value added
  // when new.
  template <typename T>
  static uint32_t At(PeriodIndex* index, std::vector<T>* values, uint32_t id, int32_t when,
                     int32_t ordinal) {
    const uint32_t i = index->Intern(id, ordinal, uint64_t{id} << 32 | static_cast<uint32_t>(when));
    if (i == values->size()) values->emplace_back();
    return i;
  }

  PeriodIndex month_index_, year_index_;
  std::vector<Bucket> months_;                  // by month_index_
  std::vector<std::pair<Cents, Cents>> years_;  // by year_index_
  uint64_t lines_ = 0;
  CivilDay first_day_;
  std::vector<int32_t> month_of_day_;  // yyyymm, by day from first_day_
  // The provider-month and network-year of the last line, and their indices.
  ProviderIdx last_provider_ = kNoProvider;
  NetworkIdx last_network_ = UINT32_MAX;
  int32_t last_month_ = 0, last_year_ = 0;
  uint32_t last_month_at_ = 0, last_year_at_ = 0;
};

// Compares one event's or one beneficiary's lines under both catalogs, lines dated before
// `first` left out, pairing them as DiffProjections does: by LineOrder key. The key of a line
// does not depend on the rules (an event always gives the same lines, in the same order), so
// the lines pair up in place; the merge of sorted copies is the fallback.
void Compare(std::span<const Line> before, std::span<const Line> after, CivilDay first,
             LineSums* sums) {
  auto same_key = [](const Line& x, const Line& y) { return !LineOrder(x, y) && !LineOrder(y, x); };
  bool in_place = before.size() == after.size();
  for (size_t i = 0; in_place && i < before.size(); ++i) in_place = same_key(before[i], after[i]);
  if (in_place) {
    for (size_t i = 0; i < before.size(); ++i) {
      if (before[i].day >= first) sums->Add(&before[i], &after[i]);
    }
    return;
  }
  std::vector<Line> b(before.begin(), before.end()), a(after.begin(), after.end());
  std::sort(b.begin(), b.end(), LineOrder);
  std::sort(a.begin(), a.end(), LineOrder);
  MergeLines(b, a, first, [&](const Line* x, const Line* y) { sums->Add(x, y); });
}

// The two folds of a packed history, compared as they go.
class PairedFold {
 public:
  PairedFold(const PackedHistory& h, const FoldContext& before, const FoldContext& after,
             std::vector<const Ruleset*> changed, CivilDay first)
      : h_(h), before_(before), after_(after), changed_(std::move(changed)), first_(first) {
    // One co-pay slot per group participant, before and after.
    uint32_t slots = 0;
    share_base_.resize(h.details().size());
    for (size_t i = 0; i < h.details().size(); ++i) {
      share_base_[i] = slots;
      slots += static_cast<uint32_t>(h.details()[i].participants.size());
    }
    copays_before_.assign(slots, kNoShare);
    copays_after_.assign(slots, kNoShare);
  }

  // Beneficiaries [begin, end): their individual sessions and concertations compared, their
  // shares of group sessions kept. Workers take disjoint ranges (each share slot has one
  // participant, so one writer).
  void FoldBeneficiaries(size_t begin, size_t end, LineSums* sums);
  // Details [begin, end): group sessions (once every beneficiary is folded), community
  // interventions and support missions compared.
  void PriceDetails(size_t begin, size_t end, LineSums* sums) const;

 private:
  // The shares of group session `c` (details()[detail]), as GroupLines reads them.
  std::vector<GroupShare> Shares(const CareEvent& c, size_t detail,
                                 const std::vector<int64_t>& copays) const;
  // The candidate may price this care date differently: it, or the version it replaces,
  // covers it. Elsewhere both catalogs pick rulesets of the same content (InForce chooses
  // among the same covering rulesets), and a fold reads the rules only at its events' dates.
  bool MayDiffer(CivilDay day) const {
    for (const Ruleset* r : changed_) {
      if (r->Covers(day)) return true;
    }
    return false;
  }
  // GroupLines reads a share's co-pay only: that is what is kept, by group and participant.
  // `groups`: (seq, index in details()) of the beneficiary's group sessions, in seq order.
  void KeepShares(const std::vector<GroupShare>& shares,
                  const std::vector<std::pair<Seq, uint32_t>>& groups,
                  std::vector<int64_t>* slots) const {
    for (const GroupShare& s : shares) {
      auto it = std::lower_bound(groups.begin(), groups.end(), std::pair<Seq, uint32_t>(s.seq, 0));
      assert(it != groups.end() && it->first == s.seq);
      assert(h_.details()[it->second].kind == CareKind::kGroup);
      (*slots)[share_base_[it->second] + s.participant] = s.copay.value;
    }
  }
  // An event priced from the static facts and the rules of its date alone (`lines`: community
  // interventions, support missions): once when the candidate prices that date as the rules in
  // force do.
  template <typename PriceFn>
  void PriceStatic(PriceFn lines, const CareEvent& c, LineSums* sums) const {
    const std::vector<Line> before = lines(before_, c);
    if (MayDiffer(c.day)) {
      Compare(before, lines(after_, c), first_, sums);
    } else {
      Compare(before, before, first_, sums);
    }
  }
  // A beneficiary's events are spread over the history: they are fetched this many
  // beneficiaries ahead of its fold.
  static constexpr size_t kPrefetchAhead = 4;

  const PackedHistory& h_;
  const FoldContext& before_;
  const FoldContext& after_;
  const std::vector<const Ruleset*> changed_;
  const CivilDay first_;
  static constexpr int64_t kNoShare = INT64_MIN;  // a participant not folded (no line reported)
  std::vector<uint32_t> share_base_;              // by detail: its first co-pay slot
  std::vector<int64_t> copays_before_, copays_after_;
};

void PairedFold::FoldBeneficiaries(size_t begin, size_t end, LineSums* sums) {
  const std::span<const PackedCare> care = h_.care();
  // Unpack() writes the same fields of every individual session and exception, and leaves
  // the rest as constructed: the CareEvents are reused from one beneficiary to the next.
  std::vector<CareEvent> unpacked;
  std::vector<const CareEvent*> events;
  std::vector<std::pair<Seq, uint32_t>> groups;
  BeneficiaryFolder before_folder(before_), after_folder(after_);
  for (size_t b = begin; b < end; ++b) {
    // Fetches the events of the beneficiary kPrefetchAhead on (of the first ones at the start).
    // Written here, not as a function: GCC finds such a function pure and drops its calls.
    for (size_t p = b == begin ? b : b + kPrefetchAhead; p < end && p <= b + kPrefetchAhead; ++p) {
      for (const uint32_t i : h_.EventsOf(static_cast<BeneficiaryIdx>(p))) {
        __builtin_prefetch(&care[i]);
      }
    }
    const auto who = static_cast<BeneficiaryIdx>(b);
    const std::span<const uint32_t> refs = h_.EventsOf(who);
    if (refs.empty()) continue;
    if (unpacked.size() < refs.size()) unpacked.resize(refs.size());
    events.clear();
    groups.clear();
    bool differs = false, reported = false;
    for (size_t k = 0; k < refs.size(); ++k) {
      const PackedCare& c = care[refs[k]];
      differs = differs || MayDiffer(c.day);
      reported = reported || c.day >= first_;
      if (c.kind == CareKind::kIndividual || c.kind == CareKind::kException) {
        PackedHistory::Unpack(c, &unpacked[k]);
        events.push_back(&unpacked[k]);
      } else {
        events.push_back(&h_.details()[c.who]);
        if (c.kind == CareKind::kGroup) groups.emplace_back(c.seq, c.who);
      }
    }
    // No line of it, nor of a group session it takes part in, is reported.
    if (!reported) continue;
    // Sorts `events` for the fold after too.
    const BeneficiaryFold& fb = before_folder.Fold(who, events);
    KeepShares(fb.shares, groups, &copays_before_);
    if (!differs) {
      KeepShares(fb.shares, groups, &copays_after_);
      Compare(fb.lines, fb.lines, first_, sums);
      continue;
    }
    const BeneficiaryFold& fa = after_folder.Fold(who, events);
    KeepShares(fa.shares, groups, &copays_after_);
    Compare(fb.lines, fa.lines, first_, sums);
  }
}

std::vector<GroupShare> PairedFold::Shares(const CareEvent& c, size_t detail,
                                           const std::vector<int64_t>& copays) const {
  std::vector<GroupShare> out;
  for (size_t p = 0; p < c.participants.size(); ++p) {
    const int64_t copay = copays[share_base_[detail] + p];
    if (copay != kNoShare) out.push_back({c.seq, static_cast<uint16_t>(p), false, Cents{copay}});
  }
  return out;
}

void PairedFold::PriceDetails(size_t begin, size_t end, LineSums* sums) const {
  for (size_t i = begin; i < end; ++i) {
    const CareEvent& c = h_.details()[i];
    if (h_.DetailVoided(i) || c.day < first_) continue;
    switch (c.kind) {
      case CareKind::kGroup: {
        Compare(GroupLines(before_, c, Shares(c, i, copays_before_)),
                GroupLines(after_, c, Shares(c, i, copays_after_)), first_, sums);
        break;
      }
      case CareKind::kCommunity:
        PriceStatic(CommunityLines, c, sums);
        break;
      case CareKind::kMission:
        PriceStatic(MissionLines, c, sums);
        break;
      case CareKind::kIndividual:
      case CareKind::kConcertation:
      case CareKind::kException:
        break;  // a beneficiary's (FoldBeneficiaries)
    }
  }
}

// Runs fn(begin, end, sums) over [0, n) in chunks taken by `threads` workers in turn, and adds
// up their sums.
void ForChunks(size_t n, int threads, const std::function<void(size_t, size_t, LineSums*)>& fn,
               LineSums* total, const LineSums& empty) {
  constexpr size_t kChunk = 512;
  std::atomic<size_t> next{0};
  const auto workers = static_cast<size_t>(std::max(1, threads));
  std::vector<LineSums> sums(workers, empty);
  auto work = [&](size_t w) {
    for (size_t begin; (begin = next.fetch_add(kChunk)) < n;) {
      fn(begin, std::min(n, begin + kChunk), &sums[w]);
    }
  };
  std::vector<std::thread> pool;
  for (size_t w = 1; w < workers; ++w) pool.emplace_back(work, w);
  work(0);
  for (auto& t : pool) t.join();
  for (const LineSums& s : sums) total->Merge(s);
}

// The report from the sums, as DiffBuilder::Flush and Finish make it.
void Report(const PackedHistory& h, const LineSums& sums, ReplayReport* out) {
  out->lines_compared = sums.lines();
  sums.ForEachMonth([&](ProviderIdx provider, int32_t month, const Bucket& bucket) {
    AddProviderMonth({h.providers().Name(provider), month, bucket.before, bucket.after,
                      bucket.lines_repriced, bucket.billability_changed},
                     out);
  });
  sums.ForEachYear([&](NetworkIdx network, int32_t year, Cents before, Cents after) {
    if (before == after) return;
    out->network_years.push_back({h.networks().Name(network), year, before, after});
  });
  SortDiffs(out);
}

}  // namespace

Result<ReplayReport> ReplayPacked(const PackedHistory& h, const RulesetCatalog& base,
                                  const Ruleset& candidate, std::optional<CivilDay> from,
                                  int threads) {
  const std::unique_ptr<RulesetCatalog> in_force = h.Rulesets(base);
  auto standing = CheckCandidate(*in_force, candidate);
  if (!standing) return standing.error();
  const Ruleset* current = in_force->Find(candidate.id);
  RulesetCatalog with_candidate = *in_force;
  with_candidate.Add(candidate);
  // The rulesets whose dates the two catalogs may price differently: none when the candidate
  // is the document in force (Add kept the catalog as it was).
  std::vector<const Ruleset*> changed;
  if (*standing != CandidateStanding::kInForce) {
    changed.push_back(&candidate);
    if (current) changed.push_back(current);
  }
  // The two contexts hold the same facts (a large history has many assessments): built at once.
  std::optional<FoldContext> after_context;
  std::thread building([&] { after_context.emplace(h.Context(&with_candidate)); });
  const FoldContext before = h.Context(in_force.get());
  building.join();
  const FoldContext& after = *after_context;

  ReplayReport out;
  out.from = from;
  out.last_seq = h.last_seq();
  out.care_events = h.care_events();
  out.candidate = candidate.Label();
  out.supersedes = current ? current->Label() : "";
  out.standing = *standing;
  PairedFold fold(h, before, after, std::move(changed), from.value_or(INT32_MIN));
  // Lines are dated on their events' care dates.
  CivilDay first_day = 0, last_day = 0;
  for (size_t i = 0; i < h.care().size(); ++i) {
    const CivilDay d = h.care()[i].day;
    first_day = i == 0 ? d : std::min(first_day, d);
    last_day = i == 0 ? d : std::max(last_day, d);
  }
  const LineSums empty(h.providers().size(), h.networks().size(), first_day, last_day);
  LineSums sums = empty;
  ForChunks(
      h.beneficiaries(), threads,
      [&](size_t begin, size_t end, LineSums* s) { fold.FoldBeneficiaries(begin, end, s); }, &sums,
      empty);
  ForChunks(
      h.details().size(), threads,
      [&](size_t begin, size_t end, LineSums* s) { fold.PriceDetails(begin, end, s); }, &sums,
      empty);
  Report(h, sums, &out);
  // Conservation over the report's totals, each side.
  LEDGER_ASSERT(out.total_before.fee == out.total_before.copay + out.total_before.insurer);
  LEDGER_ASSERT(out.total_after.fee == out.total_after.copay + out.total_after.insurer);
  return out;
}

}  // namespace ledger
