#include <capnp/message.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <future>
#include <unordered_map>

#include "ledger/event_log.h"
#include "ledger/event_log_internal.h"
#include "schemas/invariant.h"

namespace ledger {

using namespace detail;  // NOLINT: the log's own internals

namespace {

// The one place that builds write options: every write that acknowledges anything is synced
// before it returns.
rocksdb::WriteOptions DurableWriteOptions() {
  rocksdb::WriteOptions w;
  w.sync = true;
  return w;
}

// The chunks of a large batch are not synced on their own: they lie after the head, invisible
// and discarded on open until the batch's final write, whose WAL sync makes every earlier
// write of the WAL durable too (RocksDB syncs all live WAL files on a sync write).
rocksdb::WriteOptions ChunkWriteOptions() {
  rocksdb::WriteOptions w;
  w.sync = false;
  return w;
}

// A hash map's entries in key order, by reference: RocksDB's memtable inserts sorted keys much
// more cheaply, and a bulk batch touches hundreds of thousands of streams (no copy of them).
template <typename Map>
std::vector<const typename Map::value_type*> SortedByKey(const Map& map) {
  std::vector<const typename Map::value_type*> sorted;
  sorted.reserve(map.size());
  for (const auto& kv : map) sorted.push_back(&kv);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* c) { return a->first < c->first; });
  return sorted;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Writes.

Status EventLog::WriteDurable(rocksdb::WriteBatch* batch) {
  if (failed_.load()) return Refuse();
  rocksdb::Status s = db_->Write(DurableWriteOptions(), batch);
  if (!s.ok()) return Fail(s, "a synced write failed; appends are stopped until restart");
  return Ok();
}

Status EventLog::WriteChunk(rocksdb::WriteBatch* batch) {
  if (failed_.load()) return Refuse();
  rocksdb::Status s = db_->Write(ChunkWriteOptions(), batch);
  if (!s.ok()) return Fail(s, "a write failed; appends are stopped until restart");
  return Ok();
}

struct SavepointState {
  Seq next_seq = 0;
  Hash prev{};
  int64_t index = 0;
  size_t results = 0, stream_index = 0;
  uint64_t appended = 0, duplicates = 0;
  std::vector<std::string> ids_added;
  std::vector<std::pair<std::string, std::optional<uint64_t>>> versions_before;
  size_t facts_bytes = 0;
  uint32_t facts_count = 0;
};

struct EventLog::Append::State {
  Head base;
  Seq next_seq = 1;
  Hash prev{};
  int64_t recorded_at_us = 0;
  int64_t index = 0;  // events added so far, duplicates included: the next one's batch index
  bool keep_results = true;
  // The ids of the events not yet written (the earlier chunks' are in the `ids` column family,
  // after the head): what a batch holds in memory is one chunk's worth, whatever its size.
  std::unordered_map<std::string, IdEntry> ids;
  std::unordered_map<std::string, uint64_t> versions;  // streams touched by this batch
  rocksdb::WriteBatch chunk;                           // events not yet written
  // (stream, version) -> seq: the stream index entries of the events not yet written, put in
  // key order when their chunk is (RocksDB's memtable inserts sorted keys much more cheaply).
  std::vector<std::pair<std::string, Seq>> stream_index;
  size_t chunk_events = 0;
  bool chunks_written = false;
  // The chunk being written on a thread of its own while the next fills (at most one), and the
  // ids of its events, which lookups find here until the write is done.
  std::future<Status> inflight;
  std::unordered_map<std::string, IdEntry> inflight_ids;
  bool poisoned = false;
  bool committed = false;
  AppendResult result;
  Sha256 sha;
  std::optional<SavepointState> savepoint;
  bool held = false;  // a savepoint was set: no early chunk writes
  // The facts (ledger/facts.h) of the events not yet written: one value, put beside them.
  std::string facts;
  Seq facts_first = 0;
  uint32_t facts_count = 0;

  void AddFacts(Seq seq, schema::Event::Reader ev, Seq void_target) {
    if (facts_count == 0) {
      facts.assign(kFactsHeaderBytes, '\0');
      facts[0] = static_cast<char>(kFactsFormat);
      facts_first = seq;
    }
    AppendFactRecord(ev, void_target, &facts);
    ++facts_count;
  }
  void FlushFacts(rocksdb::WriteBatch* batch, rocksdb::ColumnFamilyHandle* cf) {
    if (facts_count == 0) return;
    std::memcpy(facts.data() + 1, &facts_count, sizeof facts_count);
    batch->Put(cf, BE64(facts_first), facts);
    facts.clear();
    facts_count = 0;
  }
  // The id and stream index entries of the events not yet written, each in key order, into
  // the write that stores those events. The ids stay in `ids`: the chunk in flight looks them up.
  void FlushIndexes(rocksdb::WriteBatch* batch, rocksdb::ColumnFamilyHandle* ids_cf,
                    rocksdb::ColumnFamilyHandle* stream_index_cf) {
    for (const auto* kv : SortedByKey(ids)) {
      batch->Put(ids_cf, kv->first, EncodeIdEntry(kv->second));
    }
    std::sort(stream_index.begin(), stream_index.end());
    for (const auto& [key, seq] : stream_index) batch->Put(stream_index_cf, key, BE64(seq));
    stream_index.clear();
  }
  // Waits for the chunk in flight, if any: its write's status.
  Status AwaitInflight() {
    if (!inflight.valid()) return Ok();
    Status s = inflight.get();
    inflight_ids.clear();
    return s;
  }
};

EventLog::Append::Append(EventLog* log)
    : log_(log), state_(std::make_unique<State>()), writer_(log->writer_mu_) {
  State& st = *state_;
  st.base = log->head();
  st.next_seq = st.base.seq + 1;
  st.prev = st.base.hash;
  // Recording time never goes backwards, whatever the wall clock does.
  st.recorded_at_us = std::max(log->options_.now_us(), st.base.recorded_at_us);
}

EventLog::Append::~Append() {
  (void)state_->AwaitInflight();  // its failure, if any, is the log's already
  if (!state_->committed && state_->chunks_written) {
    // Take back the chunks already written, as Open() does after a crash; if even that fails,
    // the log is failed and the next Open() removes them (they lie after the head).
    (void)log_->DiscardTail();
  }
}

Seq EventLog::Append::next_seq() const { return state_->next_seq; }

void EventLog::Append::CountOnly() { state_->keep_results = false; }

void EventLog::Append::SetRecordedAt(int64_t recorded_at_us) {
  state_->recorded_at_us = recorded_at_us;
}

const Hash& EventLog::Append::last_hash() const { return state_->prev; }

void EventLog::Append::SetSavepoint() {
  State& st = *state_;
  st.held = true;
  if (st.savepoint) (void)st.chunk.PopSavePoint();  // the previous request was kept
  st.savepoint.emplace();
  st.savepoint->next_seq = st.next_seq;
  st.savepoint->prev = st.prev;
  st.savepoint->index = st.index;
  st.savepoint->results = st.result.results.size();
  st.savepoint->stream_index = st.stream_index.size();
  st.savepoint->appended = st.result.appended;
  st.savepoint->duplicates = st.result.duplicates;
  st.savepoint->facts_bytes = st.facts.size();
  st.savepoint->facts_count = st.facts_count;
  st.chunk.SetSavePoint();
}

void EventLog::Append::RollbackToSavepoint() {
  State& st = *state_;
  LEDGER_ASSERT(st.savepoint && !st.chunks_written);
  SavepointState& sp = *st.savepoint;
  st.next_seq = sp.next_seq;
  st.prev = sp.prev;
  st.index = sp.index;
  st.result.results.resize(sp.results);
  st.result.appended = sp.appended;
  st.result.duplicates = sp.duplicates;
  st.stream_index.resize(sp.stream_index);
  for (const std::string& id : sp.ids_added) st.ids.erase(id);
  for (auto it = sp.versions_before.rbegin(); it != sp.versions_before.rend(); ++it) {
    if (it->second) {
      st.versions[it->first] = *it->second;
    } else {
      st.versions.erase(it->first);
    }
  }
  (void)st.chunk.RollbackToSavePoint();
  st.facts.resize(sp.facts_bytes);
  st.facts_count = sp.facts_count;
  st.chunk_events = static_cast<size_t>(st.next_seq - st.base.seq - 1);
  st.poisoned = false;
  st.savepoint.reset();
}

std::unique_ptr<EventLog::Append> EventLog::BeginAppend() {
  return std::unique_ptr<Append>(new Append(this));
}

// ---------------------------------------------------------------------------------------------
// Prepared events.

namespace {

// Cap'n Proto words are little-endian: written and read here in place.
static_assert(std::endian::native == std::endian::little);

// The canonical StoredEvent's root pointer when both data words are there: a struct pointer to
// the very next word, of two data words and one pointer (the event).
constexpr uint64_t kStoredRootPointer = (uint64_t{2} << 32) | (uint64_t{1} << 48);
constexpr size_t kStoredSeqWord = 1, kStoredRecordedAtWord = 2, kStoredEventWord = 3;

// The canonical words of a StoredEvent of `event` at `seq`, recorded at `recorded_at_us`.
kj::Array<capnp::word> CanonicalStored(schema::Event::Reader event, uint64_t seq,
                                       int64_t recorded_at_us) {
  capnp::MallocMessageBuilder message(512);
  auto stored = message.initRoot<schema::StoredEvent>();
  stored.setSeq(seq);
  stored.setRecordedAtUs(recorded_at_us);
  stored.setEvent(event);
  return capnp::canonicalize(stored.asReader());
}

}  // namespace

PreparedEvent::PreparedEvent(const DecodedEvent& decoded)
    : stored_(CanonicalStored(decoded.event(), 1, 1)),  // nonzero placeholders: kept whole
      expected_version_(decoded.expected_version) {
  LEDGER_ASSERT(stored_.size() > kStoredEventWord + 1);
  uint64_t root;
  std::memcpy(&root, stored_.begin(), sizeof root);
  LEDGER_ASSERT(root == kStoredRootPointer);
  // The event lies right after the root struct, its pointer at offset 0: the words from that
  // pointer on are the event's own canonical form, root pointer included.
  thread_local Sha256 sha;
  digest_ = sha.Update(stored_.begin() + kStoredEventWord,
                       (stored_.size() - kStoredEventWord) * sizeof(capnp::word))
                .Finish();
}

schema::Event::Reader PreparedEvent::event() const {
  // Words this object canonicalised itself: trusted, read without the bounds checks.
  return capnp::readMessageUnchecked<schema::StoredEvent>(stored_.begin()).getEvent();
}

std::string PreparedEvent::StoredValue(uint64_t seq, int64_t recorded_at_us) const {
  const bool in_place = seq != 0 && recorded_at_us != 0;
  const kj::Array<capnp::word> fresh =
      in_place ? nullptr : CanonicalStored(event(), seq, recorded_at_us);
  const kj::ArrayPtr<const capnp::word> words = in_place ? stored_.asPtr() : fresh.asPtr();
  std::string value(kHashBytes, '\0');
  value.append(reinterpret_cast<const char*>(words.begin()), words.size() * sizeof(capnp::word));
  if (in_place) {
    char* at = value.data() + kHashBytes;
    std::memcpy(at + kStoredSeqWord * sizeof(capnp::word), &seq, sizeof seq);
    std::memcpy(at + kStoredRecordedAtWord * sizeof(capnp::word), &recorded_at_us,
                sizeof recorded_at_us);
  }
  return value;
}

Status EventLog::Append::Add(const DecodedEvent& decoded) { return Add(PreparedEvent(decoded)); }

Status EventLog::Append::Add(const PreparedEvent& prepared) {
  State& st = *state_;
  const int64_t index = st.index++;
  schema::Event::Reader ev = prepared.event();
  std::string id(ev.getId().cStr());
  auto fail = [&](ErrorCode code, std::string field, std::string msg) -> Status {
    st.poisoned = true;
    return Error{code, std::move(msg), index, id, std::move(field)};
  };
  if (st.poisoned) return fail(ErrorCode::kInvalidArgument, "", "the batch already failed");
  if (log_->failed_.load()) return log_->Refuse();

  const Hash& digest = prepared.digest();

  auto lookup = [&](const std::string& key) -> Result<std::optional<IdEntry>> {
    if (auto it = st.ids.find(key); it != st.ids.end()) return std::optional<IdEntry>(it->second);
    if (auto it = st.inflight_ids.find(key); it != st.inflight_ids.end()) {
      return std::optional<IdEntry>(it->second);
    }
    std::string v;
    rocksdb::Status s = log_->db_->Get(rocksdb::ReadOptions(), log_->cfs_[kIds], key, &v);
    if (s.IsNotFound()) return std::optional<IdEntry>();
    if (!s.ok()) return StorageError(s, "reading the id index");
    auto e = DecodeIdEntry(v);
    if (!e) return Error{ErrorCode::kCorruption, "bad id index entry"};
    return e;
  };

  auto existing = lookup(id);
  if (!existing) return fail(existing.error().code, "id", existing.error().message);
  if (existing->has_value()) {
    if ((*existing)->digest != digest) {
      return fail(
          ErrorCode::kConflict, "id",
          "id already used by seq " + std::to_string((*existing)->seq) + " with different content");
    }
    if (st.keep_results) {
      st.result.results.push_back({id, (*existing)->seq, AppendStatus::kDuplicate});
    }
    ++st.result.duplicates;
    return Ok();
  }

  std::string stream;
  Seq void_target = 0;
  if (ev.getBody().isEventVoided()) {
    auto target = lookup(ev.getBody().getEventVoided().getTarget().cStr());
    if (!target) return fail(target.error().code, "target", target.error().message);
    if (!target->has_value()) return fail(ErrorCode::kInvalidEvent, "target", "no such event");
    stream = (*target)->stream;
    void_target = (*target)->seq;
  } else {
    stream = StreamOf(ev);
  }

  uint64_t version = 0;
  if (auto it = st.versions.find(stream); it != st.versions.end()) {
    version = it->second;
  } else {
    std::string v;
    rocksdb::Status s = log_->db_->Get(rocksdb::ReadOptions(), log_->cfs_[kStreams], stream, &v);
    if (s.ok() && v.size() == 8) {
      version = GetBE64(v.data());
    } else if (!s.IsNotFound()) {
      return fail(ErrorCode::kStorage, "", "reading stream version: " + s.ToString());
    }
  }
  const std::optional<int64_t>& expected_version = prepared.expected_version();
  if (expected_version && static_cast<uint64_t>(*expected_version) != version) {
    // The stream name is not echoed: it may hold a NISS.
    return fail(ErrorCode::kConflict, "expected_version",
                "the event's stream is at version " + std::to_string(version) + ", not " +
                    std::to_string(*expected_version));
  }

  const Seq seq = st.next_seq++;
  LEDGER_ASSERT(seq == st.base.seq + st.result.appended + 1);  // gapless, as it is produced
  std::string value = prepared.StoredValue(seq, st.recorded_at_us);
  const Hash hash =
      ChainHash(st.sha, st.prev, value.data() + kHashBytes, value.size() - kHashBytes);
  std::memcpy(value.data(), hash.data(), kHashBytes);
  st.chunk.Put(log_->cfs_[kEvents], BE64(seq), value);
  if (log_->options_.write_facts) st.AddFacts(seq, ev, void_target);

  IdEntry entry{seq, digest, stream};
  st.stream_index.emplace_back(StreamIndexKey(stream, version + 1), seq);
  if (st.savepoint) {
    auto it = st.versions.find(stream);
    st.savepoint->versions_before.emplace_back(
        stream, it == st.versions.end() ? std::nullopt : std::optional<uint64_t>(it->second));
    st.savepoint->ids_added.push_back(id);
  }
  st.versions[stream] = version + 1;
  st.ids.emplace(id, std::move(entry));
  st.prev = hash;
  if (st.keep_results) {
    st.result.results.push_back({std::move(id), seq, AppendStatus::kAppended});
  }
  ++st.result.appended;

  if (++st.chunk_events >= log_->options_.chunk_events_max && !st.held) {
    // Written now, on a thread of its own while the next chunk fills, visible only when
    // Commit() moves the head past them. The first chunk marks the batch as pending, so that
    // Open() after a crash knows what to discard. A failed write is the log's (writes stop);
    // this batch sees it at the next chunk or at Commit().
    if (Status w = st.AwaitInflight(); !w) {
      st.poisoned = true;
      return w;
    }
    st.FlushFacts(&st.chunk, log_->cfs_[kFacts]);
    st.FlushIndexes(&st.chunk, log_->cfs_[kIds], log_->cfs_[kStreamIndex]);
    st.inflight_ids = std::move(st.ids);
    st.ids.clear();
    if (!st.chunks_written) st.chunk.Put(log_->cfs_[kMeta], kPendingKey, BE64(st.base.seq));
    auto batch = std::make_shared<rocksdb::WriteBatch>(std::move(st.chunk));
    st.chunk.Clear();
    st.inflight = std::async(std::launch::async,
                             [log = log_, batch] { return log->WriteChunk(batch.get()); });
    st.chunk_events = 0;
    st.chunks_written = true;
  }
  return Ok();
}

Result<AppendResult> EventLog::Append::Commit() {
  State& st = *state_;
  if (st.poisoned || st.committed) {
    return Error{ErrorCode::kInvalidArgument, "the batch failed or was committed already"};
  }
  if (Status w = st.AwaitInflight(); !w) {
    st.poisoned = true;
    return w.error();
  }
  Head head = st.base;
  if (st.result.appended > 0) {
    LEDGER_ASSERT(st.next_seq - 1 == st.base.seq + st.result.appended);  // gapless
    LEDGER_ASSERT(st.recorded_at_us >= st.base.recorded_at_us);          // never back in time
    head = Head{st.next_seq - 1, st.prev, st.recorded_at_us};
    // The last chunk of events with its indexes, the stream versions and the head, each column
    // family in key order, in one synced write: the commit point.
    rocksdb::WriteBatch& b = st.chunk;
    st.FlushFacts(&b, log_->cfs_[kFacts]);
    st.FlushIndexes(&b, log_->cfs_[kIds], log_->cfs_[kStreamIndex]);
    if (st.chunks_written) b.Delete(log_->cfs_[kMeta], kPendingKey);
    for (const auto* kv : SortedByKey(st.versions)) {
      b.Put(log_->cfs_[kStreams], kv->first, BE64(kv->second));
    }
    b.Put(log_->cfs_[kMeta], kHeadKey, EncodeHead(head));
    if (Status w = log_->WriteDurable(&b); !w) return w.error();
  }
  st.committed = true;
  {
    std::lock_guard<std::mutex> lock(log_->head_mu_);
    log_->head_ = head;
  }
  st.result.last_seq = head.seq;
  return std::move(st.result);
}

Result<AppendResult> EventLog::AppendAll(const std::vector<DecodedEvent>& events) {
  auto append = BeginAppend();
  for (const auto& e : events) {
    if (Status s = append->Add(e); !s) return s.error();
  }
  return append->Commit();
}

}  // namespace ledger
