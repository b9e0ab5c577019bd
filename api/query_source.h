// Where a query's answer comes from: the persisted projections (at the seq they reflect), or,
// for an answer "as of" an earlier seq, a fold in memory of the history up to it. Shared by
// ledgerctl and ledgerd so that both answer alike.
#pragma once

#include <map>
#include <memory>
#include <string_view>
#include <vector>

#include "ledger/event_log.h"
#include "projections/history.h"
#include "projections/projector.h"
#include "projections/records.h"
#include "projections/store.h"

namespace ledger {

class QuerySource {
 public:
  // The store as it is (the caller catches it up, or not).
  static Result<QuerySource> FromStore(const ProjectionStore& store);
  // History 1..seq folded in memory (seq 0: nothing).
  static Result<QuerySource> AsOf(const EventLog& log, Seq seq);

  Seq seq() const { return seq_; }
  Result<std::vector<LineRecord>> Lines(std::string_view provider, int32_t month) const;
  Result<std::vector<TrajectoryRecord>> Trajectories(std::string_view niss) const;
  Result<std::vector<TrajectoryRecord>> NetworkTrajectories(std::string_view network) const;
  Result<Cents> Allocated(std::string_view network, int32_t year) const;
  Result<std::map<CivilDay, Cents>> Daily(std::string_view network, int32_t year) const;
  const RulesetCatalog& rules() const;

 private:
  Seq seq_ = 0;
  const ProjectionStore* store_ = nullptr;
  std::unique_ptr<RulesetCatalog> store_rules_;
  std::unique_ptr<History> history_;
  std::unique_ptr<Projection> projection_;
};

}  // namespace ledger
