// The packed rebuild (ProjectionStore::RebuildPacked): the whole log read as a PackedHistory
// (its facts, as the dry run of a ruleset reads them), each beneficiary folded once, and every
// key RebuildInMemory writes written from that fold, byte for byte.
#include <algorithm>
#include <cstring>
#include <memory>
#include <set>
#include <shared_mutex>
#include <string>
#include <tuple>
#include <unordered_map>
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

// The tallies (A keys) and daily sums (D keys) of the lines written, by interned names.
class LineTotals {
 public:
  void Add(const Line& l, const LineRecord& r) {
    const std::tuple<int32_t, NetworkIdx, ProviderIdx> key(MonthOf(l.day), l.network, l.provider);
    if (!last_ || key != last_key_) {
      last_key_ = key;
      last_ = &tallies_[key];
    }
    last_->Add(r);
    if (l.billable()) {
      auto& d = daily_[uint64_t{l.network} << 32 | static_cast<uint32_t>(l.day)];
      ++d.first;
      d.second += l.insurer.value;
    }
  }
  Status Put(const PackedHistory& h, StoreWrites* b) const {
    for (const auto& [key, t] : tallies_) {
      LEDGER_ASSERT(t.consistent() && !t.empty());
      const auto& [month, network, provider] = key;
      b->Put(TallyKey(month, h.networks().Name(network), h.providers().Name(provider)),
             EncodeTally(t));
      if (Status f = b->Flush(false); !f) return f;
    }
    for (const auto& [key, d] : daily_) {
      b->Put(DailyKey(h.networks().Name(static_cast<NetworkIdx>(key >> 32)),
                      static_cast<CivilDay>(static_cast<uint32_t>(key))),
             DailyValue(d.first, d.second));
      if (Status f = b->Flush(false); !f) return f;
    }
    return Ok();
  }

 private:
  struct KeyHash {
    size_t operator()(const std::tuple<int32_t, NetworkIdx, ProviderIdx>& k) const {
      const auto& [m, n, p] = k;
      return std::hash<uint64_t>{}((uint64_t{p} << 32 | n) * 1000003u + static_cast<uint32_t>(m));
    }
  };
  std::unordered_map<std::tuple<int32_t, NetworkIdx, ProviderIdx>, LineTally, KeyHash> tallies_;
  std::unordered_map<uint64_t, std::pair<int64_t, int64_t>> daily_;  // network << 32 | day
  std::tuple<int32_t, NetworkIdx, ProviderIdx> last_key_;
  LineTally* last_ = nullptr;
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
  // Progress on the scale of the head: reading the facts is its first half, the fold its second.
  auto loaded = PackedHistory::Load(log_, 2, [&](Seq done, Seq total) {
    if (progress) progress(done / 2, total);
  });
  if (!loaded) return loaded.error();
  const PackedHistory& h = *loaded;
  EventIds ids(head);
  Status set = Ok();
  Status read = log_.ForEachId([&](std::string_view id, Seq seq) {
    if (set) set = ids.Add(id, seq);
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

  // Into a new column family, in the column family's own table format: the store is untouched
  // until it is replaced at the end, and readers answer at the seq before the rebuild meanwhile.
  IngestWriter b(log_.derived_scratch_dir(), db_->GetOptions(cf()), packed_run_bytes_);
  if (Status s = b.Start(); !s) return s;
  PutStatic(statics, voided, &b);
  for (Seq seq : h.invoice_seqs()) b.Put(SeqKey('I', seq), "");
  for (const auto& [who, seq] : h.assessment_seqs()) {
    b.Put(BenKey(h.Niss(who), seq), std::string(1, 'a'));
  }
  const std::span<const PackedCare> care = h.care();
  for (const PackedCare& c : care) {  // a voided event's beneficiaries know it too
    if (!c.voided()) continue;
    if (c.kind == CareKind::kIndividual || c.kind == CareKind::kException) {
      b.Put(BenKey(h.Niss(c.who), c.seq), std::string(1, 'c'));
    } else {
      ForEachBeneficiary(h.details()[c.who], [&](BeneficiaryIdx who) {
        b.Put(BenKey(h.Niss(who), c.seq), std::string(1, 'c'));
      });
    }
  }

  // Each beneficiary folded once (as PairedFold folds it for the dry run), its group shares
  // kept for pricing the group sessions after.
  FoldWriter out(log_, h, ids, &b);
  BeneficiaryFolder folder(ctx);
  std::vector<CareEvent> unpacked;
  std::vector<const CareEvent*> events;
  // GroupLines reads the sum of a session's co-pays: that is what is kept, by detail.
  std::vector<int64_t> group_copays(h.details().size(), 0);
  std::vector<std::pair<Seq, uint32_t>> groups;  // the beneficiary's: seq, index in details()
  const size_t beneficiaries = h.beneficiaries();
  for (size_t i = 0; i < beneficiaries; ++i) {
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
        b.Put(BenKey(niss, c.seq), std::string(1, 'c'));
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
        auto it =
            std::lower_bound(groups.begin(), groups.end(), std::pair<Seq, uint32_t>(share.seq, 0));
        LEDGER_ASSERT(it != groups.end() && it->first == share.seq);
        group_copays[it->second] += share.copay.value;
      }
      carry = f.carry;
    }
    b.Put(StateKey(niss),
          EncodeFoldState(ToRecord(h.networks(), carry, ctx.FirstAssessments(who))));
    if (Status f = b.Flush(false); !f) return f;
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
    if (Status f = b.Flush(false); !f) return f;
  }
  if (Status t = out.totals().Put(h, &b); !t) return t;
  b.Put(kFormatKey, BE64(kStoreFormat));
  b.Put(kSeqKey, BE64(head));
  // The last quarter: the runs merged into table files.
  auto tables = b.Finish([&](uint64_t done, uint64_t total) {
    if (progress) progress(head / 4 * 3 + head / 4 * done / std::max<uint64_t>(total, 1), head);
  });
  if (!tables) return tables.error();
  if (Stopping()) return Ok();
  {
    std::unique_lock<std::shared_mutex> lock;  // readers holding it see one seq or the other
    if (write_lock_) lock = std::unique_lock<std::shared_mutex>(*write_lock_);
    if (Status r = log_.ReplaceDerived(*tables); !r) return r;
  }
  static_.reset();  // the next catch-up loads them from the store
  ctx_.reset();
  rules_.reset();
  ++stats_.rebuilds;
  stats_.events_applied += head;
  if (progress) progress(head, head);
  return Ok();
}

}  // namespace ledger
