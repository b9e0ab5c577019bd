#include "ledger/event_log.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cassert>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <unordered_map>

#include "ledger/bytes.h"
#include "ledger/facts.h"
#include "ledger/info_log.h"

namespace ledger {
namespace {

constexpr size_t kHashBytes = 32;
constexpr const char* kCfNames[] = {"default",      "events", "ids",         "streams",
                                    "stream_index", "meta",   "projections", "facts"};
constexpr std::string_view kHeadKey = "head";

std::string StreamIndexKey(std::string_view stream, uint64_t version) {
  std::string k(stream);
  k.push_back('\0');
  PutBE64(&k, version);
  return k;
}

// ids value: seq (8) | content digest (32) | stream
struct IdEntry {
  Seq seq = 0;
  Hash digest{};
  std::string stream;
};
std::string EncodeIdEntry(const IdEntry& e) {
  std::string v = BE64(e.seq);
  v.append(reinterpret_cast<const char*>(e.digest.data()), e.digest.size());
  v.append(e.stream);
  return v;
}
std::optional<IdEntry> DecodeIdEntry(std::string_view v) {
  if (v.size() < 8 + kHashBytes) return std::nullopt;
  IdEntry e;
  e.seq = GetBE64(v.data());
  std::memcpy(e.digest.data(), v.data() + 8, kHashBytes);
  e.stream = std::string(v.substr(8 + kHashBytes));
  return e;
}

std::string EncodeHead(const Head& h) {
  std::string v = BE64(h.seq);
  v.append(reinterpret_cast<const char*>(h.hash.data()), h.hash.size());
  PutBE64(&v, static_cast<uint64_t>(h.recorded_at_us));
  return v;
}

// The hash chain: SHA-256(previous hash | canonical bytes of the StoredEvent).
Hash ChainHash(Sha256& sha, const Hash& prev, const void* bytes, size_t size) {
  return sha.Update(prev.data(), prev.size()).Update(bytes, size).Finish();
}

int64_t SystemNowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

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

// The one place with RocksDB tuning. Defaults are kept except where the ledger's access
// pattern is known: sequential keys in `events`, point lookups in `ids`, `streams` and the
// projections (a catch-up looks up every line, fold state and tally it replaces, most of them
// absent while a rebuild writes), and `facts`, read whole by every replay, kept uncompressed
// (about 40 bytes an event).
rocksdb::ColumnFamilyOptions TunedCfOptions(bool point_lookups, bool compressed) {
  rocksdb::ColumnFamilyOptions cf;
  cf.write_buffer_size = 64 << 20;
  if (!compressed) cf.compression = rocksdb::kNoCompression;
  if (point_lookups) {
    rocksdb::BlockBasedTableOptions t;
    t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  }
  return cf;
}

Error StorageError(const rocksdb::Status& s, const char* what) {
  return Error{ErrorCode::kStorage, std::string(what) + ": " + s.ToString()};
}

Error Corruption(Seq seq, std::string problem) {
  return Error{ErrorCode::kCorruption, "seq " + std::to_string(seq) + ": " + std::move(problem)};
}

// A stored value decoded in place: hash, then the canonical words of a StoredEvent.
class ValueDecoder {
 public:
  Status Decode(Seq key_seq, const rocksdb::Slice& value, Hash* hash,
                schema::StoredEvent::Reader* root) {
    if (value.size() < kHashBytes + sizeof(capnp::word) ||
        (value.size() - kHashBytes) % sizeof(capnp::word) != 0) {
      return Corruption(key_seq, "stored value has a bad size");
    }
    std::memcpy(hash->data(), value.data(), kHashBytes);
    const size_t words = (value.size() - kHashBytes) / sizeof(capnp::word);
    // Not a std::vector: capnp::word cannot be copied, and clang rejects vector<word>::resize.
    if (buf_.size() < words) buf_ = kj::heapArray<capnp::word>(words);
    std::memcpy(buf_.begin(), value.data() + kHashBytes, words * sizeof(capnp::word));
    segment_ = kj::ArrayPtr<const capnp::word>(buf_.begin(), words);
    reader_.emplace(kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>>(&segment_, 1));
    *root = reader_->getRoot<schema::StoredEvent>();
    if (root->getSeq() != key_seq) return Corruption(key_seq, "stored seq differs from its key");
    return Ok();
  }

 private:
  kj::Array<capnp::word> buf_;
  kj::ArrayPtr<const capnp::word> segment_;
  std::optional<capnp::SegmentArrayMessageReader> reader_;
};

}  // namespace

std::string StreamOf(schema::Event::Reader ev) {
  using B = schema::Event::Body;
  auto body = ev.getBody();
  auto beneficiary = [](schema::Beneficiary::Reader b) {
    return "beneficiary/" + std::string(b.getNiss().cStr());
  };
  auto provider = [](capnp::Text::Reader id) { return "provider/" + std::string(id.cStr()); };
  auto network = [](capnp::Text::Reader id) { return "network/" + std::string(id.cStr()); };
  switch (body.which()) {
    case B::NETWORK_REGISTERED:
      return network(body.getNetworkRegistered().getNetworkId());
    case B::PROVIDER_ENROLLED:
      return provider(body.getProviderEnrolled().getProviderId());
    case B::PROVIDER_LEFT:
      return provider(body.getProviderLeft().getProviderId());
    case B::BUDGET_ALLOCATED:
      return network(body.getBudgetAllocated().getNetworkId());
    case B::RULESET_PUBLISHED:
      return "rules";
    case B::ASSESSMENT_RECORDED:
      return beneficiary(body.getAssessmentRecorded().getBeneficiary());
    case B::EXCEPTION_GRANTED:
      return beneficiary(body.getExceptionGranted().getBeneficiary());
    case B::SESSION_INDIVIDUAL:
      return beneficiary(body.getSessionIndividual().getBeneficiary());
    case B::SESSION_GROUP:
      return network(body.getSessionGroup().getNetworkId());
    case B::COMMUNITY_INTERVENTION:
      return network(body.getCommunityIntervention().getNetworkId());
    case B::SUPPORT_MISSION:
      return provider(body.getSupportMission().getProviderId());
    case B::CONCERTATION_HELD:
      return beneficiary(body.getConcertationHeld().getBeneficiary());
    case B::EVENT_VOIDED:
      return "";  // the target's stream, resolved by the log
    case B::INVOICE_ISSUED:
      return provider(body.getInvoiceIssued().getProviderId());
  }
  return "";
}

// ---------------------------------------------------------------------------------------------
// Open and recovery.

namespace {

// A log is there when RocksDB's CURRENT file is. When it is not and one may be created, the
// directory is made (or kept) private first: RocksDB would make it with the umask.
Status PrepareDirectory(rocksdb::Env* env, const std::string& dir, bool create) {
  const rocksdb::Status current = env->FileExists(dir + "/CURRENT");
  if (current.ok()) return Ok();
  if (!current.IsNotFound())
    return StorageError(current, ("looking for a ledger in " + dir).c_str());
  if (!create) {
    return Error{ErrorCode::kNotFound, "no ledger in " + dir + " (nothing was created there)"};
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Error{ErrorCode::kStorage,
                 "cannot create the ledger directory " + dir + ": " + std::strerror(errno)};
  }
  if (::chmod(dir.c_str(), 0700) != 0) {
    return Error{ErrorCode::kStorage, "cannot make " + dir + " private: " + std::strerror(errno)};
  }
  return Ok();
}

}  // namespace

Result<std::unique_ptr<EventLog>> EventLog::Open(const std::string& dir, LogOptions options) {
  std::unique_ptr<EventLog> log(new EventLog());
  log->options_ = std::move(options);
  if (!log->options_.now_us) log->options_.now_us = SystemNowUs;
  if (log->options_.chunk_events_max == 0) log->options_.chunk_events_max = 1;

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.paranoid_checks = true;
  db_options.max_background_jobs = 2;
  if (log->options_.env) db_options.env = log->options_.env.get();
  if (Status d = PrepareDirectory(db_options.env, dir,
                                  log->options_.create_if_missing && !log->options_.read_only);
      !d) {
    return d.error();
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (int i = 0; i < kCfCount; ++i) {
    descriptors.emplace_back(kCfNames[i], TunedCfOptions(i == kIds || i == kStreams || i == kProjections, i != kFacts));
    descriptors.back().options.disable_auto_compactions = !log->options_.compact;
  }
  // RocksDB's diagnostics: LOG beside the data, by a logger that survives a full disk (its own
  // aborts on one). A reader writes none: it has nowhere it may write.
  db_options.info_log = InfoLog::Open(log->options_.read_only ? "" : dir + "/LOG");
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  if (log->options_.read_only && log->options_.in_place) {
    // RocksDB's read-only mode: the WAL is replayed in memory, nothing is written anywhere.
    db_options.create_if_missing = false;
    db_options.create_missing_column_families = false;
    s = rocksdb::DB::OpenForReadOnly(db_options, dir, descriptors, &log->cfs_, &raw);
    log->failed_.store(true);
  } else if (log->options_.read_only) {
    // A secondary instance keeps every table file open (max_open_files -1), so that files the
    // primary compacts away stay readable for as long as this snapshot lives.
    db_options.create_if_missing = false;
    db_options.create_missing_column_families = false;
    db_options.max_open_files = -1;
    std::string tmpl = (std::filesystem::temp_directory_path() / "ledger-reader-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) {
      return Error{ErrorCode::kStorage, "cannot create a temporary directory for a reader"};
    }
    log->secondary_dir_ = tmpl;
    s = rocksdb::DB::OpenAsSecondary(db_options, dir, log->secondary_dir_, descriptors, &log->cfs_,
                                     &raw);
    if (s.ok()) s = raw->TryCatchUpWithPrimary();
    log->failed_.store(true);  // every write goes to Refuse(), which says why
  } else {
    s = rocksdb::DB::Open(db_options, dir, descriptors, &log->cfs_, &raw);
  }
  if (raw) log->db_.reset(raw);
  if (!s.ok()) return StorageError(s, ("opening " + dir).c_str());
  if (Status r = log->Recover(); !r) return r.error();
  return log;
}

EventLog::~EventLog() {
  if (db_) {
    for (auto* cf : cfs_) db_->DestroyColumnFamilyHandle(cf);
    db_->Close().PermitUncheckedError();
    db_.reset();
  }
  if (!secondary_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(secondary_dir_, ec);
  }
}

Status EventLog::Recover() {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cfs_[kMeta], kHeadKey, &v);
  if (s.ok()) {
    if (v.size() != 8 + kHashBytes + 8) return Error{ErrorCode::kCorruption, "bad head record"};
    head_.seq = GetBE64(v.data());
    std::memcpy(head_.hash.data(), v.data() + 8, kHashBytes);
    head_.recorded_at_us = static_cast<int64_t>(GetBE64(v.data() + 8 + kHashBytes));
  } else if (!s.IsNotFound()) {
    return StorageError(s, "reading the head");
  }
  // Events after the head are the chunks of a batch that never committed (a crash mid-append),
  // and their facts (written in the same chunks), unless a committed batch wrote them: then the
  // head was moved back, and nothing is deleted (README, "Commit and recovery").
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kEvents]));
  std::unique_ptr<rocksdb::Iterator> fit(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kFacts]));
  it->Seek(BE64(head_.seq + 1));
  fit->Seek(BE64(head_.seq + 1));
  if (!it->status().ok()) return StorageError(it->status(), "scanning the tail");
  if (!fit->status().ok()) return StorageError(fit->status(), "scanning the tail of the facts");
  if (it->Valid()) {
    auto committed = CommittedAfterHead(it.get());
    if (!committed) return committed.error();
    if (*committed != 0) {
      const std::string problem =
          "a committed event lies after the recorded head (seq " + std::to_string(head_.seq) +
          "): the id index names it, so a committed batch wrote it; the head was moved back or "
          "rewritten. Nothing was deleted (ops/RUNBOOK.md, \"Corruption\")";
      if (options_.check_tail) return Corruption(*committed, problem);
      past_head_.emplace(*committed, problem);  // verify reports it; nothing is deleted
      return Ok();
    }
  }
  if ((it->Valid() || fit->Valid()) && !options_.read_only) {
    rocksdb::WriteBatch b;
    b.DeleteRange(cfs_[kEvents], BE64(head_.seq + 1), BE64(UINT64_MAX));
    b.DeleteRange(cfs_[kFacts], BE64(head_.seq + 1), BE64(UINT64_MAX));
    if (Status w = WriteDurable(&b); !w) return w;
  }
  return options_.check_tail ? CheckTail() : Ok();
}

// `it` is at the first event after the head. A committed batch writes its events' ids in its
// final write, with the head: an event after the head that the id index names (at its own seq)
// was committed, and the head has moved back since. The first and the last event after the head
// are looked at: an uncommitted tail is one batch's chunks, contiguous from the head on. The
// seq of a committed one, or 0.
Result<Seq> EventLog::CommittedAfterHead(rocksdb::Iterator* it) const {
  ValueDecoder dec;
  std::string idv;
  for (bool last : {false, true}) {
    if (last) it->SeekToLast();
    if (!it->status().ok()) return StorageError(it->status(), "scanning the tail");
    const Seq seq = it->key().size() == 8 ? GetBE64(it->key().data()) : 0;
    Hash hash{};
    schema::StoredEvent::Reader root;
    rocksdb::Status s = rocksdb::Status::NotFound();
    try {
      // A value that does not decode (as its key's event) is no committed event: a commit
      // writes whole events.
      if (dec.Decode(seq, it->value(), &hash, &root)) {
        s = db_->Get(rocksdb::ReadOptions(), cfs_[kIds], root.getEvent().getId().cStr(), &idv);
      }
    } catch (const kj::Exception&) {
    }
    if (s.IsNotFound()) continue;
    if (!s.ok()) return StorageError(s, "reading the id index");
    if (auto entry = DecodeIdEntry(idv); entry && entry->seq == seq) return seq;
  }
  return Seq{0};
}

// The last event must be at the head's seq, decode, carry the head's hash, and chain from the
// event before it. Finds a torn or altered end at start-up without reading all of history.
Status EventLog::CheckTail() {
  if (head_.seq == 0) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kEvents]));
    it->SeekToFirst();
    if (it->Valid()) return Error{ErrorCode::kCorruption, "events stored but no head recorded"};
    return Ok();
  }
  Hash prev{};
  if (head_.seq > 1) {
    std::string pv;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cfs_[kEvents], BE64(head_.seq - 1), &pv);
    if (!s.ok()) return Corruption(head_.seq - 1, "missing before the head: " + s.ToString());
    if (pv.size() < kHashBytes) return Corruption(head_.seq - 1, "stored value too short");
    std::memcpy(prev.data(), pv.data(), kHashBytes);
  }
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cfs_[kEvents], BE64(head_.seq), &v);
  if (!s.ok()) return Corruption(head_.seq, "the head event is missing: " + s.ToString());
  Hash stored{};
  schema::StoredEvent::Reader root;
  ValueDecoder dec;
  try {
    if (Status d = dec.Decode(head_.seq, v, &stored, &root); !d) return d;
  } catch (const kj::Exception& e) {
    return Corruption(head_.seq, "undecodable: " + std::string(e.getDescription().cStr()));
  }
  Sha256 sha;
  const Hash computed = ChainHash(sha, prev, v.data() + kHashBytes, v.size() - kHashBytes);
  if (computed != stored || stored != head_.hash) {
    return Corruption(head_.seq, "the tail of the hash chain does not match the head");
  }
  return Ok();
}

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

Status EventLog::Fail(const rocksdb::Status& s, const char* what) {
  std::lock_guard<std::mutex> lock(failure_mu_);
  failure_ = std::string(what) + ": " + s.ToString();
  failed_.store(true);
  return Error{ErrorCode::kWritesStopped, failure_};
}

Status EventLog::Refuse() const {
  std::lock_guard<std::mutex> lock(failure_mu_);
  if (!failure_.empty()) {
    return Error{ErrorCode::kWritesStopped,
                 "writes are stopped after a storage failure: " + failure_};
  }
  if (options_.in_place) return Error{ErrorCode::kWritesStopped, "the ledger was opened read-only"};
  return Error{ErrorCode::kWritesStopped,
               "the ledger was opened read-only (another process, ledgerd, writes it)"};
}

void EventLog::StopWrites(const std::string& why) {
  std::lock_guard<std::mutex> lock(failure_mu_);
  failure_ = why;
  failed_.store(true);
}

std::string EventLog::failure() const {
  std::lock_guard<std::mutex> lock(failure_mu_);
  return failure_;
}

Head EventLog::head() const {
  std::lock_guard<std::mutex> lock(head_mu_);
  return head_;
}

// Group commit: what Append::RollbackToSavepoint() restores.
struct SavepointState {
  Seq next_seq = 0;
  Hash prev{};
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
  std::unordered_map<std::string, IdEntry> ids;        // this batch's ids
  std::unordered_map<std::string, uint64_t> versions;  // streams touched by this batch
  rocksdb::WriteBatch chunk;                           // events not yet written
  // (stream, version) -> seq: the stream index entries, written by Commit() only, sorted so
  // that RocksDB's memtable inserts them in key order (much cheaper than random order).
  std::vector<std::pair<std::string, Seq>> stream_index;
  size_t chunk_events = 0;
  bool chunks_written = false;
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
  if (!state_->committed && state_->chunks_written) {
    // Take back the chunks already written; if even that fails, the log is failed and the next
    // Open() removes them (they lie after the head).
    rocksdb::WriteBatch b;
    b.DeleteRange(log_->cfs_[kEvents], BE64(state_->base.seq + 1), BE64(UINT64_MAX));
    b.DeleteRange(log_->cfs_[kFacts], BE64(state_->base.seq + 1), BE64(UINT64_MAX));
    (void)log_->WriteDurable(&b);
  }
}

Seq EventLog::Append::next_seq() const { return state_->next_seq; }

void EventLog::Append::SetSavepoint() {
  State& st = *state_;
  st.held = true;
  if (st.savepoint) (void)st.chunk.PopSavePoint();  // the previous request was kept
  st.savepoint.emplace();
  st.savepoint->next_seq = st.next_seq;
  st.savepoint->prev = st.prev;
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
  assert(st.savepoint && !st.chunks_written);
  SavepointState& sp = *st.savepoint;
  st.next_seq = sp.next_seq;
  st.prev = sp.prev;
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

Status EventLog::Append::Add(const DecodedEvent& decoded) {
  State& st = *state_;
  const int64_t index = static_cast<int64_t>(st.result.results.size());
  schema::Event::Reader ev = decoded.event();
  std::string id(ev.getId().cStr());
  auto fail = [&](ErrorCode code, std::string field, std::string msg) -> Status {
    st.poisoned = true;
    return Error{code, std::move(msg), index, id, std::move(field)};
  };
  if (st.poisoned) return fail(ErrorCode::kInvalidArgument, "", "the batch already failed");
  if (log_->failed_.load()) return log_->Refuse();

  kj::Array<capnp::word> content = capnp::canonicalize(ev);
  const Hash digest = st.sha.Update(content.begin(), content.size() * sizeof(capnp::word)).Finish();

  auto lookup = [&](const std::string& key) -> Result<std::optional<IdEntry>> {
    if (auto it = st.ids.find(key); it != st.ids.end()) return std::optional<IdEntry>(it->second);
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
    st.result.results.push_back({id, (*existing)->seq, AppendStatus::kDuplicate});
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
  if (decoded.expected_version && static_cast<uint64_t>(*decoded.expected_version) != version) {
    // The stream name is not echoed: it may hold a NISS.
    return fail(ErrorCode::kConflict, "expected_version",
                "the event's stream is at version " + std::to_string(version) + ", not " +
                    std::to_string(*decoded.expected_version));
  }

  const Seq seq = st.next_seq++;
  capnp::MallocMessageBuilder message(512);  // per event: an arena reused would only grow
  auto stored = message.initRoot<schema::StoredEvent>();
  stored.setSeq(seq);
  stored.setRecordedAtUs(st.recorded_at_us);
  stored.setEvent(ev);
  kj::Array<capnp::word> bytes = capnp::canonicalize(stored.asReader());
  const size_t size = bytes.size() * sizeof(capnp::word);
  const Hash hash = ChainHash(st.sha, st.prev, bytes.begin(), size);
  std::string value(reinterpret_cast<const char*>(hash.data()), kHashBytes);
  value.append(reinterpret_cast<const char*>(bytes.begin()), size);
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
  st.result.results.push_back({std::move(id), seq, AppendStatus::kAppended});
  ++st.result.appended;

  if (++st.chunk_events >= log_->options_.chunk_events_max && !st.held) {
    // Written now, visible only when Commit() moves the head past them.
    st.FlushFacts(&st.chunk, log_->cfs_[kFacts]);
    if (Status w = log_->WriteChunk(&st.chunk); !w) {
      st.poisoned = true;
      return w;
    }
    st.chunk.Clear();
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
  Head head = st.base;
  if (st.result.appended > 0) {
    assert(st.next_seq - 1 == st.base.seq + st.result.appended);  // gapless
    head = Head{st.next_seq - 1, st.prev, st.recorded_at_us};
    // The last chunk of events and the whole index, each column family in key order, in one
    // synced write: the commit point.
    rocksdb::WriteBatch& b = st.chunk;
    st.FlushFacts(&b, log_->cfs_[kFacts]);
    std::vector<const std::pair<const std::string, IdEntry>*> ids;
    ids.reserve(st.ids.size());
    for (const auto& kv : st.ids) ids.push_back(&kv);
    std::sort(ids.begin(), ids.end(), [](auto* a, auto* c) { return a->first < c->first; });
    for (const auto* kv : ids) b.Put(log_->cfs_[kIds], kv->first, EncodeIdEntry(kv->second));
    std::sort(st.stream_index.begin(), st.stream_index.end());
    for (const auto& [key, seq] : st.stream_index) {
      b.Put(log_->cfs_[kStreamIndex], key, BE64(seq));
    }
    std::vector<std::pair<std::string, uint64_t>> versions(st.versions.begin(), st.versions.end());
    std::sort(versions.begin(), versions.end());
    for (const auto& [stream, version] : versions) {
      b.Put(log_->cfs_[kStreams], stream, BE64(version));
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
  SeqRangeIterator it(db_.get(), cfs_[kEvents], from, last, last - from >= 4096);
  ValueDecoder dec;
  Seq expect = from;
  try {
    for (; it->Valid(); it->Next(), ++expect) {
      StoredEventView view;
      view.seq_ = it->key().size() == 8 ? GetBE64(it->key().data()) : 0;
      if (view.seq_ != expect) {
        return Corruption(expect, "missing from the events column family");
      }
      if (Status d = dec.Decode(view.seq_, it->value(), &view.hash_, &view.root_); !d) return d;
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

namespace {

Status ParseFactsChunk(const rocksdb::Slice& key, const rocksdb::Slice& value,
                       EventLog::FactsChunk* out) {
  const Seq first = key.size() == 8 ? GetBE64(key.data()) : 0;
  if (first == 0 || value.size() < kFactsHeaderBytes) {
    return Corruption(first, "bad facts chunk");
  }
  if (static_cast<uint8_t>(value[0]) != kFactsFormat) {
    return Corruption(first, "facts chunk of an unknown format " +
                                 std::to_string(static_cast<uint8_t>(value[0])));
  }
  out->first = first;
  std::memcpy(&out->count, value.data() + 1, sizeof out->count);
  out->records =
      std::string_view(value.data() + kFactsHeaderBytes, value.size() - kFactsHeaderBytes);
  if (out->count == 0) return Corruption(first, "empty facts chunk");
  return Ok();
}

}  // namespace

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

// What a Verify pass carries from the walk of the events to the checks of the indexes.
struct EventLog::VerifyPass {
  rocksdb::ReadOptions ro;  // at one snapshot of every column family (a writer may commit)
  Head head;
  VerifyReport report;
  // The hash of each event's stream, by seq (index 0 unused): the stream index must point at
  // events of its stream. 8 bytes an event for the length of the pass.
  std::vector<uint64_t> stream_hash;

  bool Bad(Seq seq, std::string problem) {
    report.ok = false;
    report.first_bad_seq = seq;
    report.problem = std::move(problem);
    return false;
  }
};

namespace {

uint64_t StreamHash(std::string_view stream) { return std::hash<std::string_view>{}(stream); }

// A snapshot released at the end of its scope; none for a reader, whose view does not move.
class ScopedSnapshot {
 public:
  ScopedSnapshot(rocksdb::DB* db, bool take) : db_(db), snap_(take ? db->GetSnapshot() : nullptr) {}
  ~ScopedSnapshot() {
    if (snap_) db_->ReleaseSnapshot(snap_);
  }
  ScopedSnapshot(const ScopedSnapshot&) = delete;
  ScopedSnapshot& operator=(const ScopedSnapshot&) = delete;
  const rocksdb::Snapshot* get() const { return snap_; }

 private:
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snap_;
};

}  // namespace

Result<VerifyReport> EventLog::Verify(const std::function<void(Seq, Seq)>& progress) const {
  VerifyPass pass;
  const ScopedSnapshot snapshot(db_.get(), !options_.read_only);
  pass.ro.snapshot = snapshot.get();
  pass.head = head();
  if (snapshot.get()) {
    std::string v;
    rocksdb::Status s = db_->Get(pass.ro, cfs_[kMeta], kHeadKey, &v);
    if (s.ok() && v.size() == 8 + kHashBytes + 8) {
      pass.head.seq = GetBE64(v.data());
      std::memcpy(pass.head.hash.data(), v.data() + 8, kHashBytes);
    } else if (!s.IsNotFound()) {
      return s.ok() ? Error{ErrorCode::kCorruption, "bad head record"}
                    : StorageError(s, "reading the head");
    }
  }
  if (past_head_) {
    pass.Bad(past_head_->first, past_head_->second);
    return pass.report;
  }
  if (Status w = VerifyEvents(&pass, progress); !w) return w.error();
  if (pass.report.ok) {
    if (Status i = VerifyIdIndex(&pass); !i) return i.error();
  }
  if (pass.report.ok) {
    if (Status t = VerifyStreamIndex(&pass); !t) return t.error();
  }
  return pass.report;
}

// The id index entry of an event: it points at the event, and names the event's stream (for a
// void, its target's).
bool EventLog::VerifyIdEntry(VerifyPass* pass, Seq seq, schema::Event::Reader ev) const {
  std::string idv;
  rocksdb::Status s = db_->Get(pass->ro, cfs_[kIds], ev.getId().cStr(), &idv);
  auto entry = s.ok() ? DecodeIdEntry(idv) : std::nullopt;
  if (!entry || entry->seq != seq)
    return pass->Bad(seq, "the id index does not point at this event");
  std::string stream;
  if (ev.getBody().isEventVoided()) {
    s = db_->Get(pass->ro, cfs_[kIds], ev.getBody().getEventVoided().getTarget().cStr(), &idv);
    auto target = s.ok() ? DecodeIdEntry(idv) : std::nullopt;
    if (!target || target->seq >= seq) {
      return pass->Bad(seq, "the id index has no earlier event for this void's target");
    }
    stream = std::move(target->stream);
  } else {
    stream = StreamOf(ev);
  }
  // The stream name is not echoed: it may hold a NISS.
  if (entry->stream != stream)
    return pass->Bad(seq, "the id index gives this event another stream");
  pass->stream_hash[seq] = StreamHash(stream);
  return true;
}

Status EventLog::VerifyEvents(VerifyPass* pass,
                              const std::function<void(Seq, Seq)>& progress) const {
  VerifyReport& report = pass->report;
  const Head& head = pass->head;
  pass->stream_hash.assign(head.seq + 1, 0);
  Hash prev{};
  int64_t last_recorded = INT64_MIN;
  Sha256 sha;
  auto bad = [&](Seq seq, std::string problem) { return pass->Bad(seq, std::move(problem)); };
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(pass->ro, cfs_[kEvents]));
  ValueDecoder dec;
  Seq expect = 1;
  // Facts, walked beside the events: each event's record must be what the event encodes to.
  // Events without facts (written by a version before them) are allowed: readers read those
  // events themselves.
  const std::string facts_upper = BE64(head.seq + 1);
  rocksdb::Slice facts_upper_slice(facts_upper);
  rocksdb::ReadOptions fro = pass->ro;
  fro.iterate_upper_bound = &facts_upper_slice;
  std::unique_ptr<rocksdb::Iterator> fit(db_->NewIterator(fro, cfs_[kFacts]));
  fit->SeekToFirst();
  uint32_t chunk_left = 0;  // the records of the chunk being checked not checked yet
  std::string chunk_bytes;
  std::string_view records;  // what is left of chunk_bytes
  std::string want;
  auto check_facts = [&](Seq seq, schema::Event::Reader ev) -> bool {
    if (chunk_left == 0 && fit->Valid()) {
      FactsChunk next;
      if (Status p = ParseFactsChunk(fit->key(), fit->value(), &next); !p) {
        return bad(seq, p.error().message);
      }
      if (next.first < seq) return bad(next.first, "facts chunk overlaps the one before");
      if (next.first == seq) {
        chunk_left = next.count;
        chunk_bytes.assign(next.records);  // the iterator's value does not outlive Next()
        records = chunk_bytes;
        fit->Next();
      }
    }
    if (chunk_left == 0) return true;  // no facts written for this event
    want.clear();
    if (Status e = EncodeFacts(ev, &want); !e) return bad(seq, e.error().message);
    if (!records.starts_with(want)) return bad(seq, "its facts differ from the event");
    records.remove_prefix(want.size());
    if (--chunk_left == 0 && !records.empty()) {
      return bad(seq, "its facts chunk holds more than its count");
    }
    return true;
  };
  try {
    for (it->SeekToFirst(); it->Valid() && expect <= head.seq; it->Next(), ++expect) {
      const Seq seq = it->key().size() == 8 ? GetBE64(it->key().data()) : 0;
      if (seq != expect) {
        bad(expect, "sequence gap: found key " + std::to_string(seq));
        break;
      }
      Hash stored{};
      schema::StoredEvent::Reader root;
      const rocksdb::Slice v = it->value();
      if (v.size() < kHashBytes) {
        bad(seq, "stored value too short");
        break;
      }
      const Hash computed = ChainHash(sha, prev, v.data() + kHashBytes, v.size() - kHashBytes);
      if (std::memcmp(computed.data(), v.data(), kHashBytes) != 0) {
        bad(seq, "hash does not chain from the previous event");
        break;
      }
      if (Status d = dec.Decode(seq, v, &stored, &root); !d) {
        bad(seq, d.error().message);
        break;
      }
      if (root.getRecordedAtUs() < last_recorded) {
        bad(seq, "recorded_at goes backwards");
        break;
      }
      last_recorded = root.getRecordedAtUs();
      if (!VerifyIdEntry(pass, seq, root.getEvent())) break;
      if (!check_facts(seq, root.getEvent())) break;
      prev = stored;
      ++report.events;
      if (progress && seq % 65536 == 0) progress(seq, head.seq);
    }
  } catch (const kj::Exception& e) {
    bad(expect, "undecodable: " + std::string(e.getDescription().cStr()));
  }
  if (!it->status().ok()) return StorageError(it->status(), "reading events");
  if (report.ok && report.events != head.seq) {
    bad(report.events + 1, "the chain ends before the recorded head");
  }
  if (report.ok && prev != head.hash) bad(head.seq, "the last hash differs from the recorded head");
  if (report.ok && chunk_left > 0) bad(head.seq, "its facts chunk holds fewer than its count");
  if (report.ok && fit->Valid()) {
    bad(GetBE64(fit->key().data()), "facts stored for no event");
  }
  if (!fit->status().ok()) return StorageError(fit->status(), "reading facts");
  report.head = prev;
  if (progress) progress(report.events, head.seq);
  return Ok();
}

// Every event's entry points at it (VerifyEvents); so the index holds one entry per event and no
// other. An entry more is named by the seq it points at.
Status EventLog::VerifyIdIndex(VerifyPass* pass) const {
  uint64_t entries = 0;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(pass->ro, cfs_[kIds]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++entries;
  if (!it->status().ok()) return StorageError(it->status(), "reading the id index");
  if (entries == pass->report.events) return Ok();
  // Which: the first entry that points past the head or at an event with another id.
  ValueDecoder dec;
  std::string v;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto entry = DecodeIdEntry(std::string_view(it->value().data(), it->value().size()));
    if (!entry || entry->seq == 0 || entry->seq > pass->head.seq) {
      pass->Bad(entry ? entry->seq : 0, "the id index names an event past the head");
      return Ok();
    }
    rocksdb::Status s = db_->Get(pass->ro, cfs_[kEvents], BE64(entry->seq), &v);
    if (!s.ok()) return StorageError(s, "reading events");
    Hash hash{};
    schema::StoredEvent::Reader root;
    try {
      if (Status d = dec.Decode(entry->seq, v, &hash, &root); !d) return d;
      if (it->key() != rocksdb::Slice(root.getEvent().getId().cStr())) {
        pass->Bad(entry->seq, "the id index holds an entry for another id that points at it");
        return Ok();
      }
    } catch (const kj::Exception& e) {
      return Corruption(entry->seq, "undecodable: " + std::string(e.getDescription().cStr()));
    }
  }
  if (!it->status().ok()) return StorageError(it->status(), "reading the id index");
  pass->Bad(pass->head.seq, "the id index holds " + std::to_string(entries) + " entries for " +
                                std::to_string(pass->report.events) + " events");
  return Ok();
}

// stream_index, walked in key order (stream, version) beside `streams` (in stream order too):
// each stream's versions are 1, 2, ... in seq order, point at events of that stream, and end at
// the version `streams` records; every event is pointed at once (as many entries as events).
// Stream names are never echoed (they may hold a NISS): problems name a seq.
Status EventLog::VerifyStreamIndex(VerifyPass* pass) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(pass->ro, cfs_[kStreamIndex]));
  std::unique_ptr<rocksdb::Iterator> vit(db_->NewIterator(pass->ro, cfs_[kStreams]));
  vit->SeekToFirst();
  std::string stream;  // the current group's
  uint64_t version = 0, entries = 0;
  Seq last = 0;
  // The group of `stream` is over: `streams` must hold it next, with its count.
  auto close_group = [&]() -> bool {
    if (version == 0) return true;
    if (!vit->Valid() || vit->key() != rocksdb::Slice(stream)) {
      return pass->Bad(last,
                       "the stream of this event has no version recorded, or one is "
                       "recorded for a stream without events before it");
    }
    if (vit->value().size() != 8 || GetBE64(vit->value().data()) != version) {
      return pass->Bad(last, "the version recorded for this event's stream is not its count (" +
                                 std::to_string(version) + ")");
    }
    vit->Next();
    return true;
  };
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const rocksdb::Slice key = it->key();
    if (key.size() < 9 || key[key.size() - 9] != '\0' || it->value().size() != 8) {
      return Error{ErrorCode::kCorruption, "bad stream index entry"};
    }
    const std::string_view name(key.data(), key.size() - 9);
    const uint64_t v = GetBE64(key.data() + key.size() - 8);
    const Seq seq = GetBE64(it->value().data());
    if (name != stream) {
      if (!close_group()) return Ok();
      stream.assign(name);
      version = 0;
      last = 0;
    }
    if (seq == 0 || seq > pass->head.seq) {
      pass->Bad(seq, "the stream index names an event past the head");
      return Ok();
    }
    if (v != version + 1 || seq <= last) {
      pass->Bad(seq, "the stream index is out of order at this event");
      return Ok();
    }
    if (pass->stream_hash[seq] != StreamHash(name)) {
      pass->Bad(seq, "the stream index lists this event in another stream");
      return Ok();
    }
    version = v;
    last = seq;
    ++entries;
  }
  if (!it->status().ok()) return StorageError(it->status(), "reading the stream index");
  if (!close_group()) return Ok();
  if (vit->Valid()) {
    pass->Bad(0, "a stream version is recorded for a stream without events");
    return Ok();
  }
  if (!vit->status().ok()) return StorageError(vit->status(), "reading the stream versions");
  if (entries != pass->report.events) {
    pass->Bad(pass->head.seq, "the stream index holds " + std::to_string(entries) +
                                  " entries for " + std::to_string(pass->report.events) +
                                  " events");
  }
  return Ok();
}

}  // namespace ledger
