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

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "ledger/event_log.h"
#include "projections/directory.h"
#include "projections/fold.h"
#include "projections/history.h"
#include "projections/records.h"
#include "projections/tally.h"

namespace ledger {

class ProjectionView;
class RebuildWriter;

class ProjectionStore {
 public:
  explicit ProjectionStore(const EventLog& log);
  ~ProjectionStore();

  // The log seq the stored projections reflect; 0 when the store is empty or was written in an
  // earlier format (kStoreFormat): CatchUp then rebuilds it.
  Result<Seq> seq() const;
  Status CatchUp(const std::function<void(Seq, Seq)>& progress = {});
  // Everything from seq 1. A log of at most set_in_memory_rebuild_max() events as
  // RebuildInMemory does; one of at most set_packed_rebuild_max() as RebuildPacked does; a longer
  // one in slices (what it holds in memory does not grow with the history): first the whole
  // log's static facts (networks, enrolments, rulesets, budgets, voids), then the care events
  // slice by slice under them, as catch-ups fold them.
  Status Rebuild(const std::function<void(Seq, Seq)>& progress = {});
  // The whole log read packed (PackedHistory: its facts, about 90 bytes an event, as the dry run
  // of a ruleset reads them), each beneficiary folded once, the store written as RebuildInMemory
  // writes it, byte for byte (tested): into table files of the spare column family, which replaces
  // the store's at the end (IngestWriter). Until then the store is as it was, and views read it
  // so; a stop or an error leaves it as it was.
  Status RebuildPacked(const std::function<void(Seq, Seq)>& progress = {});
  // The reference rebuild: the whole history and its full projection in memory (projector.h).
  // Simple and memory-hungry; kept to check Rebuild and the catch-ups against (tests).
  Status RebuildInMemory(const std::function<void(Seq, Seq)>& progress = {});

  struct Stats {
    uint64_t catch_ups = 0, rebuilds = 0, events_applied = 0;
    // Beneficiaries folded again from their first event / from where their fold had ended.
    uint64_t beneficiaries_refolded = 0, beneficiaries_resumed = 0;
  };
  const Stats& stats() const { return stats_; }
  // Held exclusively while stored projections change, so that readers holding it shared see
  // the projections of one seq (ledgerd). Optional.
  void set_write_lock(std::shared_mutex* mu) { write_lock_ = mu; }
  // A catch-up of more new events than this is applied in slices of this many, each one atomic
  // batch (the memory a catch-up holds is bounded by it). From seq 0, CatchUp rebuilds.
  void set_catch_up_slice(uint64_t events) { catch_up_slice_ = rebuild_slice_ = events; }
  // A catch-up of at least a quarter of a log at most this long rebuilds instead, which costs
  // less there (default 0: never; `ledgerctl append` sets kRebuildInsteadMax).
  void set_rebuild_instead_max(uint64_t events) { rebuild_instead_max_ = events; }
  // Up to 3M events a packed rebuild holds no more memory than a catch-up's slices.
  static constexpr uint64_t kRebuildInsteadMax = 3000000;
  // Rebuilds of a log at most this long (default 0: none but an empty one) fold it whole in
  // memory; longer ones packed, or in slices when longer than the packed maximum (Rebuild).
  void set_in_memory_rebuild_max(uint64_t events) { in_memory_rebuild_max_ = events; }
  void set_packed_rebuild_max(uint64_t events) { packed_rebuild_max_ = events; }
  // The bytes a packed rebuild sorts in memory at a time (0, the default: 16 an event of the log,
  // from 4 MB to IngestWriter::kRunBytes, some 12 runs of its keys; tests make it small, so that
  // the merge of many runs is what they check).
  void set_packed_run_bytes(size_t bytes) { packed_run_bytes_ = bytes; }
  // Once `*stop` is true, a catch-up ends after the slice it is applying and returns Ok with the
  // store at that slice's seq; a rebuild in slices ends after its slice with the store at seq 0
  // (the next catch-up rebuilds); a packed one, once it has read the log, ends within a few
  // thousand beneficiaries or after its merge, the store as it was. For a server that is stopping,
  // so that it does not wait for a long backlog. The flag must outlive the store's use of it; null:
  // never stop.
  void set_stop(const std::atomic<bool>* stop) { stop_ = stop; }

  // A consistent view of the stored projections as they are now (a RocksDB snapshot of the
  // column family they are in), which later writes do not change, nor a packed rebuild's
  // replacing them: for answers read in several steps or streamed. A catch-up writes in several
  // batches: take a view under the write lock held shared (or while none runs). While
  // RebuildPacked works, views are of the projections as they were before it (it holds the write
  // lock only to replace them). The view must not outlive the store.
  ProjectionView View() const;

  // Reads of the store as it is, each on its own (see ProjectionView for what they return).
  Result<std::vector<LineRecord>> Lines(std::string_view provider, int32_t month) const;
  Result<std::vector<TrajectoryRecord>> Trajectories(std::string_view niss) const;
  Result<Cents> Allocated(std::string_view network, int32_t year) const;
  Result<std::map<CivilDay, Cents>> DailyConsumed(std::string_view network, int32_t year) const;
  Status ForEachTrajectory(
      const std::function<void(std::string_view niss, const TrajectoryRecord&)>& fn) const;
  Result<std::unique_ptr<RulesetCatalog>> Rulesets() const;
  // SHA-256 over every stored key and value: equal digests, identical stores.
  Result<Hash> Digest() const;

 private:
  friend class ProjectionView;
  struct CatchUpPass;
  // `rebuilding`: the static facts, budgets and voids of the whole log are in place already
  // (Rebuild); the slice's own are not applied again.
  Status Apply(Seq from, Seq to, bool rebuilding = false);
  Status LoadStatic();
  // A rebuild's last writes (format, seq), made durable; the cached static facts dropped.
  Status FinishRebuild(RebuildWriter* b, Seq head);
  // Rebuild's first step: the whole log's static facts, voids and budgets, written.
  Status WriteStatic(Seq head);
  bool Stopping() const { return stop_ && stop_->load(std::memory_order_relaxed); }
  // The column family the projections are in now: for the thread that catches up or rebuilds
  // (which alone replaces it). Readers hold it (ProjectionView).
  rocksdb::ColumnFamilyHandle* cf() const { return log_.derived_cf(); }
  // A snapshot of the store now, released when the last holder lets it go.
  std::shared_ptr<const rocksdb::Snapshot> TakeSnapshot() const;

  const EventLog& log_;
  rocksdb::DB* db_;
  // Cached between catch-ups until a rebuild: the network, provider and ruleset events (and
  // the names catch-ups intern), the rulesets and the fold context built from them.
  std::unique_ptr<History> static_;
  std::unique_ptr<RulesetCatalog> rules_;
  std::unique_ptr<FoldContext> ctx_;
  std::set<Seq> voided_;  // every voided seq (the `v` keys)
  uint64_t catch_up_slice_ = 100000;
  // An event caught up costs about 4 to 6 times an event rebuilt (CatchUp).
  static constexpr uint64_t kCatchUpCostPerRebuildCost = 4;
  uint64_t rebuild_instead_max_ = 0;
  // A rebuild's slices: larger, since a beneficiary is folded once a slice it has events in.
  uint64_t rebuild_slice_ = 500000;
  // The packed rebuild is faster and smaller at every length (1M events: 6.4 s, 420 MB, against
  // 8.8 s, 700 MB in memory): the in-memory one is the reference, for tests.
  uint64_t in_memory_rebuild_max_ = 0;
  // Memory about 125 bytes an event at its peak (20M events: 2.5 GB): 40M in about 5 GB.
  uint64_t packed_rebuild_max_ = 40000000;
  size_t packed_run_bytes_ = 0;
  std::shared_mutex* write_lock_ = nullptr;
  const std::atomic<bool>* stop_ = nullptr;
  Stats stats_;
};

// Reads of the stored projections at one RocksDB snapshot (ProjectionStore::View), or of the
// store as it is at each read (a view made with no snapshot, which the store's own reads use).
// Thread-safe for reads; movable, not copyable; releases its snapshot when destroyed.
class ProjectionView {
 public:
  ProjectionView(const ProjectionStore& store, bool snapshot);
  ~ProjectionView();
  ProjectionView(ProjectionView&& other) noexcept;
  ProjectionView& operator=(ProjectionView&&) = delete;
  ProjectionView(const ProjectionView&) = delete;

  // The log seq reflected (0: empty, or in an earlier format).
  Result<Seq> seq() const;
  // One provider's invoice lines of a month, by care date, seq, part.
  Result<std::vector<LineRecord>> Lines(std::string_view provider, int32_t month) const;
  // The same, one at a time, until `fn` returns false (nothing is gathered: for streaming).
  Status ForEachLine(std::string_view provider, int32_t month,
                     const std::function<bool(const LineRecord&)>& fn) const;
  Result<std::vector<TrajectoryRecord>> Trajectories(std::string_view niss) const;
  // Whether the ledger has any event about this beneficiary.
  Result<bool> BeneficiaryKnown(std::string_view niss) const;
  Result<Cents> Allocated(std::string_view network, int32_t year) const;
  Result<std::map<CivilDay, Cents>> DailyConsumed(std::string_view network, int32_t year) const;
  // Every stored trajectory, by NISS, function, network, start.
  Status ForEachTrajectory(
      const std::function<void(std::string_view niss, const TrajectoryRecord&)>& fn) const;
  // The shipped rulesets plus the published ones, as of seq().
  Result<std::unique_ptr<RulesetCatalog>> Rulesets() const;

  // The network directory (directory.h).
  Result<std::vector<NetworkRecord>> Networks() const;
  Result<std::optional<NetworkRecord>> Network(std::string_view network) const;
  // Every enrolment period in the network, by provider id, start.
  Result<std::vector<EnrolmentRecord>> Enrolments(std::string_view network) const;
  // The networks the provider was ever enrolled in, by id.
  Result<std::vector<std::string>> ProviderNetworks(std::string_view provider) const;
  // Whether the provider was ever enrolled anywhere or has any invoice line.
  Result<bool> ProviderKnown(std::string_view provider) const;

  // The tallies (tally.h) of a network's lines in a month, per provider, by provider id.
  Result<std::vector<std::pair<std::string, LineTally>>> NetworkMonth(std::string_view network,
                                                                      int32_t month) const;
  // One provider's tally of a network's lines in a month; nullopt when it has none.
  Result<std::optional<LineTally>> Tally(int32_t month, std::string_view network,
                                         std::string_view provider) const;
  // The providers with lines in a month, by id, from the first after `after` (empty: from the
  // start), at most `limit` (0: all).
  Result<std::vector<std::string>> MonthProviders(int32_t month, std::string_view after = {},
                                                  size_t limit = 0) const;
  // The seqs of the `invoice.issued` events that are not voided, ascending.
  Result<std::vector<Seq>> LiveInvoiceSeqs() const;

 private:
  Status Scan(const std::string& prefix,
              const std::function<bool(std::string_view, std::string_view)>& fn) const;
  Result<std::optional<std::string>> Get(const std::string& key) const;

  const ProjectionStore* store_;
  std::shared_ptr<rocksdb::ColumnFamilyHandle> cf_;    // taken first, then the snapshot
  std::shared_ptr<const rocksdb::Snapshot> snapshot_;  // null: the store as it is at each read
};

}  // namespace ledger
