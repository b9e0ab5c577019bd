#include "api/server/metrics.h"

#include <cstdio>

namespace ledger {
namespace {

std::string Number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

const std::vector<double> kLatencyBounds = {0.0005, 0.001, 0.002, 0.005, 0.01,
                                            0.025,  0.05,  0.1,   0.25,  1};

}  // namespace

void Histogram::Observe(double v) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += v;
  ++count_;
}

void Histogram::Render(const std::string& name, const std::string& labels, std::string* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string sep = labels.empty() ? "" : ",";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    *out += name + "_bucket{" + labels + sep + "le=\"" + Number(bounds_[i]) + "\"} " +
            std::to_string(cumulative) + "\n";
  }
  cumulative += counts_.back();
  *out += name + "_bucket{" + labels + sep + "le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
  const std::string braces = labels.empty() ? "" : "{" + labels + "}";
  *out += name + "_sum" + braces + " " + Number(sum_) + "\n";
  *out += name + "_count" + braces + " " + std::to_string(count_) + "\n";
}

void Metrics::Request(const std::string& route, int status, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{route, status}];
  latency_.try_emplace(route, kLatencyBounds).first->second.Observe(seconds);
}

void Metrics::AppendGroup(uint64_t events, double commit_seconds) {
  group_events_.Observe(static_cast<double>(events));
  commit_seconds_.Observe(commit_seconds);
}

std::string Metrics::Render() const {
  std::string out;
  out += "# HELP ledgerd_requests_total HTTP requests by route pattern and status.\n";
  out += "# TYPE ledgerd_requests_total counter\n";
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [key, n] : requests_) {
    out += "ledgerd_requests_total{route=\"" + key.first + "\",status=\"" +
           std::to_string(key.second) + "\"} " + std::to_string(n) + "\n";
  }
  out += "# HELP ledgerd_request_duration_seconds Request latency by route pattern.\n";
  out += "# TYPE ledgerd_request_duration_seconds histogram\n";
  for (const auto& [route, h] : latency_) {
    h.Render("ledgerd_request_duration_seconds", "route=\"" + route + "\"", &out);
  }
  out += "# HELP ledgerd_append_group_events Events per group-committed (synced) batch.\n";
  out += "# TYPE ledgerd_append_group_events histogram\n";
  group_events_.Render("ledgerd_append_group_events", "", &out);
  out += "# HELP ledgerd_fsync_seconds Duration of a group commit's synced write.\n";
  out += "# TYPE ledgerd_fsync_seconds histogram\n";
  commit_seconds_.Render("ledgerd_fsync_seconds", "", &out);
  const uint64_t last = last_seq_.load(), projected = projection_seq_.load();
  out += "# HELP ledgerd_last_seq The log's head.\n# TYPE ledgerd_last_seq gauge\n";
  out += "ledgerd_last_seq " + std::to_string(last) + "\n";
  out += "# HELP ledgerd_projection_seq The seq the projections reflect.\n";
  out += "# TYPE ledgerd_projection_seq gauge\n";
  out += "ledgerd_projection_seq " + std::to_string(projected) + "\n";
  out += "# HELP ledgerd_projection_lag_events Events appended but not yet projected.\n";
  out += "# TYPE ledgerd_projection_lag_events gauge\n";
  out += "ledgerd_projection_lag_events " + std::to_string(last - std::min(last, projected)) + "\n";
  out += "# HELP ledgerd_answer_cache_hits_total Projection reads answered from the cache.\n";
  out += "# TYPE ledgerd_answer_cache_hits_total counter\n";
  out += "ledgerd_answer_cache_hits_total " + std::to_string(answer_hits_.load()) + "\n";
  out += "# HELP ledgerd_answer_cache_misses_total Projection reads rendered afresh.\n";
  out += "# TYPE ledgerd_answer_cache_misses_total counter\n";
  out += "ledgerd_answer_cache_misses_total " + std::to_string(answer_misses_.load()) + "\n";
  out += "# HELP ledgerd_connections_open Open client connections.\n";
  out += "# TYPE ledgerd_connections_open gauge\n";
  out += "ledgerd_connections_open " + std::to_string(connections_.load()) + "\n";
  return out;
}

}  // namespace ledger
