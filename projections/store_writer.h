// How a rebuild writes the projection store (store.cc, store_rebuild.cc). Internal to
// projections/.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <functional>
#include <future>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ledger/event_log.h"
#include "projections/history.h"

namespace ledger {

// The keys a rebuild writes, one at a time, into a store it replaces whole.
class StoreWrites {
 public:
  virtual ~StoreWrites() = default;
  virtual void Put(std::string_view key, std::string_view value) = 0;
  // A point where what was put may be handed on (`force`: is, and written before returning);
  // the first error of any write so far.
  virtual Status Flush(bool force) = 0;
};

// A rebuild's writes: in batches sorted by key (a memtable takes keys in order several times
// faster than in random order), without the WAL, the memtables flushed at the end. A crash
// before the end leaves the store at seq 0 or as it was: memtables of one column family flush
// in order, and the first batch deletes everything, the seq key included.
//
// A full batch is sorted and written on a thread of its own while the next one fills, one at a
// time and in order. Not thread-safe.
class RebuildWriter final : public StoreWrites {
 public:
  static constexpr size_t kBatchOps = 200000;

  RebuildWriter(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) : db_(db), cf_(cf) {}
  ~RebuildWriter() {
    if (writing_.valid()) writing_.wait();
  }
  RebuildWriter(const RebuildWriter&) = delete;
  RebuildWriter& operator=(const RebuildWriter&) = delete;

  void Put(std::string_view key, std::string_view value) override {
    pending_.emplace_back(std::string(key), std::string(value));
  }
  // The first write: everything goes.
  Status DeleteAll() {
    rocksdb::WriteBatch b;
    b.DeleteRange(cf_, std::string(1, '\0'), std::string(1, '\x7f'));
    return Write(db_, &b);
  }
  // Hands the pending writes on once there are kBatchOps of them, or now when `force` (and then
  // waits until they are written).
  Status Flush(bool force) override {
    if (!force && pending_.size() < kBatchOps) return Ok();
    if (Status s = Wait(); !s) return s;
    writing_ = std::async(std::launch::async, [this, batch = std::move(pending_)]() mutable {
      return WriteSorted(db_, cf_, &batch);
    });
    pending_.clear();
    if (force) return Wait();
    return Ok();
  }
  // Makes everything written durable.
  Status Finish() {
    if (Status s = Wait(); !s) return s;
    rocksdb::FlushOptions options;
    options.wait = true;
    rocksdb::Status s = db_->Flush(options, cf_);
    if (!s.ok()) return Error{ErrorCode::kStorage, "flushing projections: " + s.ToString()};
    return Ok();
  }

 private:
  using Batch = std::vector<std::pair<std::string, std::string>>;
  Status Wait() {
    if (!writing_.valid()) return Ok();
    return writing_.get();
  }
  static Status WriteSorted(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, Batch* batch) {
    std::sort(batch->begin(), batch->end());
    rocksdb::WriteBatch b;
    for (const auto& [k, v] : *batch) b.Put(cf, k, v);
    Batch().swap(*batch);
    return Write(db, &b);
  }
  static Status Write(rocksdb::DB* db, rocksdb::WriteBatch* b) {
    rocksdb::WriteOptions options;
    options.disableWAL = true;
    rocksdb::Status s = db->Write(options, b);
    if (!s.ok()) return Error{ErrorCode::kStorage, "writing projections: " + s.ToString()};
    return Ok();
  }

  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
  Batch pending_;
  std::future<Status> writing_;
};

// A packed rebuild's writes (store_ingest.cc), made into table files for the log's spare
// projections column family, which replaces the old one at the end (EventLog::ReplaceDerived),
// instead of going through memtables, flushes and the compactions after (on 20M events, 53M
// keys: most of the rebuild's time). Until then the store is untouched: readers read it as it was,
// and a stop or an error leaves it so.
//
// What is put is gathered in runs of about `run_bytes`; each full run is sorted and written to
// a file of its own in a private scratch directory, on a thread of its own while the next one
// fills (one at a time). Finish merges the runs into table files in key order, the last put of a
// key winning, as RebuildWriter's last batch does. The scratch directory is removed at the end.
// Not thread-safe.
class IngestWriter final : public StoreWrites {
 public:
  static constexpr size_t kRunBytes = 32 << 20;
  // The merge runs in this many parts at once, each a range of keys (a machine of 2 cores).
  static constexpr size_t kMergeParts = 2;
  // `options`: the column family's (its table format, compression, filters).
  IngestWriter(std::string scratch_dir, rocksdb::Options options, size_t run_bytes = kRunBytes);
  ~IngestWriter() override;
  IngestWriter(const IngestWriter&) = delete;
  IngestWriter& operator=(const IngestWriter&) = delete;

  // Creates the scratch directory (private), removing what a crash left there.
  Status Start();
  void Put(std::string_view key, std::string_view value) override;
  Status Flush(bool force) override;
  // The table files, in key order and not overlapping, for EventLog::ReplaceDerived;
  // `progress` is called with keys merged so far and the total put (duplicates included).
  Result<std::vector<std::string>> Finish(
      const std::function<void(uint64_t, uint64_t)>& progress = {});
  size_t runs() const { return runs_.size(); }

 private:
  struct Entry {      // in buffer_: the key, then the value
    uint64_t prefix;  // the key's first 8 bytes, big-endian (zeros after a shorter key)
    uint64_t at;
    uint32_t key_size, value_size;
  };
  struct Run {
    std::string buffer;
    std::vector<Entry> entries;
  };
  // A run as written: every kSampleEvery-th key with where its entry begins, for the merge to
  // split the keys into parts and each part's reader to begin near its first key.
  struct RunFile {
    std::string path;
    uint64_t bytes = 0;
    std::vector<std::pair<std::string, uint64_t>> samples;
  };
  static constexpr size_t kSampleEvery = 4096;
  Status Spill();
  Status Wait();
  static Result<RunFile> WriteRun(Run* run, std::string path);
  // The keys from `lower` (empty: the first) to before `upper` (empty: the last) merged into
  // table files named after `part`; `merged` counts the keys read.
  Result<std::vector<std::string>> MergePart(size_t part, const std::string& lower,
                                             const std::string& upper,
                                             std::atomic<uint64_t>* merged) const;

  std::string dir_;
  rocksdb::Options options_;
  size_t run_bytes_;
  Run filling_;
  Run written_;                // the run being written, or written last
  std::vector<RunFile> runs_;  // in the order they were put
  std::future<Result<RunFile>> spilling_;
  Status failed_ = Ok();
  uint64_t put_ = 0;
};

// The static facts of `h` (its context seqs, its networks, enrolments and live budget
// allocations) and the `voided` seqs: the x, v, B, N, E and e keys.
void PutStatic(const History& h, const std::set<Seq>& voided, StoreWrites* b);

}  // namespace ledger
