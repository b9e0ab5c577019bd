// The projections persisted beside the events (the log's derived column family), with the
// seq they reflect, so that a restart does not fold history again. Key layout:
// projections/README.md.
//
// CatchUp() brings them to the log's head. New care events refold only the beneficiaries they
// concern (and reprice the group sessions those take part in); a new or voided network,
// enrolment, ruleset or budget, a void of a void, or a large backlog triggers a full rebuild.
// Both paths price with the same functions (fold.h) and write the same keys, so a store
// maintained incrementally and one rebuilt from seq 1 are byte-identical (tested).
//
// Writes are not synced: this is derived data. Each catch-up is one atomic RocksDB batch that
// also records its seq, so after a crash the store is at some earlier seq and catches up again.
// Thread-safety: one CatchUp/Rebuild at a time; reads may run concurrently.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <shared_mutex>
#include <vector>

#include "ledger/event_log.h"
#include "projections/fold.h"
#include "projections/history.h"
#include "projections/records.h"

namespace ledger {

class ProjectionStore {
 public:
  explicit ProjectionStore(const EventLog& log);
  ~ProjectionStore();

  // The log seq the stored projections reflect.
  Result<Seq> seq() const;
  Status CatchUp(const std::function<void(Seq, Seq)>& progress = {});
  Status Rebuild(const std::function<void(Seq, Seq)>& progress = {});

  struct Stats {
    uint64_t catch_ups = 0, rebuilds = 0, events_applied = 0, beneficiaries_refolded = 0;
  };
  const Stats& stats() const { return stats_; }
  // Held exclusively while stored projections change, so that readers holding it shared see
  // the projections of one seq (ledgerd). Optional.
  void set_write_lock(std::shared_mutex* mu) { write_lock_ = mu; }
  // Catch-ups with more new events than this rebuild instead (and always from seq 0).
  void set_rebuild_threshold(uint64_t events) { rebuild_threshold_ = events; }

  // Reads, as of seq().
  Result<std::vector<LineRecord>> Lines(std::string_view provider, int32_t month) const;
  Result<std::vector<TrajectoryRecord>> Trajectories(std::string_view niss) const;
  Result<Cents> Allocated(std::string_view network, int32_t year) const;
  Result<std::map<CivilDay, Cents>> DailyConsumed(std::string_view network, int32_t year) const;
  // Every stored trajectory, by NISS, function, network, start.
  Status ForEachTrajectory(
      const std::function<void(std::string_view niss, const TrajectoryRecord&)>& fn) const;
  // The shipped rulesets plus the published ones, as of seq().
  Result<std::unique_ptr<RulesetCatalog>> Rulesets() const;
  // SHA-256 over every stored key and value: equal digests, identical stores.
  Result<Hash> Digest() const;

 private:
  struct Pending;
  Status Apply(Seq from, Seq to);
  Status LoadStatic();

  const EventLog& log_;
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
  // Cached between catch-ups until a rebuild: the network, provider and ruleset events (and
  // the names catch-ups intern), the rulesets and the fold context built from them.
  std::unique_ptr<History> static_;
  std::unique_ptr<RulesetCatalog> rules_;
  std::unique_ptr<FoldContext> ctx_;
  std::set<Seq> voided_;  // every voided seq (the `v` keys)
  uint64_t rebuild_threshold_ = 200000;
  std::shared_mutex* write_lock_ = nullptr;
  Stats stats_;
};

}  // namespace ledger
