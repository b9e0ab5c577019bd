// What /metrics renders besides the request figures: the build, and the process read from
// /proc/self.
#include "api/server/metrics.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <string>

#include "api/version.h"

namespace ledger {
namespace {

// The value of the sample line `name value`; NaN when absent.
double Sample(const std::string& text, const std::string& name) {
  const std::string key = "\n" + name + " ";
  const size_t at = text.find(key);
  if (at == std::string::npos) return std::nan("");
  return std::strtod(text.c_str() + at + key.size(), nullptr);
}

TEST(MetricsTest, BuildInfoNamesTheVersion) {
  const std::string text = Metrics().Render();
  EXPECT_NE(text.find(std::string("ledger_build_info{version=\"") + kLedgerVersion + "\",build=\"" +
                      kLedgerBuild + "\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(std::string(kLedgerVersion).find('.'), std::string::npos);  // CMake's x.y.z
}

TEST(MetricsTest, ProcessMetricsAreThisProcesssFigures) {
  std::string before;
  RenderProcessMetrics(&before);
  // The figures are the process's own: an opened file is counted, the start is in the past.
  const int fd = ::open("/proc/self/stat", O_RDONLY);
  ASSERT_GE(fd, 0);
  std::string after;
  RenderProcessMetrics(&after);
  ::close(fd);
  EXPECT_EQ(Sample(after, "process_open_fds"), Sample(before, "process_open_fds") + 1) << after;
  EXPECT_GE(Sample(after, "process_max_fds"), Sample(after, "process_open_fds"));
  EXPECT_GT(Sample(after, "process_resident_memory_bytes"), 1 << 20);  // a process: > 1 MiB
  EXPECT_GE(Sample(after, "process_cpu_seconds_total"), 0);
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const double start = Sample(after, "process_start_time_seconds");
  EXPECT_LE(start, now + 1);
  EXPECT_GT(start, now - 3600);  // this test binary started less than an hour ago
  // Burning CPU moves the counter: 200 ms of this process's own CPU time (not wall time, which
  // a loaded machine may spend elsewhere), given up after 20 s of wall time.
  auto cpu_seconds = [] {
    timespec ts{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
  };
  volatile double sink = 0;
  const double cpu_until = cpu_seconds() + 0.2;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (cpu_seconds() < cpu_until && std::chrono::steady_clock::now() < give_up) sink = sink + 1;
  std::string later;
  RenderProcessMetrics(&later);
  EXPECT_GT(Sample(later, "process_cpu_seconds_total"), Sample(after, "process_cpu_seconds_total"));
  EXPECT_NE(later.find("# TYPE process_cpu_seconds_total counter\n"), std::string::npos);
}

}  // namespace
}  // namespace ledger
