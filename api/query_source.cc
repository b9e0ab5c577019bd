#include "api/query_source.h"

namespace ledger {

Result<QuerySource> QuerySource::FromStore(const ProjectionStore& store) {
  QuerySource src;
  auto seq = store.seq();
  if (!seq) return seq.error();
  auto rules = store.Rulesets();
  if (!rules) return rules.error();
  src.seq_ = *seq;
  src.store_ = &store;
  src.store_rules_ = std::move(*rules);
  return src;
}

Result<QuerySource> QuerySource::AsOf(const EventLog& log, Seq seq) {
  QuerySource src;
  src.seq_ = seq;
  src.history_ = std::make_unique<History>();
  if (seq > 0) {
    auto h = History::Load(log, seq);
    if (!h) return h.error();
    *src.history_ = std::move(*h);
  }
  src.projection_ = std::make_unique<Projection>(Project(*src.history_, RulesetCatalog()));
  return src;
}

Result<std::vector<LineRecord>> QuerySource::Lines(std::string_view provider, int32_t month) const {
  if (store_) return store_->Lines(provider, month);
  return MemoryLines(*history_, *projection_, provider, month);
}

Result<std::vector<TrajectoryRecord>> QuerySource::Trajectories(std::string_view niss) const {
  if (store_) return store_->Trajectories(niss);
  return MemoryTrajectories(*history_, *projection_, niss);
}

Result<std::vector<TrajectoryRecord>> QuerySource::NetworkTrajectories(
    std::string_view network) const {
  std::vector<TrajectoryRecord> out;
  if (store_) {
    Status s = store_->ForEachTrajectory([&](std::string_view, const TrajectoryRecord& t) {
      if (t.network_id == network) out.push_back(t);
    });
    if (!s) return s.error();
    return out;
  }
  for (const Trajectory& t : projection_->trajectories) {
    if (history_->networks.Name(t.network) == network) out.push_back(ToRecord(*history_, t));
  }
  return out;
}

Result<Cents> QuerySource::Allocated(std::string_view network, int32_t year) const {
  if (store_) return store_->Allocated(network, year);
  return MemoryAllocated(*history_, *projection_, network, year);
}

Result<std::map<CivilDay, Cents>> QuerySource::Daily(std::string_view network, int32_t year) const {
  if (store_) return store_->DailyConsumed(network, year);
  return MemoryDailyConsumed(*history_, *projection_, network, year);
}

const RulesetCatalog& QuerySource::rules() const {
  return store_ ? *store_rules_ : *projection_->rulesets;
}

}  // namespace ledger
