#include <kj/exception.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "ledger/event_log.h"
#include "ledger/event_log_internal.h"

namespace ledger {

using namespace detail;  // NOLINT: the log's own internals

// ---------------------------------------------------------------------------------------------
// Reads.

namespace {

// An iterator over the keys from..last (seqs) of a column family, positioned at the first.
class SeqRangeIterator {
 public:
  // `long_read`: a range read once, in key order (a fold of the whole log): its blocks are read
  // ahead in large reads and kept out of the block cache, where they would only evict the blocks
  // that point lookups and short reads of the newest events reuse.
  SeqRangeIterator(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, Seq from, Seq last,
                   bool long_read)
      : upper_(BE64(last + 1)), upper_slice_(upper_) {
    rocksdb::ReadOptions ro;
    ro.iterate_upper_bound = &upper_slice_;
    if (long_read) {
      ro.readahead_size = 2 << 20;
      ro.fill_cache = false;
    }
    it_.reset(db->NewIterator(ro, cf));
    it_->Seek(BE64(from));
  }
  SeqRangeIterator(const SeqRangeIterator&) = delete;
  SeqRangeIterator& operator=(const SeqRangeIterator&) = delete;
  rocksdb::Iterator* operator->() const { return it_.get(); }

 private:
  const std::string upper_;
  const rocksdb::Slice upper_slice_;  // the bound the iterator reads
  std::unique_ptr<rocksdb::Iterator> it_;
};

}  // namespace

Status EventLog::ReadRange(Seq from, Seq to,
                           const std::function<bool(const StoredEventView&)>& fn) const {
  const Seq last = std::min(to, head().seq);
  if (from < 1) from = 1;
  if (from > last) return Ok();
  // The hash the first event must chain from: its predecessor's (genesis before seq 1).
  Hash prev{};
  if (from > 1) {
    std::string pv;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cfs_[kEvents], BE64(from - 1), &pv);
    if (s.IsNotFound()) return Corruption(from - 1, "missing from the events column family");
    if (!s.ok()) return StorageError(s, "reading events");
    if (pv.size() < kHashBytes) return Corruption(from - 1, "stored value too short");
    std::memcpy(prev.data(), pv.data(), kHashBytes);
  }
  SeqRangeIterator it(db_.get(), cfs_[kEvents], from, last, last - from >= 4096);
  ValueDecoder dec;
  Sha256 sha;
  Seq expect = from;
  int64_t recorded_before = INT64_MIN;
  try {
    for (; it->Valid(); it->Next(), ++expect) {
      StoredEventView view;
      view.seq_ = it->key().size() == 8 ? GetBE64(it->key().data()) : 0;
      // Read back, the log's invariants are checked again (gapless, each event chaining from
      // the one before it, recorded_at never going back); what breaks them came from the disk:
      // a fault to report, not a reason to abort.
      if (view.seq_ != expect) {
        return Corruption(expect, "missing from the events column family");
      }
      if (Status d = dec.Decode(view.seq_, it->value(), &view.hash_, &view.root_); !d) return d;
      const rocksdb::Slice value = it->value();
      if (ChainHash(sha, prev, value.data() + kHashBytes, value.size() - kHashBytes) !=
          view.hash_) {
        return Corruption(expect, "does not chain from the event before it");
      }
      prev = view.hash_;
      if (view.root_.getRecordedAtUs() < recorded_before) {
        return Corruption(expect, "recorded before the event preceding it");
      }
      recorded_before = view.root_.getRecordedAtUs();
      if (!fn(view)) return Ok();
    }
  } catch (const kj::Exception& e) {
    return Corruption(expect, "undecodable: " + std::string(e.getDescription().cStr()));
  }
  if (!it->status().ok()) return StorageError(it->status(), "reading events");
  if (expect != last + 1) return Corruption(expect, "missing from the events column family");
  return Ok();
}

Status EventLog::ReadSeqs(const std::vector<Seq>& seqs,
                          const std::function<void(const StoredEventView&)>& fn) const {
  const Seq last = head().seq;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kEvents]));
  ValueDecoder dec;
  try {
    for (Seq seq : seqs) {
      if (seq < 1 || seq > last) return Corruption(seq, "not a committed event");
      it->Seek(BE64(seq));
      if (!it->Valid() || it->key() != rocksdb::Slice(BE64(seq))) {
        if (!it->status().ok()) return StorageError(it->status(), "reading events");
        return Corruption(seq, "missing from the events column family");
      }
      StoredEventView view;
      view.seq_ = seq;
      if (Status d = dec.Decode(seq, it->value(), &view.hash_, &view.root_); !d) return d;
      fn(view);
    }
  } catch (const kj::Exception& e) {
    return Error{ErrorCode::kCorruption,
                 "undecodable event: " + std::string(e.getDescription().cStr())};
  }
  return Ok();
}

Status EventLog::ReadFacts(Seq from, Seq to,
                           const std::function<bool(const FactsChunk&)>& fn) const {
  const Seq last = std::min(to, head().seq);
  if (from < 1) from = 1;
  if (from > last) return Ok();
  SeqRangeIterator it(db_.get(), cfs_[kFacts], from, last, /*long_read=*/true);
  for (; it->Valid(); it->Next()) {
    FactsChunk chunk;
    if (Status p = ParseFactsChunk(it->key(), it->value(), &chunk); !p) return p;
    if (!fn(chunk)) return Ok();
  }
  if (!it->status().ok()) return StorageError(it->status(), "reading facts");
  return Ok();
}

Status EventLog::EncodeFacts(schema::Event::Reader event, std::string* out) const {
  Seq target = 0;
  if (event.getBody().isEventVoided()) {
    auto found = FindId(event.getBody().getEventVoided().getTarget().cStr());
    if (!found) return found.error();
    target = found->value_or(0);
  }
  AppendFactRecord(event, target, out);
  return Ok();
}

Status EventLog::ReadEveryFact(Seq from, Seq to,
                               const std::function<bool(const FactsChunk&)>& fn) const {
  const Seq last = std::min(to, head().seq);
  if (from < 1) from = 1;
  if (from > 1) {
    auto end = FactsEndAt(from - 1);  // a chunk written before `from` keeps its events
    if (!end) return end.error();
    from = std::max(from, *end + 1);
  }
  if (from > last) return Ok();
  bool stopped = false;
  // Events first..end - 1, which have no facts, encoded as they would have been written, in
  // chunks of kEncodedChunk events.
  constexpr uint32_t kEncodedChunk = 4096;
  std::string encoded;
  auto encode = [&](Seq first, Seq end) -> Status {
    FactsChunk chunk{first, 0, {}};
    Status inner = Ok();
    Status s = ReadRange(first, end - 1, [&](const StoredEventView& v) {
      if (inner = EncodeFacts(v.event(), &encoded); !inner) return false;
      if (++chunk.count < kEncodedChunk && v.seq() + 1 < end) return true;
      chunk.records = encoded;
      stopped = !fn(chunk);
      encoded.clear();
      chunk = {v.seq() + 1, 0, {}};
      return !stopped;
    });
    return s ? inner : s;
  };
  Seq expect = from;
  Status inner = Ok();
  Status s = ReadFacts(from, last, [&](const FactsChunk& chunk) {
    if (chunk.first < expect) {
      inner = Corruption(chunk.first, "facts chunks overlap");
      return false;
    }
    if (chunk.first > expect && (!(inner = encode(expect, chunk.first)) || stopped)) return false;
    if (!fn(chunk)) {
      stopped = true;
      return false;
    }
    expect = chunk.first + chunk.count;
    return true;
  });
  if (!s) return s;
  if (!inner) return inner;
  if (!stopped && expect <= last) return encode(expect, last + 1);
  return Ok();
}

Result<Seq> EventLog::FactsEndAt(Seq seq) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kFacts]));
  it->SeekForPrev(BE64(seq));
  if (!it->Valid()) {
    if (!it->status().ok()) return StorageError(it->status(), "reading facts");
    return Seq{0};
  }
  FactsChunk chunk;
  if (Status p = ParseFactsChunk(it->key(), it->value(), &chunk); !p) return p.error();
  return chunk.first + chunk.count - 1;
}

Status EventLog::ForEachId(const std::function<void(std::string_view, Seq)>& fn) const {
  const Seq last = head().seq;
  rocksdb::ReadOptions ro;
  ro.readahead_size = 2 << 20;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cfs_[kIds]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view v = it->value().ToStringView();
    if (v.size() < 8 + kHashBytes) return Error{ErrorCode::kCorruption, "bad id index entry"};
    const Seq seq = GetBE64(v.data());
    if (seq <= last) fn(it->key().ToStringView(), seq);
  }
  if (!it->status().ok()) return StorageError(it->status(), "reading the id index");
  return Ok();
}

Result<std::optional<Seq>> EventLog::FindId(std::string_view id) const {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cfs_[kIds], id, &v);
  if (s.IsNotFound()) return std::optional<Seq>();
  if (!s.ok()) return StorageError(s, "reading the id index");
  auto e = DecodeIdEntry(v);
  if (!e) return Error{ErrorCode::kCorruption, "bad id index entry"};
  if (e->seq > head().seq) return std::optional<Seq>();
  return std::optional<Seq>(e->seq);
}

Result<std::vector<Seq>> EventLog::StreamSeqs(std::string_view stream) const {
  std::vector<Seq> seqs;
  const Seq last = head().seq;
  std::string prefix(stream);
  prefix.push_back('\0');
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cfs_[kStreamIndex]));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (it->value().size() != 8) return Error{ErrorCode::kCorruption, "bad stream index entry"};
    const Seq seq = GetBE64(it->value().data());
    if (seq <= last) seqs.push_back(seq);
  }
  if (!it->status().ok()) return StorageError(it->status(), "reading the stream index");
  return seqs;
}

}  // namespace ledger
