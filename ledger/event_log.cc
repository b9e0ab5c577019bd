#include "ledger/event_log.h"

#include <kj/exception.h>
#include <rocksdb/convenience.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <set>
#include <thread>

#include "ledger/event_log_internal.h"
#include "ledger/info_log.h"
#include "schemas/invariant.h"

namespace ledger {

using namespace detail;  // NOLINT: the log's own internals

namespace {

int64_t SystemNowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The one place with RocksDB tuning. Defaults are kept except where the ledger's access
// pattern is known: sequential keys in `events`, point lookups in `ids`, `streams` and the
// projections (a catch-up looks up the fold states, earlier lines and tallies it replaces, most
// of them there), and `facts`, read whole by every replay, kept uncompressed (about 40 bytes an
// event).
//
// The memtables of all column families together are held under kMemtablesBytes (a batch writes
// to five of them at once; each alone may grow to write_buffer_size). The table files' index
// and filter blocks stay in memory as RocksDB keeps them by default: held in a block cache of
// fixed size instead, a 20M-event ledger's would not fit, and every lookup of a verify re-read
// its file's whole filter (seen: a restore's verify of 20M events reading terabytes). What they
// hold grows with the history, so they are kept small (issue 15: 20M events held some 150 MB
// of them, from the open on, in every append):
// - index keys are prefix-compressed (a restart every 16 entries, not every entry);
// - `events`, read in ranges or one event at a time, has 16 KB blocks: a quarter of the index;
// - table files are opened when first read (max_open_files below): an append that never
//   reads the projections holds none of their filters;
// - `projections` has no filter on its last level, where most of its keys are: the catch-ups
//   look up keys that are there (fold states, lines they replace, tallies) far more often than
//   keys that are not (a new beneficiary's fold state).
// These apply to the table files written from then on (flushes, compactions); older files are
// read as they were written.
constexpr size_t kMemtablesBytes = 128 << 20;

enum class CfKind { kPlain, kRanges, kPointLookups, kPointHits, kUncompressed };

rocksdb::ColumnFamilyOptions TunedCfOptions(CfKind kind) {
  rocksdb::ColumnFamilyOptions cf;
  cf.write_buffer_size = 64 << 20;
  rocksdb::BlockBasedTableOptions t;
  t.index_block_restart_interval = 16;
  switch (kind) {
    case CfKind::kPlain:
      break;
    case CfKind::kRanges:
      t.block_size = 16 << 10;
      break;
    case CfKind::kUncompressed:
      cf.compression = rocksdb::kNoCompression;
      break;
    case CfKind::kPointHits:
      cf.optimize_filters_for_hits = true;
      [[fallthrough]];
    case CfKind::kPointLookups:
      t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
      t.optimize_filters_for_memory = true;
      // The memtable has its own: a batch's id lookups mostly miss, and the ids of its earlier
      // chunks are in the memtable.
      cf.memtable_whole_key_filtering = true;
      cf.memtable_prefix_bloom_size_ratio = 0.02;
      break;
  }
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  return cf;
}

constexpr const char* kCfNames[] = {"default",     "events",       "ids",
                                    "streams",     "stream_index", "meta",
                                    "projections", "facts",        "projections.b"};
// In the order of kCfNames.
constexpr CfKind kCfKinds[] = {CfKind::kPlain,        CfKind::kRanges,       CfKind::kPointLookups,
                               CfKind::kPointLookups, CfKind::kPlain,        CfKind::kPlain,
                               CfKind::kPointHits,    CfKind::kUncompressed, CfKind::kPointHits};
static_assert(std::size(kCfKinds) == std::size(kCfNames));

// meta/derived: which of the two derived column families holds the derived data ("b": the
// second; absent or anything else: the first).
constexpr std::string_view kDerivedKey = "derived";

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
  // The WAL is bounded: past this, the column families holding its oldest file are flushed, so
  // that an open never replays more than this (a restart's cost; issue 15).
  db_options.max_total_wal_size = 256 << 20;
  // Table files are opened when first read, not all at the open (RocksDB's -1): an append that
  // never reads the projections, or a restart, holds no index or filter of theirs (20M events:
  // some 60 MB). Past this many open at once, the least recently read are closed.
  db_options.max_open_files = 4096;
  if (log->options_.env) db_options.env = log->options_.env.get();
  if (Status d = PrepareDirectory(db_options.env, dir,
                                  log->options_.create_if_missing && !log->options_.read_only);
      !d) {
    return d.error();
  }
  db_options.db_write_buffer_size = kMemtablesBytes;
  // A reader of a log that a version before this one wrote, and no writer opened since, finds
  // no spare projections column family (a writer creates it): it opens the others.
  bool spare_missing = false;
  if (log->options_.read_only) {
    std::vector<std::string> names;
    rocksdb::Status listed = rocksdb::DB::ListColumnFamilies(db_options, dir, &names);
    if (!listed.ok()) return StorageError(listed, ("opening " + dir).c_str());
    spare_missing = std::find(names.begin(), names.end(), kCfNames[kProjectionsB]) == names.end();
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (int i = 0; i < kCfCount; ++i) {
    if (i == kProjectionsB && spare_missing) continue;
    descriptors.emplace_back(kCfNames[i], TunedCfOptions(kCfKinds[i]));
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
  static_assert(kProjectionsB == kCfCount - 1);
  if (spare_missing) log->cfs_.push_back(nullptr);
  log->dir_ = dir;
  {
    std::string v;
    rocksdb::Status d = raw->Get(rocksdb::ReadOptions(), log->cfs_[kMeta], kDerivedKey, &v);
    if (!d.ok() && !d.IsNotFound()) return StorageError(d, ("opening " + dir).c_str());
    log->derived_active_ = d.ok() && v == "b" && !spare_missing ? 1 : 0;
  }
  for (int i = 0; i < 2; ++i) {  // leases: who reads each (ReplaceDerived waits for them)
    log->derived_leases_[i] = std::shared_ptr<rocksdb::ColumnFamilyHandle>(
        log->cfs_[i == 0 ? kProjections : kProjectionsB], [](rocksdb::ColumnFamilyHandle*) {});
  }
  if (!log->options_.read_only) {
    // What a rebuild cut short left (keys naming beneficiaries): gone, not kept until the next.
    std::error_code ec;
    std::filesystem::remove_all(log->derived_scratch_dir(), ec);
  }
  if (Status r = log->Recover(); !r) return r.error();
  return log;
}

std::shared_ptr<rocksdb::ColumnFamilyHandle> EventLog::derived() const {
  std::lock_guard<std::mutex> lock(derived_mu_);
  return derived_leases_[derived_active_];
}

Status EventLog::FlushMemtables() const {
  if (options_.read_only) return Ok();  // a reader's are of the WAL it replayed: nowhere to go
  rocksdb::FlushOptions flush;
  flush.allow_write_stall = true;
  if (rocksdb::Status s = db_->Flush(flush, cfs_); !s.ok()) {
    return StorageError(s, "flushing the memtables");
  }
  return Ok();
}

Status EventLog::EmptySpareDerived(bool wait) const {
  if (options_.read_only || failed_.load()) return Refuse();
  const int spare = 1 - derived_active_;
  const std::shared_ptr<rocksdb::ColumnFamilyHandle>& lease = derived_leases_[spare];
  rocksdb::ColumnFamilyHandle* cf = lease.get();
  // Whoever still reads it (a view made before the last replacement) lets it go first.
  while (lease.use_count() > 1) {
    if (!wait) return Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf));
    it->SeekToFirst();
    if (!it->status().ok()) return StorageError(it->status(), "reading the spare projections");
    if (!it->Valid()) return Ok();  // empty already
  }
  // Every key deleted; the table files of the levels below the first dropped as they are; what
  // is left (the first level's, the tombstone) compacted to nothing.
  const std::string first(1, '\0'), last(64, '\xff');
  rocksdb::WriteOptions w;
  w.disableWAL = true;
  rocksdb::Status s = db_->DeleteRange(w, cf, first, last);
  if (s.ok()) s = db_->Flush(rocksdb::FlushOptions(), cf);
  if (s.ok()) s = rocksdb::DeleteFilesInRange(db_.get(), cf, nullptr, nullptr);
  if (s.ok()) {
    rocksdb::CompactRangeOptions all;
    all.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    s = db_->CompactRange(all, cf, nullptr, nullptr);
  }
  if (!s.ok()) return StorageError(s, "emptying the spare projections");
  return Ok();
}

Status EventLog::ReplaceDerived(const std::vector<std::string>& files) const {
  if (options_.read_only || failed_.load()) return Refuse();
  const int spare = 1 - derived_active_;
  rocksdb::ColumnFamilyHandle* cf = derived_leases_[spare].get();
  // Empty (EmptySpareDerived), holding no file: what is ingested goes to its last level as it
  // is, and nothing else is there.
  std::vector<rocksdb::LiveFileMetaData> live;
  db_->GetLiveFilesMetaData(&live);
  for (const auto& f : live) {
    if (f.column_family_name == cf->GetName()) {
      return Error{ErrorCode::kStorage, "the spare projections are not empty"};
    }
  }
  rocksdb::IngestExternalFileOptions ingest;
  ingest.move_files = true;
  rocksdb::Status s = db_->IngestExternalFile(cf, files, ingest);
  if (!s.ok()) return StorageError(s, "ingesting the rebuilt projections");
  // The switch, durable: a crash before it leaves the old projections, after it the new.
  rocksdb::WriteOptions sync;
  sync.sync = true;
  s = db_->Put(sync, cfs_[kMeta], kDerivedKey, spare == 1 ? "b" : "a");
  if (!s.ok()) return StorageError(s, "recording the rebuilt projections");
  std::lock_guard<std::mutex> lock(derived_mu_);
  derived_active_ = spare;
  return Ok();
}

EventLog::~EventLog() {
  if (db_) {
    // The memtables are written to table files, so that the next open has no WAL to replay (a
    // million events appended and not flushed cost the next open seconds and hundreds of MB).
    // Best effort: a failed flush loses nothing, the WAL still holds it all.
    if (!options_.read_only && !failed_.load()) {
      rocksdb::FlushOptions flush;
      flush.allow_write_stall = true;
      db_->Flush(flush, cfs_).PermitUncheckedError();
    }
    // Nobody else may still read the derived data.
    LEDGER_ASSERT(derived_leases_[0].use_count() <= 1 && derived_leases_[1].use_count() <= 1);
    derived_leases_[0].reset();
    derived_leases_[1].reset();
    for (auto* cf : cfs_) {
      if (cf) db_->DestroyColumnFamilyHandle(cf);
    }
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
  auto pending = PendingOnHead(rocksdb::ReadOptions(), head_.seq);
  if (!pending) return pending.error();
  Status tail = pending->has_value() ? RecoverMarkedTail(**pending) : RecoverUnmarkedTail();
  if (!tail) return tail;
  return options_.check_tail ? CheckTail() : Ok();
}

Result<std::optional<bool>> EventLog::PendingOnHead(const rocksdb::ReadOptions& ro,
                                                    Seq head) const {
  std::string v;
  rocksdb::Status s = db_->Get(ro, cfs_[kMeta], kPendingKey, &v);
  if (s.IsNotFound()) return std::optional<bool>();
  if (!s.ok()) return StorageError(s, "reading the pending mark");
  return std::optional<bool>(v.size() == 8 && GetBE64(v.data()) == head);
}

// A batch of several chunks that never committed (a crash mid-append) left its pending mark. On
// the head it was building on: what lies after the head is its chunks, discarded. On another:
// the head was moved.
Status EventLog::RecoverMarkedTail(bool on_head) {
  if (!on_head) {
    const std::string problem =
        "an unfinished batch was begun on another head than the recorded one (seq " +
        std::to_string(head_.seq) +
        "): the head was moved or rewritten. Nothing was deleted (ops/RUNBOOK.md, "
        "\"Corruption\")";
    if (options_.check_tail) return Corruption(head_.seq + 1, problem);
    past_head_.emplace(head_.seq + 1, problem);  // verify reports it; nothing is deleted
    return Ok();
  }
  return options_.read_only ? Ok() : DiscardTail();
}

// Without a pending mark, events after the head are a single-write batch's remains (none: such
// a write is atomic) or those of a version that wrote no ids before the commit, unless a
// committed batch wrote them: then the head was moved back, and nothing is deleted (README,
// "Commit and recovery").
Status EventLog::RecoverUnmarkedTail() {
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
  return Ok();
}

Status EventLog::DiscardTail() {
  const Seq head = this->head().seq;
  ValueDecoder dec;
  std::set<std::string> streams;  // those the tail's events added stream index entries to
  rocksdb::WriteBatch b;
  std::string v;
  size_t in_batch = 0;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kEvents]));
  for (it->Seek(BE64(head + 1)); it->Valid(); it->Next()) {
    const Seq seq = it->key().size() == 8 ? GetBE64(it->key().data()) : 0;
    Hash hash{};
    schema::StoredEvent::Reader root;
    try {
      // A chunk is written whole: its events decode. One that does not holds no entry to find.
      if (!dec.Decode(seq, it->value(), &hash, &root)) continue;
      schema::Event::Reader ev = root.getEvent();
      rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cfs_[kIds], ev.getId().cStr(), &v);
      if (!s.ok() && !s.IsNotFound()) return StorageError(s, "reading the id index");
      auto entry = s.ok() ? DecodeIdEntry(v) : std::nullopt;
      if (entry && entry->seq > head) {
        // A void's stream is its target's, which the same entry names.
        streams.insert(entry->stream);
        b.Delete(cfs_[kIds], ev.getId().cStr());
      }
    } catch (const kj::Exception&) {
      continue;
    }
    if (++in_batch == options_.chunk_events_max) {
      // Unsynced: until the final write removes the events and the mark, a crash here only
      // means doing it again (what was deleted is looked up and not found).
      if (Status w = WriteChunk(&b); !w) return w;
      b.Clear();
      in_batch = 0;
    }
  }
  if (!it->status().ok()) return StorageError(it->status(), "scanning the tail");
  for (const std::string& stream : streams) {
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cfs_[kStreams], stream, &v);
    if (!s.ok() && !s.IsNotFound()) return StorageError(s, "reading the stream versions");
    const uint64_t committed = s.ok() && v.size() == 8 ? GetBE64(v.data()) : 0;
    b.DeleteRange(cfs_[kStreamIndex], StreamIndexKey(stream, committed + 1),
                  StreamIndexKey(stream, UINT64_MAX));
  }
  b.DeleteRange(cfs_[kEvents], BE64(head + 1), BE64(UINT64_MAX));
  b.DeleteRange(cfs_[kFacts], BE64(head + 1), BE64(UINT64_MAX));
  b.Delete(cfs_[kMeta], kPendingKey);
  return WriteDurable(&b);
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
// The failed state and the head.

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

}  // namespace ledger
