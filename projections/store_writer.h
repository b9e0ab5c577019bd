// How a rebuild writes the projection store (store.cc, store_rebuild.cc). Internal to
// projections/.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <future>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ledger/event_log.h"
#include "projections/history.h"

namespace ledger {

// A rebuild's writes: in batches sorted by key (a memtable takes keys in order several times
// faster than in random order), without the WAL, the memtables flushed at the end. A crash
// before the end leaves the store at seq 0 or as it was: memtables of one column family flush
// in order, and the first batch deletes everything, the seq key included.
//
// A full batch is sorted and written on a thread of its own while the next one fills, one at a
// time and in order. Not thread-safe.
class RebuildWriter {
 public:
  static constexpr size_t kBatchOps = 200000;

  RebuildWriter(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) : db_(db), cf_(cf) {}
  ~RebuildWriter() {
    if (writing_.valid()) writing_.wait();
  }
  RebuildWriter(const RebuildWriter&) = delete;
  RebuildWriter& operator=(const RebuildWriter&) = delete;

  void Put(rocksdb::ColumnFamilyHandle*, std::string_view key, std::string value) {
    pending_.emplace_back(std::string(key), std::move(value));
  }
  // The first write: everything goes.
  Status DeleteAll() {
    rocksdb::WriteBatch b;
    b.DeleteRange(cf_, std::string(1, '\0'), std::string(1, '\x7f'));
    return Write(db_, &b);
  }
  // Hands the pending writes on once there are kBatchOps of them, or now when `force` (and then
  // waits until they are written).
  Status Flush(bool force) {
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

// The static facts of `h` (its context seqs, its networks, enrolments and live budget
// allocations) and the `voided` seqs: the x, v, B, N, E and e keys.
void PutStatic(const History& h, const std::set<Seq>& voided, rocksdb::ColumnFamilyHandle* cf,
               RebuildWriter* b);

}  // namespace ledger
