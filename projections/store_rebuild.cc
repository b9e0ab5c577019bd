// The packed rebuild (ProjectionStore::RebuildPacked): the whole log read as a PackedHistory
// (its facts, as the dry run of a ruleset reads them), each beneficiary folded once, and every
// key RebuildInMemory writes written from that fold, byte for byte.
#include <malloc.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "ledger/bytes.h"
#include "projections/fold_input.h"
#include "projections/packed_history.h"
#include "projections/store.h"
#include "projections/store_keys.h"
#include "projections/store_writer.h"
#include "projections/tally.h"
#include "schemas/invariant.h"

namespace ledger {
using namespace store_keys;  // NOLINT: this file writes the keys
namespace {

// Event ids by seq, read from the log's id index in id order, front-coded: each id as the
// length it shares with the one before, then the rest, a full one every kGroup ids (what a
// lookup decodes from), in blocks that are never moved. Generated ids share most of their
// bytes with their neighbours: about 5 bytes an id instead of 15, and 4 more for its rank.
// An id is 1 to 64 characters (events.md).
class EventIds {
 public:
  explicit EventIds(Seq head) : rank_(head + 1, 0) {}
  // Ids in ascending order (the index's). A seq listed twice (an index `verify` finds
  // corrupt) is left without an id here: its event is read for it.
  Status Add(std::string_view id, Seq seq) {
    if (seq >= rank_.size() || id.empty() || id.size() > kMaxId || (count_ > 0 && id <= last_)) {
      return Error{ErrorCode::kCorruption, "id index entry for seq " + std::to_string(seq)};
    }
    if (rank_[seq] != 0 || twice_.count(seq)) {
      twice_.insert(seq);
      rank_[seq] = 0;
      return Ok();
    }
    size_t shared = 0;
    if (count_ % kGroup == 0) {
      if (blocks_.empty() || used_ + kGroup * (2 + kMaxId) > kBlockBytes) {
        blocks_.push_back(std::make_unique_for_overwrite<char[]>(kBlockBytes));
        used_ = 0;
      }
      const uint64_t at = (blocks_.size() - 1) * kBlockBytes + used_;
      if (at > UINT32_MAX) {
        return Error{ErrorCode::kInvalidArgument, "a packed rebuild holds at most 4 GiB of ids"};
      }
      restarts_.push_back(static_cast<uint32_t>(at));
    } else {
      while (shared < id.size() && shared < last_.size() && id[shared] == last_[shared]) ++shared;
    }
    char* out = blocks_.back().get() + used_;
    out[0] = static_cast<char>(shared);
    out[1] = static_cast<char>(id.size() - shared);
    std::memcpy(out + 2, id.data() + shared, id.size() - shared);
    used_ += 2 + id.size() - shared;
    last_.assign(id);
    rank_[seq] = static_cast<uint32_t>(++count_);  // ranks from 1: 0 is none
    return count_ < UINT32_MAX ? Ok() : Error{ErrorCode::kInvalidArgument, "too many ids"};
  }
  // Brings into the cache what Get(seq) reads, in the order it reads it, each step once the one
  // before is there: its rank, then its group's restart, then the group's ids. A rebuild asks a
  // few beneficiaries ahead, each event's seq at each step (Get's three reads are cache misses
  // otherwise, in 20M ids: a third of the time its lines take).
  void PrefetchRank(Seq seq) const {
    if (seq < rank_.size()) __builtin_prefetch(&rank_[seq]);
  }
  void PrefetchRestart(Seq seq) const {
    if (seq < rank_.size() && rank_[seq] != 0)
      __builtin_prefetch(&restarts_[(rank_[seq] - 1) / kGroup]);
  }
  void PrefetchIds(Seq seq) const {
    if (seq >= rank_.size() || rank_[seq] == 0) return;
    const uint32_t at = restarts_[(rank_[seq] - 1) / kGroup];
    __builtin_prefetch(blocks_[at / kBlockBytes].get() + at % kBlockBytes);
  }
  // The id of `seq` into `out`; false when the index has none for it.
  bool Get(Seq seq, std::string* out) const {
    out->clear();
    if (seq >= rank_.size() || rank_[seq] == 0) return false;
    const uint32_t rank = rank_[seq] - 1;
    const uint32_t at = restarts_[rank / kGroup];
    const char* p = blocks_[at / kBlockBytes].get() + at % kBlockBytes;
    for (uint32_t k = rank - rank % kGroup;; ++k) {
      const auto shared = static_cast<uint8_t>(p[0]), rest = static_cast<uint8_t>(p[1]);
      out->resize(shared);
      out->append(p + 2, rest);
      if (k == rank) return true;
      p += 2 + rest;
    }
  }

 private:
  static constexpr size_t kGroup = 16, kMaxId = 64, kBlockBytes = 4 << 20;
  std::vector<uint32_t> rank_;      // by seq: 1 + the id's rank in id order, 0 for none
  std::vector<uint32_t> restarts_;  // by group of ranks: where its first id is, blocks end to end
  std::vector<std::unique_ptr<char[]>> blocks_;
  size_t used_ = 0;  // of the last block
  uint32_t count_ = 0;
  std::string last_;
  std::set<Seq> twice_;
};

// The tallies (A keys) and daily sums (D keys) of the lines written, by interned names. In
// arrays by provider and month, and by network and day, not hash maps: a line is one lookup in
// memory that is mostly cached (1.1M tallies and 20M lines on 20M events).
class LineTotals {
 public:
  void Add(const Line& l, const LineRecord& r) {
    const int32_t month = MonthOf(l.day);
    Tally(month, l.network, l.provider).Add(r);
    if (l.billable()) {
      if (daily_.size() <= l.network) daily_.resize(l.network + 1);
      auto& d = daily_[l.network].At(l.day);
      ++d.first;
      d.second += l.insurer.value;
    }
  }
  Status Put(const PackedHistory& h, StoreWrites* b) const {
    for (const Slot& slot : tallies_) {
      LEDGER_ASSERT(slot.tally.consistent() && !slot.tally.empty());
      b->Put(
          TallyKey(slot.month, h.networks().Name(slot.network), h.providers().Name(slot.provider)),
          EncodeTally(slot.tally));
      if (Status f = b->Flush(false); !f) return f;
    }
    for (size_t network = 0; network < daily_.size(); ++network) {
      const Days& days = daily_[network];
      for (size_t k = 0; k < days.sums.size(); ++k) {
        const auto& [count, insurer] = days.sums[k];
        if (count == 0) continue;  // no billable line that day
        b->Put(DailyKey(h.networks().Name(static_cast<NetworkIdx>(network)),
                        days.first + static_cast<CivilDay>(k)),
               DailyValue(count, insurer));
        if (Status f = b->Flush(false); !f) return f;
      }
    }
    return Ok();
  }

 private:
  struct Slot {
    int32_t month;  // yyyymm
    NetworkIdx network;
    ProviderIdx provider;
    LineTally tally;
  };
  // A provider's tallies by month (from its first), the slot of the first network it had lines
  // in that month; a month with lines in several networks has the others in `others_`.
  struct Months {
    int32_t first = 0;            // in months since year 0
    std::vector<uint32_t> slots;  // 1 + the index in tallies_; 0: none yet
  };
  // A network's line count and insurer share by care day, from its first.
  struct Days {
    CivilDay first = 0;
    std::vector<std::pair<int64_t, int64_t>> sums;
    std::pair<int64_t, int64_t>& At(CivilDay day) {
      if (sums.empty()) first = day;
      if (day < first) {
        sums.insert(sums.begin(), static_cast<size_t>(first - day), {0, 0});
        first = day;
      }
      const auto k = static_cast<size_t>(day - first);
      if (k >= sums.size()) sums.resize(k + 1, {0, 0});
      return sums[k];
    }
  };
  LineTally& Tally(int32_t month, NetworkIdx network, ProviderIdx provider) {
    if (months_.size() <= provider) months_.resize(provider + 1);
    Months& m = months_[provider];
    const int32_t linear = month / 100 * 12 + month % 100 - 1;
    if (m.slots.empty()) m.first = linear;
    if (linear < m.first) {
      m.slots.insert(m.slots.begin(), static_cast<size_t>(m.first - linear), 0);
      m.first = linear;
    }
    const auto k = static_cast<size_t>(linear - m.first);
    if (k >= m.slots.size()) m.slots.resize(k + 1, 0);
    uint32_t& slot = m.slots[k];
    if (slot == 0) {
      tallies_.push_back({month, network, provider, {}});
      slot = static_cast<uint32_t>(tallies_.size());
    }
    if (tallies_[slot - 1].network == network) return tallies_[slot - 1].tally;
    auto [it, added] = others_.try_emplace({provider, month, network}, 0);
    if (added) {
      tallies_.push_back({month, network, provider, {}});
      it->second = static_cast<uint32_t>(tallies_.size());
    }
    return tallies_[it->second - 1].tally;
  }

  std::deque<Slot> tallies_;    // grown without moving (1.1M tallies: some 250 MB)
  std::vector<Months> months_;  // by provider
  std::map<std::tuple<ProviderIdx, int32_t, NetworkIdx>, uint32_t> others_;  // 1 + index
  std::vector<Days> daily_;                                                  // by network
};

// The writes of the fold: lines with their tallies, trajectories, shares, fold states.
class FoldWriter {
 public:
  FoldWriter(const EventLog& log, const PackedHistory& h, const EventIds& ids, StoreWrites* b)
      : log_(log), h_(h), ids_(ids), b_(b) {}

  Status PutLine(const Line& l) {
    if (!ids_.Get(l.seq, &id_)) {  // not in the index (a corrupt one): the event says
      Status read =
          log_.ReadSeqs({l.seq}, [&](const StoredEventView& v) { id_ = v.event().getId().cStr(); });
      if (!read) return read;
    }
    const LineRecord r = ToRecord(h_.networks(), l, id_);
    b_->Put(LineKey(h_.providers().Name(l.provider), l.day, l.seq, l.part), EncodeLine(r));
    totals_.Add(l, r);
    return Ok();
  }
  Status PutBeneficiary(const std::string& niss, const BeneficiaryFold& f) {
    for (const Line& l : f.lines) {
      if (Status s = PutLine(l); !s) return s;
    }
    for (const Trajectory& t : f.trajectories) {
      const TrajectoryRecord r = ToRecord(h_.networks(), t);
      b_->Put(TrajKey(niss, r), EncodeTrajectory(r));
    }
    for (const GroupShare& s : f.shares) b_->Put(ShareKey(s.seq, s.participant), ShareValue(s));
    return Ok();
  }
  const LineTotals& totals() const { return totals_; }

 private:
  const EventLog& log_;
  const PackedHistory& h_;
  const EventIds& ids_;
  StoreWrites* b_;
  LineTotals totals_;
  std::string id_;  // the line's event id, decoded
};

}  // namespace

Status ProjectionStore::RebuildPacked(const std::function<void(Seq, Seq)>& progress) {
  const Seq head = log_.head().seq;
  // The memtables written out first: a rebuild right after a large append (`ledgerctl append`)
  // would hold theirs beside its own (1M events: 340 MB, not 200).
  if (Status f = log_.FlushMemtables(); !f) return f;
  // The column family it will fill emptied (of the projections before the last rebuild).
  if (Status e = log_.EmptySpareDerived(/*wait=*/true); !e) return e;
  // And what the append freed given back (glibc keeps it otherwise: some 100 MB there).
  ::malloc_trim(0);
  // The fold, into `b`: what it holds (the packed log, its ids, the tallies) is let go before
  // the merge, which then holds little beside the runs' buffers.
  std::optional<IngestWriter> b;
  Status folded = [&]() -> Status {
    // Progress on the scale of the head: reading the facts is its first half, the fold its second.
    auto loaded = PackedHistory::Load(log_, 2, [&](Seq done, Seq total) {
      if (progress) progress(done / 2, total);
    });
    if (!loaded) return loaded.error();
    const PackedHistory& h = *loaded;
    EventIds ids(head);
    Status set = Ok();
    Status read = log_.ForEachId([&](std::string_view id, Seq seq) {
      // An id of an event after the head is of one committed since, or of a batch in flight
      // (its chunks are written before the head moves): not this rebuild's.
      if (set && seq <= head) set = ids.Add(id, seq);
    });
    if (!read) return read;
    if (!set) return set;
    // The static facts, read whole from their events (a few thousand, whatever the log's length).
    std::vector<Seq> static_seqs = h.static_seqs();
    static_seqs.insert(static_seqs.end(), h.budget_seqs().begin(), h.budget_seqs().end());
    std::sort(static_seqs.begin(), static_seqs.end());
    History statics;
    if (Status s = log_.ReadSeqs(static_seqs, [&](const StoredEventView& v) { statics.Add(v); });
        !s) {
      return s;
    }
    const std::set<Seq> voided(h.voided().begin(), h.voided().end());
    for (Seq seq : voided) statics.MarkVoided(seq);
    const std::unique_ptr<RulesetCatalog> rules = h.Rulesets(RulesetCatalog());
    const FoldContext ctx = h.Context(rules.get());
    if (Stopping()) return Ok();  // the store is as it was

    // Into the spare column family, in the column family's own table format: the store is untouched
    // until it is replaced at the end, and readers answer at the seq before the rebuild meanwhile.
    // Runs in proportion to the log (it puts some 200 bytes an event): a million events' rebuild
    // holds 16 MB runs, not 32.
    const size_t run_bytes = packed_run_bytes_ != 0
                                 ? packed_run_bytes_
                                 : std::clamp<size_t>(head * 16, 4 << 20, IngestWriter::kRunBytes);
    b.emplace(log_.derived_scratch_dir(), db_->GetOptions(cf()), run_bytes);
    if (Status s = b->Start(); !s) return s;
    PutStatic(statics, voided, &*b);
    for (Seq seq : h.invoice_seqs()) b->Put(SeqKey('I', seq), "");
    for (const auto& [who, seq] : h.assessment_seqs()) {
      b->Put(BenKey(h.Niss(who), seq), std::string(1, 'a'));
    }
    const std::span<const PackedCare> care = h.care();
    for (const PackedCare& c : care) {  // a voided event's beneficiaries know it too
      if (!c.voided()) continue;
      if (c.kind == CareKind::kIndividual || c.kind == CareKind::kException) {
        b->Put(BenKey(h.Niss(c.who), c.seq), std::string(1, 'c'));
      } else {
        ForEachBeneficiary(h.details()[c.who], [&](BeneficiaryIdx who) {
          b->Put(BenKey(h.Niss(who), c.seq), std::string(1, 'c'));
        });
      }
    }

    // Each beneficiary folded once (as PairedFold folds it for the dry run), its group shares
    // kept for pricing the group sessions after.
    FoldWriter out(log_, h, ids, &*b);
    BeneficiaryFolder folder(ctx);
    std::vector<CareEvent> unpacked;
    std::vector<const CareEvent*> events;
    // GroupLines reads the sum of a session's co-pays: that is what is kept, by detail.
    std::vector<int64_t> group_copays(h.details().size(), 0);
    std::vector<std::pair<Seq, uint32_t>> groups;  // the beneficiary's: seq, index in details()
    const size_t beneficiaries = h.beneficiaries();
    // Memory read a few beneficiaries ahead (their events are anywhere in the log): their packed
    // events, then their ids step by step (EventIds::PrefetchRank).
    auto ahead = [&](size_t i, size_t distance, auto step) {
      if (i + distance >= beneficiaries) return;
      for (uint32_t ref : h.EventsOf(static_cast<BeneficiaryIdx>(i + distance))) step(care[ref]);
    };
    for (size_t i = 0; i < beneficiaries; ++i) {
      ahead(i, 4, [](const PackedCare& c) { __builtin_prefetch(&c); });
      ahead(i, 3, [&](const PackedCare& c) { ids.PrefetchRank(c.seq); });
      ahead(i, 2, [&](const PackedCare& c) { ids.PrefetchRestart(c.seq); });
      ahead(i, 1, [&](const PackedCare& c) { ids.PrefetchIds(c.seq); });
      const auto who = static_cast<BeneficiaryIdx>(i);
      const std::string niss = h.Niss(who);
      const std::span<const uint32_t> refs = h.EventsOf(who);
      FoldCarry carry;
      if (!refs.empty()) {
        if (unpacked.size() < refs.size()) unpacked.resize(refs.size());
        events.clear();
        groups.clear();
        for (size_t k = 0; k < refs.size(); ++k) {
          const PackedCare& c = care[refs[k]];
          b->Put(BenKey(niss, c.seq), std::string(1, 'c'));
          if (c.kind == CareKind::kIndividual || c.kind == CareKind::kException) {
            PackedHistory::Unpack(c, &unpacked[k]);
            events.push_back(&unpacked[k]);
          } else {
            events.push_back(&h.details()[c.who]);
            if (c.kind == CareKind::kGroup) groups.emplace_back(c.seq, c.who);
          }
        }
        const BeneficiaryFold& f = folder.Fold(who, events);
        if (Status p = out.PutBeneficiary(niss, f); !p) return p;
        for (const GroupShare& share : f.shares) {  // `groups` is in seq order, as refs are
          auto it = std::lower_bound(groups.begin(), groups.end(),
                                     std::pair<Seq, uint32_t>(share.seq, 0));
          LEDGER_ASSERT(it != groups.end() && it->first == share.seq);
          group_copays[it->second] += share.copay.value;
        }
        carry = f.carry;
      }
      b->Put(StateKey(niss),
             EncodeFoldState(ToRecord(h.networks(), carry, ctx.FirstAssessments(who))));
      if (Status f = b->Flush(false); !f) return f;
      if ((i & 0xfff) == 0) {
        if (progress) progress(head / 2 + head / 4 * i / beneficiaries, head);
        if (Stopping()) return Ok();  // the store is as it was
      }
    }
    for (size_t i = 0; i < h.details().size(); ++i) {
      if (h.DetailVoided(i)) continue;
      const CareEvent& c = h.details()[i];
      std::vector<Line> lines;
      if (c.kind == CareKind::kGroup) {
        const GroupShare all{c.seq, 0, false, Cents{group_copays[i]}};
        lines = GroupLines(ctx, c, std::span<const GroupShare>(&all, 1));
      } else if (c.kind == CareKind::kCommunity) {
        lines = CommunityLines(ctx, c);
      } else if (c.kind == CareKind::kMission) {
        lines = MissionLines(ctx, c);
      }
      for (const Line& l : lines) {
        if (Status p = out.PutLine(l); !p) return p;
      }
      if (Status f = b->Flush(false); !f) return f;
    }
    if (Status t = out.totals().Put(h, &*b); !t) return t;
    return Ok();
  }();
  if (!folded) return folded;
  if (!b || Stopping()) return Ok();  // the store is as it was
  b->Put(kFormatKey, BE64(kStoreFormat));
  b->Put(kSeqKey, BE64(head));
  // The last quarter: the runs merged into table files.
  auto tables = b->Finish([&](uint64_t done, uint64_t total) {
    if (progress) progress(head / 4 * 3 + head / 4 * done / std::max<uint64_t>(total, 1), head);
  });
  if (!tables) return tables.error();
  if (Stopping()) return Ok();
  {
    std::unique_lock<std::shared_mutex> lock;  // readers holding it see one seq or the other
    if (write_lock_) lock = std::unique_lock<std::shared_mutex>(*write_lock_);
    if (Status r = log_.ReplaceDerived(*tables); !r) return r;
  }
  // The old projections emptied now, unless a view still reads them (then by the next rebuild).
  (void)log_.EmptySpareDerived(/*wait=*/false);  // best effort: the next rebuild retries
  static_.reset();                               // the next catch-up loads them from the store
  ctx_.reset();
  rules_.reset();
  ++stats_.rebuilds;
  stats_.events_applied += head;
  if (progress) progress(head, head);
  return Ok();
}

}  // namespace ledger
