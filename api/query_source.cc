#include "api/query_source.h"

#include <algorithm>
#include <tuple>

namespace ledger {

QuerySource::QuerySource() = default;
QuerySource::QuerySource(QuerySource&&) noexcept = default;
QuerySource& QuerySource::operator=(QuerySource&&) noexcept = default;
QuerySource::~QuerySource() = default;

Result<QuerySource> QuerySource::FromStore(const ProjectionStore& store) {
  QuerySource src;
  src.view_ = std::make_unique<ProjectionView>(store.View());
  auto seq = src.view_->seq();
  if (!seq) return seq.error();
  src.seq_ = *seq;
  return src;
}

Result<QuerySource> QuerySource::AsOf(const EventLog& log, Seq seq) {
  QuerySource src;
  src.seq_ = seq;
  src.log_ = &log;
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
  if (view_) return view_->Lines(provider, month);
  return MemoryLines(*history_, *projection_, provider, month);
}

Status QuerySource::ForEachLine(std::string_view provider, int32_t month,
                                const std::function<bool(const LineRecord&)>& fn) const {
  if (view_) return view_->ForEachLine(provider, month, fn);
  for (const LineRecord& l : MemoryLines(*history_, *projection_, provider, month)) {
    if (!fn(l)) break;
  }
  return Ok();
}

Result<std::vector<TrajectoryRecord>> QuerySource::Trajectories(std::string_view niss) const {
  if (view_) return view_->Trajectories(niss);
  return MemoryTrajectories(*history_, *projection_, niss);
}

Result<std::vector<TrajectoryRecord>> QuerySource::NetworkTrajectories(
    std::string_view network) const {
  std::vector<TrajectoryRecord> out;
  if (view_) {
    Status s = view_->ForEachTrajectory([&](std::string_view, const TrajectoryRecord& t) {
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

Result<bool> QuerySource::BeneficiaryKnown(std::string_view niss) const {
  if (view_) return view_->BeneficiaryKnown(niss);
  return history_->beneficiaries.Find(niss).has_value();
}

Result<Cents> QuerySource::Allocated(std::string_view network, int32_t year) const {
  if (view_) return view_->Allocated(network, year);
  return MemoryAllocated(*history_, *projection_, network, year);
}

Result<std::map<CivilDay, Cents>> QuerySource::Daily(std::string_view network, int32_t year) const {
  if (view_) return view_->DailyConsumed(network, year);
  return MemoryDailyConsumed(*history_, *projection_, network, year);
}

Result<const RulesetCatalog*> QuerySource::rules() const {
  if (!view_) return projection_->rulesets.get();
  if (!rules_) {
    auto loaded = view_->Rulesets();
    if (!loaded) return loaded.error();
    rules_ = std::move(*loaded);
  }
  return rules_.get();
}

Result<std::vector<NetworkRecord>> QuerySource::Networks() const {
  if (view_) return view_->Networks();
  return NetworkDirectory(*history_);
}

Result<std::optional<NetworkRecord>> QuerySource::Network(std::string_view network) const {
  if (view_) return view_->Network(network);
  for (NetworkRecord& n : NetworkDirectory(*history_)) {
    if (n.network_id == network) return std::optional<NetworkRecord>(std::move(n));
  }
  return std::optional<NetworkRecord>();
}

Result<std::vector<EnrolmentRecord>> QuerySource::Enrolments(std::string_view network) const {
  if (view_) return view_->Enrolments(network);
  std::vector<EnrolmentRecord> out;
  for (EnrolmentRecord& e : EnrolmentDirectory(*history_)) {
    if (e.network_id == network) out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<std::string>> QuerySource::ProviderNetworks(std::string_view provider) const {
  if (view_) return view_->ProviderNetworks(provider);
  std::vector<std::string> out;
  for (const EnrolmentRecord& e : EnrolmentDirectory(*history_)) {
    if (e.provider_id == provider) out.push_back(e.network_id);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<bool> QuerySource::ProviderKnown(std::string_view provider) const {
  if (view_) return view_->ProviderKnown(provider);
  auto idx = history_->providers.Find(provider);
  if (!idx) return false;
  auto networks = ProviderNetworks(provider);
  if (!networks) return networks.error();
  if (!networks->empty()) return true;
  return std::any_of(projection_->lines.begin(), projection_->lines.end(),
                     [&](const Line& l) { return l.provider == *idx; });
}

const std::map<std::tuple<int32_t, std::string, std::string>, LineTally>&
QuerySource::MemoryTallies() const {
  if (!tallies_) {
    tallies_ =
        std::make_unique<std::map<std::tuple<int32_t, std::string, std::string>, LineTally>>();
    for (const Line& l : projection_->lines) {
      const LineRecord r = ToRecord(*history_, l);
      (*tallies_)[{MonthOf(l.day), r.network_id, history_->providers.Name(l.provider)}].Add(r);
    }
  }
  return *tallies_;
}

Result<std::vector<std::pair<std::string, LineTally>>> QuerySource::NetworkMonth(
    std::string_view network, int32_t month) const {
  if (view_) return view_->NetworkMonth(network, month);
  std::vector<std::pair<std::string, LineTally>> out;
  const auto& all = MemoryTallies();
  for (auto it = all.lower_bound({month, std::string(network), std::string()});
       it != all.end() && std::get<0>(it->first) == month && std::get<1>(it->first) == network;
       ++it) {
    out.emplace_back(std::get<2>(it->first), it->second);
  }
  return out;
}

Result<std::map<int32_t, LineTally>> QuerySource::NetworkYear(std::string_view network,
                                                              int32_t year) const {
  std::map<int32_t, LineTally> out;
  for (int32_t m = 1; m <= 12; ++m) {
    auto providers = NetworkMonth(network, year * 100 + m);
    if (!providers) return providers.error();
    if (providers->empty()) continue;
    LineTally& month = out[year * 100 + m];
    for (const auto& [provider, tally] : *providers) month += tally;
  }
  return out;
}

Result<std::vector<std::string>> QuerySource::MonthProviders(int32_t month, std::string_view after,
                                                             size_t limit) const {
  if (view_) return view_->MonthProviders(month, after, limit);
  std::vector<std::string> out;
  for (const auto& [key, tally] : MemoryTallies()) {
    if (std::get<0>(key) == month && std::get<2>(key) > after) out.push_back(std::get<2>(key));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  if (limit > 0 && out.size() > limit) out.resize(limit);
  return out;
}

}  // namespace ledger
