// The child of tests/crash_test.cc: opens the log in DIR and appends one batch of EVENTS valid
// session.individual events (tests/crash_events.h), ids "b<BATCH>-<i>", written in chunks of
// CHUNK events. The parent kills it at a random moment. Progress goes to stdout, unbuffered, so
// that the parent knows how far it got: "chunk <n>" after each chunk is written, "committed
// <last_seq>" when Commit() has returned (acknowledged, hence durable).
//
// usage: crash_append_child DIR BATCH EVENTS CHUNK
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "ledger/event_log.h"
#include "schemas/civil_date.h"
#include "schemas/json_codec.h"
#include "tests/crash_events.h"

namespace ledger {
namespace {

// One whole line with write(2): nothing is buffered in the process when it is killed.
void Say(const std::string& line) {
  const std::string text = line + "\n";
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = write(STDOUT_FILENO, text.data() + done, text.size() - done);
    if (n <= 0) std::exit(3);
    done += static_cast<size_t>(n);
  }
}

int Fail(const Error& e) {
  std::fprintf(stderr, "crash_append_child: %s\n", e.ToString().c_str());
  return 1;
}

int Run(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: crash_append_child DIR BATCH EVENTS CHUNK\n");
    return 2;
  }
  const std::string dir = argv[1];
  const uint64_t batch = std::strtoull(argv[2], nullptr, 10);
  const uint64_t events = std::strtoull(argv[3], nullptr, 10);
  LogOptions options;
  options.chunk_events_max = std::strtoull(argv[4], nullptr, 10);
  if (events == 0 || options.chunk_events_max == 0) return 2;

  auto log = EventLog::Open(dir, options);
  if (!log) return Fail(log.error());
  Say("opened " + std::to_string((*log)->head().seq));
  const CivilDay today = DayOfTimestampUs(std::chrono::duration_cast<std::chrono::microseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count());
  auto append = (*log)->BeginAppend();
  for (uint64_t i = 0; i < events; ++i) {
    auto decoded = DecodeEventJson(crash::SessionJson(crash::ChildPrefix(batch), i),
                                   static_cast<int64_t>(i), today);
    if (!decoded) return Fail(decoded.error());
    if (Status s = append->Add(*decoded); !s) return Fail(s.error());
    if ((i + 1) % options.chunk_events_max == 0) Say("chunk " + std::to_string(i + 1));
  }
  auto result = append->Commit();
  if (!result) return Fail(result.error());
  Say("committed " + std::to_string(result->last_seq));
  return 0;
}

}  // namespace
}  // namespace ledger

int main(int argc, char** argv) { return ledger::Run(argc, argv); }
