// Projection benchmarks on an existing log (see ops/bench.sh): a full rebuild of all
// projections, and the cost of maintaining them per appended event.
//   bench_projections --db DIR [--tail FILE] [--no-rebuild] [--slices | --packed | --in-memory]
//                     [--digest]
// --packed rebuilds packed (the default way, for a log of up to 40M events), --slices in slices
// (a log of more than 40M), --in-memory as the reference does, so that each path can be
// measured on the same log; --digest prints the store's digest after.
// FILE holds events not yet in the log; they are appended in batches of 1 and of 100 with a
// catch-up after each, and the median catch-up time per event is printed. Figures are JSON.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "api/flags.h"
#include "ledger/event_log.h"
#include "ledger/sha256.h"
#include "projections/store.h"

namespace ledger {
namespace {

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

int Main(int argc, char** argv) {
  auto flags = Flags::Parse({argv + 1, argv + argc}, {"db", "tail"},
                            {"no-rebuild", "slices", "packed", "in-memory", "digest"});
  if (!flags || !flags->Get("db")) {
    std::fprintf(stderr,
                 "usage: bench_projections --db DIR [--tail FILE] [--no-rebuild] [--slices | "
                 "--packed | --in-memory] [--digest]\n");
    return 2;
  }
  auto log = EventLog::Open(*flags->Get("db"));
  if (!log) {
    std::fprintf(stderr, "%s\n", log.error().ToString().c_str());
    return 1;
  }
  ProjectionStore store(**log);
  if (flags->Has("slices") || flags->Has("packed")) store.set_in_memory_rebuild_max(0);
  if (flags->Has("slices")) store.set_packed_rebuild_max(0);
  if (flags->Has("in-memory")) store.set_in_memory_rebuild_max(UINT64_MAX);
  const Seq events = (*log)->head().seq;
  const auto t0 = std::chrono::steady_clock::now();
  if (Status s = flags->Has("no-rebuild") ? store.CatchUp() : store.Rebuild(); !s) {
    std::fprintf(stderr, "%s\n", s.error().ToString().c_str());
    return 1;
  }
  const double rebuild_s = Seconds(std::chrono::steady_clock::now() - t0);
  std::printf(
      "{\"bench\":\"projections_rebuild\",\"events\":%llu,\"seconds\":%.3f,"
      "\"events_per_s\":%.0f}\n",
      static_cast<unsigned long long>(events), rebuild_s, events / rebuild_s);
  if (flags->Has("digest")) {  // to compare the paths' stores
    auto digest = store.Digest();
    if (!digest) return 1;
    std::printf("{\"bench\":\"projections_digest\",\"sha256\":\"%s\"}\n", ToHex(*digest).c_str());
  }

  if (auto tail = flags->Get("tail")) {
    std::ifstream in(*tail);
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    size_t at = 0;
    const CivilDay today = ToDay({2100, 1, 1});
    for (size_t batch : {size_t{1}, size_t{100}}) {
      std::vector<double> per_event_us;
      for (int round = 0; round < 200 && at + batch <= lines.size(); ++round) {
        auto append = (*log)->BeginAppend();
        for (size_t i = at; i < at + batch; ++i) {
          auto ev = DecodeEventJson(lines[i], static_cast<int64_t>(i - at), today);
          if (!ev || !append->Add(*ev)) return 1;
        }
        if (!append->Commit()) return 1;
        append.reset();
        at += batch;
        const auto c0 = std::chrono::steady_clock::now();
        if (!store.CatchUp()) return 1;
        per_event_us.push_back(Seconds(std::chrono::steady_clock::now() - c0) * 1e6 /
                               static_cast<double>(batch));
      }
      if (per_event_us.empty()) continue;
      std::sort(per_event_us.begin(), per_event_us.end());
      std::printf(
          "{\"bench\":\"projections_maintain\",\"batch_events\":%zu,\"rounds\":%zu,"
          "\"median_us_per_event\":%.1f,\"p90_us_per_event\":%.1f}\n",
          batch, per_event_us.size(), per_event_us[per_event_us.size() / 2],
          per_event_us[per_event_us.size() * 9 / 10]);
    }
  }
  return 0;
}

}  // namespace
}  // namespace ledger

int main(int argc, char** argv) { return ledger::Main(argc, argv); }
