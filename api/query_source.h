// Where a query's answer comes from: the persisted projections (at one snapshot, the seq they
// reflect), or, for an answer "as of" an earlier seq, a fold in memory of the history up to it.
// Both give the same records, rendered by projections/views.h. Shared by ledgerctl and
// ledgerd so that both answer alike: one implementation behind both interfaces.
//
// Thread-safety: const reads may run concurrently, except the first call of rules(), which
// loads the rulesets (call it once before sharing). A store-backed source holds a RocksDB
// snapshot until destroyed and must not outlive its store.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "ledger/event_log.h"
#include "projections/directory.h"
#include "projections/history.h"
#include "projections/projector.h"
#include "projections/records.h"
#include "projections/store.h"
#include "projections/tally.h"

namespace ledger {

class QuerySource {
 public:
  // The store as it is now (the caller catches it up, or not), at one snapshot: take it while
  // no rebuild writes (ledgerd: under the projection lock held shared).
  static Result<QuerySource> FromStore(const ProjectionStore& store);
  // History 1..seq folded in memory (seq 0: nothing).
  static Result<QuerySource> AsOf(const EventLog& log, Seq seq);

  QuerySource(QuerySource&&) noexcept;
  QuerySource& operator=(QuerySource&&) noexcept;
  ~QuerySource();

  Seq seq() const { return seq_; }
  bool from_store() const { return view_ != nullptr; }

  Result<std::vector<LineRecord>> Lines(std::string_view provider, int32_t month) const;
  // The same one at a time, until `fn` returns false (streamed answers).
  Status ForEachLine(std::string_view provider, int32_t month,
                     const std::function<bool(const LineRecord&)>& fn) const;
  Result<std::vector<TrajectoryRecord>> Trajectories(std::string_view niss) const;
  Result<std::vector<TrajectoryRecord>> NetworkTrajectories(std::string_view network) const;
  // Whether any event of the ledger is about this beneficiary.
  Result<bool> BeneficiaryKnown(std::string_view niss) const;
  Result<Cents> Allocated(std::string_view network, int32_t year) const;
  Result<std::map<CivilDay, Cents>> Daily(std::string_view network, int32_t year) const;
  // The rulesets in force at seq(), loaded on first use.
  Result<const RulesetCatalog*> rules() const;

  // The network directory.
  Result<std::vector<NetworkRecord>> Networks() const;
  Result<std::optional<NetworkRecord>> Network(std::string_view network) const;
  Result<std::vector<EnrolmentRecord>> Enrolments(std::string_view network) const;
  Result<std::vector<std::string>> ProviderNetworks(std::string_view provider) const;
  Result<bool> ProviderKnown(std::string_view provider) const;

  // Tallies of a network's lines in a month, per provider, by provider id.
  Result<std::vector<std::pair<std::string, LineTally>>> NetworkMonth(std::string_view network,
                                                                      int32_t month) const;
  // A network's tallies of each month of a year with lines (summed over providers).
  Result<std::map<int32_t, LineTally>> NetworkYear(std::string_view network, int32_t year) const;
  // Providers with lines in the month, by id, after `after`, at most `limit` (0: all).
  Result<std::vector<std::string>> MonthProviders(int32_t month, std::string_view after = {},
                                                  size_t limit = 0) const;

 private:
  QuerySource();
  // The memory backend's tallies, by month, network, provider (built on first use).
  const std::map<std::tuple<int32_t, std::string, std::string>, LineTally>& MemoryTallies() const;

  Seq seq_ = 0;
  const EventLog* log_ = nullptr;
  std::unique_ptr<ProjectionView> view_;
  std::unique_ptr<History> history_;
  std::unique_ptr<Projection> projection_;
  mutable std::unique_ptr<RulesetCatalog> rules_;  // store-backed, loaded by rules()
  mutable std::unique_ptr<std::map<std::tuple<int32_t, std::string, std::string>, LineTally>>
      tallies_;
};

}  // namespace ledger
