#include "api/server/metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

#include "api/version.h"

namespace ledger {
namespace {

std::string Number(double v, const char* format = "%.9g") {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

const std::vector<double> kLatencyBounds = {0.0005, 0.001, 0.002, 0.005, 0.01,
                                            0.025,  0.05,  0.1,   0.25,  1};

void Gauge(const char* name, const char* type, const char* help, const std::string& value,
           std::string* out) {
  *out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  *out += std::string(name) + " " + value + "\n";
}

// The fields of /proc/self/stat after the command name (which may hold spaces and parentheses):
// fields[0] is the state (field 3 of proc(5)).
std::vector<std::string> ProcStatFields() {
  std::ifstream in("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = text.rfind(')');
  std::vector<std::string> fields;
  if (close == std::string::npos) return fields;
  std::istringstream rest(text.substr(close + 1));
  for (std::string f; rest >> f;) fields.push_back(f);
  return fields;
}

// Seconds since boot, from /proc/uptime (CLOCK_BOOTTIME, the clock of proc(5)'s starttime); -1
// if unknown.
double UptimeSeconds() {
  std::ifstream in("/proc/uptime");
  double up = -1;
  if (!(in >> up)) return -1;
  return up;
}

}  // namespace

void RenderProcessMetrics(std::string* out) {
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const std::vector<std::string> stat = ProcStatFields();
  // proc(5): utime is field 14, stime 15, starttime 22, rss 24; fields[0] is field 3.
  if (stat.size() > 21 && ticks > 0) {
    const double cpu = (std::atof(stat[11].c_str()) + std::atof(stat[12].c_str())) / ticks;
    Gauge("process_cpu_seconds_total", "counter", "Total user and system CPU time in seconds.",
          Number(cpu), out);
    const double rss = std::atof(stat[21].c_str()) * static_cast<double>(sysconf(_SC_PAGESIZE));
    Gauge("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", Number(rss),
          out);
    // How long ago the process started, by the boot clock (starttime's), taken from the wall
    // clock now; printed to the millisecond (Number's nine digits would round an epoch time to
    // ten seconds, into the future half the time).
    if (const double up = UptimeSeconds(); up >= 0) {
      const double age = std::max(0.0, up - std::atof(stat[19].c_str()) / ticks);
      const double now =
          std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
              .count();
      const double start = now - age;
      Gauge("process_start_time_seconds", "gauge",
            "Start time of the process since the Unix epoch in seconds.", Number(start, "%.3f"),
            out);
    }
  }
  if (DIR* fds = ::opendir("/proc/self/fd")) {
    long open = 0;
    while (const dirent* e = ::readdir(fds)) open += e->d_name[0] != '.';
    ::closedir(fds);
    // The directory stream's own descriptor is not one of the process's.
    Gauge("process_open_fds", "gauge", "Number of open file descriptors.", std::to_string(open - 1),
          out);
  }
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
    Gauge("process_max_fds", "gauge", "Maximum number of open file descriptors.",
          std::to_string(lim.rlim_cur), out);
  }
}

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
  out += "# HELP ledger_build_info The version and build of this ledgerd.\n";
  out += "# TYPE ledger_build_info gauge\n";
  out += std::string("ledger_build_info{version=\"") + kLedgerVersion + "\",build=\"" +
         kLedgerBuild + "\"} 1\n";
  RenderProcessMetrics(&out);
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
  if (const int64_t lag = replica_lag_.load(); lag >= 0) {
    out += "# HELP ledger_replica_lag_events Events of the primary this replica has not stored.\n";
    out += "# TYPE ledger_replica_lag_events gauge\n";
    out += "ledger_replica_lag_events " + std::to_string(lag) + "\n";
  }
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
