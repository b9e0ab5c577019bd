// The append-only event log: every fact the ledger knows, in a gapless global sequence,
// chained by SHA-256, stored in RocksDB. Key layout and recovery: ledger/README.md.
//
// Durability: Append::Commit() returns only after the whole batch is in a synced RocksDB
// write; acknowledged means durable. A batch is all or nothing, whatever its size: a crash
// before Commit returns leaves no event of it visible after reopening.
//
// Failure: if a write or sync fails, the log enters a failed state and refuses every later
// append (ErrorCode::kWritesStopped) until the process restarts and Open() recovers. Reads
// keep working. Nothing is retried blindly.
//
// Thread-safety: reads (head, ReadRange, Get*, Verify) may run on any thread at any time and
// see only committed events. Appends are serialised: one Append at a time, BeginAppend()
// blocks while another is open.
#pragma once

#include <capnp/common.h>
#include <kj/array.h>
#include <rocksdb/db.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/sha256.h"
#include "schemas/event.capnp.h"
#include "schemas/json_codec.h"
#include "schemas/result.h"

namespace ledger {

using Seq = uint64_t;

struct LogOptions {
  // UTC microseconds now. Injected so that tests can move time; defaults to the system clock.
  std::function<int64_t()> now_us;
  // A large batch is written in chunks of this many events, made visible by one final synced
  // write (see README, "Large batches").
  size_t chunk_events_max = 8192;
  // Check the tail of the hash chain on open, and refuse committed events found after the head.
  // Only `verify` turns this off, to report the first bad seq instead of refusing to open.
  bool check_tail = true;
  // The RocksDB environment (file system, threads). Null: the default. Tests inject a failing
  // file system through it; it is kept alive as long as the log.
  std::shared_ptr<rocksdb::Env> env;
  // Open beside the process that writes the log (ledgerd), as a RocksDB secondary instance: a
  // snapshot of the log as committed when opened, nothing recovered or checked beyond the
  // tail, every write refused. Its own small files go to a temporary directory, removed on
  // close. The directory must exist.
  bool read_only = false;
  // With read_only: open in place with RocksDB's read-only mode instead, when no other process
  // holds the log. Nothing at all is written, not even a temporary directory: for a disk that
  // takes no write (full), so that ledgerd restarted on it still serves reads.
  bool in_place = false;
  // Let RocksDB compact in the background. Off for a short-lived process that stores nothing
  // (ledgerctl's reads): a compaction it started would be cut short when it closes the log and
  // started again by the next open, costing every such command CPU for nothing. Whoever writes
  // next compacts.
  bool compact = true;
  // Write each event's facts (ledger/facts.h) beside it. Off only in tests, to make a log as
  // the versions before facts wrote it.
  bool write_facts = true;
  // Create a new, empty log when `dir` holds none (no RocksDB `CURRENT` file). Off: a missing
  // log is refused (ErrorCode::kNotFound) and nothing at all is created there, not even the
  // directory; ledgerctl's commands and ledgerd turn it off, all but `append` (a mistyped --db
  // must not answer with an empty ledger). A read-only open never creates.
  bool create_if_missing = true;
};

// The last committed event.
struct Head {
  Seq seq = 0;
  Hash hash{};  // all zeros before the first event: the chain's genesis
  int64_t recorded_at_us = 0;
};

enum class AppendStatus { kAppended, kDuplicate };

struct AppendedEvent {
  std::string id;
  Seq seq = 0;
  AppendStatus status = AppendStatus::kAppended;
};

struct AppendResult {
  uint64_t appended = 0;
  uint64_t duplicates = 0;
  Seq last_seq = 0;                    // the log's head after the commit
  std::vector<AppendedEvent> results;  // one per event, in batch order (none: CountOnly)
};

// One stored event as read back. `event()` is valid while this object lives.
class StoredEventView {
 public:
  Seq seq() const { return seq_; }
  const Hash& hash() const { return hash_; }
  schema::StoredEvent::Reader stored() const { return root_; }
  schema::Event::Reader event() const { return root_.getEvent(); }

 private:
  friend class EventLog;
  Seq seq_ = 0;
  Hash hash_{};
  schema::StoredEvent::Reader root_;
};

struct VerifyReport {
  bool ok = true;
  uint64_t events = 0;
  Hash head{};
  Seq first_bad_seq = 0;  // when !ok
  std::string problem;
};

// An event made ready to append, on any thread: its stored form canonicalised once (the seq and
// the recording time are filled in by the append) and the SHA-256 of its content, the digest the
// id index keeps. Preparing is most of an append's work per event that does not depend on the
// log, so that bulk and HTTP appends do it on their decoding threads, off the writer's.
class PreparedEvent {
 public:
  explicit PreparedEvent(const DecodedEvent& decoded);
  // Valid while this object lives (read from the prepared words).
  schema::Event::Reader event() const;
  const std::optional<int64_t>& expected_version() const { return expected_version_; }
  // SHA-256 of the event's canonical Cap'n Proto form.
  const Hash& digest() const { return digest_; }

 private:
  friend class EventLog;
  // The stored value at `seq`, recorded at `recorded_at_us`: room for its chain hash (zeros),
  // then its canonical words. Both are nonzero in any log (seqs start at 1, recording times are
  // UTC microseconds), which keeps the prepared layout canonical; a zero (a test's clock) is
  // canonicalised afresh.
  std::string StoredValue(uint64_t seq, int64_t recorded_at_us) const;
  // The canonical words of a StoredEvent of this event whose seq and recorded_at are
  // placeholders (kept nonzero, so that both data words are there to be overwritten).
  kj::Array<capnp::word> stored_;
  Hash digest_{};
  std::optional<int64_t> expected_version_;
};

// The stream an event belongs to for `expected_version`: beneficiary/<niss>,
// provider/<id>, network/<id> or rules. A void belongs to its target's stream.
std::string StreamOf(schema::Event::Reader event);

class EventLog {
 public:
  // Opens (creating if needed: LogOptions::create_if_missing) the log in `dir`, discards the
  // remains of an append that crashed before committing, and checks the tail of the hash chain.
  // A directory the log creates (or an empty one it creates a log in) is made 0700 whatever the
  // umask: the files hold NISS numbers. RocksDB creates the files themselves under the process
  // umask: ledgerctl and ledgerd set 077, so that they are 0600.
  static Result<std::unique_ptr<EventLog>> Open(const std::string& dir, LogOptions options = {});
  ~EventLog();

  // A batch being appended. Add() each event in order, then Commit(). Destroying it without
  // Commit(), or after an Add() error, stores nothing.
  class Append {
   public:
    ~Append();
    // Checks the event against the log and the batch so far: a duplicate id with the same
    // content is answered with the original seq; other content is a conflict; a void's target
    // must exist; expected_version must match. An error names the event (index, id) and field;
    // after one, the batch can only be dropped.
    Status Add(const PreparedEvent& event);
    Status Add(const DecodedEvent& event);  // prepares it here
    // Makes the batch durable and visible; returns when synced.
    Result<AppendResult> Commit();
    // Group commit: SetSavepoint() before a request's events; RollbackToSavepoint() undoes
    // every Add() since (a failed one too), and the batch goes on with the next request. Once
    // a savepoint was set, events are held in memory until Commit() (no early chunk).
    void SetSavepoint();
    void RollbackToSavepoint();
    // The log's head seq this batch is building on plus the events added so far.
    Seq next_seq() const;
    // Commit() answers the counts and the last seq only, no entry per event: for a bulk
    // append, whose memory then stays one chunk's worth whatever its size.
    void CountOnly();
    // For the verified import (ledger/verified_import.h) only: the events added from now on
    // are stored as recorded at `recorded_at_us` instead of the batch's time. The caller keeps
    // recorded_at from decreasing.
    void SetRecordedAt(int64_t recorded_at_us);
    // The chain hash of the last event added (the head's before any).
    const Hash& last_hash() const;

   private:
    friend class EventLog;
    struct State;
    explicit Append(EventLog* log);
    EventLog* log_;
    std::unique_ptr<State> state_;
    std::unique_lock<std::mutex> writer_;
  };

  std::unique_ptr<Append> BeginAppend();
  // Convenience: the whole batch at once.
  Result<AppendResult> AppendAll(const std::vector<DecodedEvent>& events);

  Head head() const;
  // Reads committed events with from <= seq <= min(to, head), in order, until `fn` returns
  // false. Streams from RocksDB; nothing is loaded whole. Each event is checked as it is read:
  // the next seq, chaining from the one before it (hash recomputed, the first from its
  // predecessor's stored hash), recorded_at not before the one before it; one that is not is
  // kCorruption, at its seq.
  Status ReadRange(Seq from, Seq to, const std::function<bool(const StoredEventView&)>& fn) const;
  // Reads the committed events at the given seqs (ascending), one iterator for all.
  Status ReadSeqs(const std::vector<Seq>& seqs,
                  const std::function<void(const StoredEventView&)>& fn) const;
  // The facts (ledger/facts.h) of committed events, as written: the chunks whose first seq is in
  // [from, min(to, head)], in order, until `fn` returns false. A log written by a version
  // before facts has none for its older events: callers read those events instead. `first` is
  // the seq of the chunk's first record, `records` its `count` records.
  struct FactsChunk {
    Seq first = 0;
    uint32_t count = 0;
    std::string_view records;
  };
  Status ReadFacts(Seq from, Seq to, const std::function<bool(const FactsChunk&)>& fn) const;
  // The last seq of the facts chunk that holds `seq` or starts before it, 0 if none does.
  Result<Seq> FactsEndAt(Seq seq) const;
  // As ReadFacts, for every event from `from` to min(to, head): the events a version before
  // facts wrote are read and encoded as they would have been written (chunks of their own).
  // Readers that split the seqs may each read a share: the events of a chunk written before
  // `from` are left to the reader before, and a chunk written by `to` is read whole.
  Status ReadEveryFact(Seq from, Seq to, const std::function<bool(const FactsChunk&)>& fn) const;
  // The seq of the event with this id, if any.
  Result<std::optional<Seq>> FindId(std::string_view id) const;
  // Every id of events 1..head with its seq, in id order (the id index read through).
  Status ForEachId(const std::function<void(std::string_view id, Seq seq)>& fn) const;
  // The seqs of a stream's events in order, and its version (their count).
  Result<std::vector<Seq>> StreamSeqs(std::string_view stream) const;
  // Walks the whole chain from seq 1 (sequence, hashes, recorded_at, facts), then checks the
  // indexes against the events: every event's `ids` entry points at it and names its stream, and
  // `ids` holds no other entry; each stream's `stream_index` entries are versions 1..n pointing
  // at events of that stream in seq order, n is the version `streams` records, and every event
  // is pointed at once. One consistent snapshot of the log, whatever is appended meanwhile.
  // Committed events found after the head on an open without the tail check are reported too.
  // `progress(done, total)` is called now and then. Holds 8 bytes an event while it runs.
  Result<VerifyReport> Verify(const std::function<void(Seq, Seq)>& progress = {}) const;
  // Non-empty when an earlier write failure stopped appends (or StopWrites).
  std::string failure() const;
  // Refuses every later append (kWritesStopped) with `why`, as after a write failure: for a log
  // opened read-only in place because writing failed (ledgerd on a full disk).
  void StopWrites(const std::string& why);
  // Opened with LogOptions::read_only.
  bool read_only() const { return options_.read_only; }

  // A column family the log creates but never reads: derived data kept beside the events
  // (projections/store.h), written without sync and rebuilt from the events when needed.
  rocksdb::DB* derived_db() const { return db_.get(); }
  // The derived column family holding the derived data now. There are two: ReplaceDerived fills
  // the other and switches to it. A holder of this pointer keeps reading the one it took, which
  // is not emptied until the last holder lets it go. Hold it no longer than the log.
  std::shared_ptr<rocksdb::ColumnFamilyHandle> derived() const;
  // The same, unowned: valid until the next ReplaceDerived, for the thread that calls it.
  rocksdb::ColumnFamilyHandle* derived_cf() const { return derived().get(); }
  // Makes `files` (RocksDB table files, sorted, not overlapping, on this file system: moved, not
  // copied) the derived data: ingested into the spare column family, which must be empty
  // (EmptySpareDerived), and the switch to it recorded (synced). A crash or an error before the
  // record leaves the old data as it was. The column families never change, so that a reader
  // beside (a RocksDB secondary) always finds both.
  Status ReplaceDerived(const std::vector<std::string>& files) const;
  // Empties the spare derived column family (the one ReplaceDerived switched from), once nobody
  // reads it any more: waiting for that, or (`wait` false) leaving it as it is if someone does.
  Status EmptySpareDerived(bool wait) const;
  // Writes every column family's memtables to table files, so that a job about to hold much
  // memory of its own (a rebuild) does not hold them too (an append of a million events leaves
  // some 128 MB there). Nothing is lost when it fails: the WAL holds it all.
  Status FlushMemtables() const;
  // A private directory of the log's own, for the table files of ReplaceDerived as they are
  // built (the same file system, so that they are moved into the log).
  std::string derived_scratch_dir() const { return dir_ + "/derived.build"; }

  // For tests and tools that must reach under the log (tamper tests).
  rocksdb::DB* raw_db() { return db_.get(); }
  rocksdb::ColumnFamilyHandle* events_cf() { return cfs_[kEvents]; }
  rocksdb::ColumnFamilyHandle* facts_cf() { return cfs_[kFacts]; }
  rocksdb::ColumnFamilyHandle* ids_cf() { return cfs_[kIds]; }
  rocksdb::ColumnFamilyHandle* streams_cf() { return cfs_[kStreams]; }
  rocksdb::ColumnFamilyHandle* stream_index_cf() { return cfs_[kStreamIndex]; }
  rocksdb::ColumnFamilyHandle* meta_cf() { return cfs_[kMeta]; }

 private:
  enum Cf {
    kDefault,
    kEvents,
    kIds,
    kStreams,
    kStreamIndex,
    kMeta,
    kProjections,
    kFacts,
    kProjectionsB,  // the spare of kProjections (ReplaceDerived)
    kCfCount
  };
  EventLog() = default;
  Status Recover();
  // Whether `meta/pending` (a batch of several chunks in flight, or its crash's remains) is
  // there, and if so whether it names `head` as the head its batch builds on.
  Result<std::optional<bool>> PendingOnHead(const rocksdb::ReadOptions& ro, Seq head) const;
  Status RecoverMarkedTail(bool on_head);
  Status RecoverUnmarkedTail();
  // Removes what lies after the head (the chunks of a batch that never committed: events,
  // facts, their id and stream index entries, the pending mark), the last write synced.
  Status DiscardTail();
  Result<Seq> CommittedAfterHead(rocksdb::Iterator* it) const;
  struct VerifyPass;
  Status VerifyEvents(VerifyPass* pass, const std::function<void(Seq, Seq)>& progress) const;
  bool VerifyIdEntry(VerifyPass* pass, Seq seq, schema::Event::Reader ev) const;
  Status VerifyIdIndex(VerifyPass* pass) const;
  Status VerifyStreamIndex(VerifyPass* pass) const;
  Status CheckTail();
  Status WriteDurable(rocksdb::WriteBatch* batch);
  Status WriteChunk(rocksdb::WriteBatch* batch);
  Status Fail(const rocksdb::Status& s, const char* what);
  Status Refuse() const;
  // Appends the facts record of a committed event (a void's target from the id index).
  Status EncodeFacts(schema::Event::Reader event, std::string* out) const;

  LogOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs_;
  std::mutex writer_mu_;
  mutable std::mutex head_mu_;
  Head head_;
  std::string secondary_dir_;  // read_only: the secondary instance's own files
  std::string dir_;
  // Which derived column family holds the derived data (0: kProjections, 1: kProjectionsB), and
  // a lease on each, copied to whoever reads it (no-op deleters: the handles are in cfs_).
  mutable std::mutex derived_mu_;
  mutable int derived_active_ = 0;
  std::shared_ptr<rocksdb::ColumnFamilyHandle> derived_leases_[2];
  // Committed events found after the head on an open without the tail check (verify): Verify
  // reports it as the first bad seq.
  std::optional<std::pair<Seq, std::string>> past_head_;
  std::atomic<bool> failed_{false};
  mutable std::mutex failure_mu_;
  std::string failure_;
};

}  // namespace ledger
