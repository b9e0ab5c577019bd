// Counters, gauges and histograms rendered in the Prometheus text format. Labels are route
// patterns and status codes only: never a token, a NISS or any other path parameter.
// Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace ledger {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds)
      : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}
  void Observe(double v);
  // Appends `name_bucket{labels,le=..}` lines, _sum and _count.
  void Render(const std::string& name, const std::string& labels, std::string* out) const;

 private:
  mutable std::mutex mu_;
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  void Request(const std::string& route, int status, double seconds);
  void AppendGroup(uint64_t events, double commit_seconds);
  // A projection read answered from the answer cache (`cached`) or rendered afresh.
  void AnswerRead(bool cached) { ++(cached ? answer_hits_ : answer_misses_); }
  void ConnectionOpened() { ++connections_; }
  void ConnectionClosed() { --connections_; }
  void SetSeqs(uint64_t last_seq, uint64_t projection_seq) {
    last_seq_ = last_seq;
    projection_seq_ = projection_seq;
  }
  // Every metric: the server's, the build's (ledger_build_info) and the process's (below).
  // A read replica: events the primary has that it has not stored yet.
  void SetReplicaLag(uint64_t events) { replica_lag_ = static_cast<int64_t>(events); }
  std::string Render() const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::string, Histogram> latency_;
  Histogram group_events_{{1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096}};
  Histogram commit_seconds_{{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1}};
  std::atomic<int64_t> connections_{0};
  std::atomic<uint64_t> answer_hits_{0}, answer_misses_{0};
  std::atomic<uint64_t> last_seq_{0}, projection_seq_{0};
  std::atomic<int64_t> replica_lag_{-1};  // -1: not a replica
};

// The standard process metrics of Prometheus' client libraries, read from /proc/self:
// process_resident_memory_bytes, process_cpu_seconds_total, process_open_fds, process_max_fds,
// process_start_time_seconds. A figure /proc cannot give is left out, never made up.
void RenderProcessMetrics(std::string* out);

}  // namespace ledger
