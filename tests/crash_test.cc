// Crash test of the event log: a child process (crash_append_child) appends one large batch,
// written in synced chunks before the commit, and is killed with SIGKILL at a random moment:
// while it opens and recovers the log, while it writes chunks, while it commits, or after.
// After every kill the log must hold the whole batch or nothing of it (and the whole batch if
// the child was told it was committed), read back gapless, and verify. Each round the parent
// then appends a batch of its own on top, so the log grows.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "ledger/event_log.h"
#include "ledger/testing/temp_dir.h"
#include "schemas/civil_date.h"
#include "schemas/json_codec.h"
#include "tests/crash_events.h"

#ifndef CRASH_APPEND_CHILD
#error "CRASH_APPEND_CHILD must name the crash_append_child executable"
#endif

extern char** environ;

namespace ledger {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kBatchEvents = 6000;
constexpr uint64_t kChunkEvents = 200;
// The parent appends this many events itself after each check, so that the log grows.
constexpr uint64_t kParentEvents = 2 * kChunkEvents + 7;
constexpr int kRounds = 30;
constexpr uint32_t kSeed = 20240603;
// Every this many rounds, the child is killed while it opens and recovers the log.
constexpr int kKillDuringOpenEvery = 6;
constexpr auto kChildTimeout = std::chrono::seconds(60);

// When to kill: `delay` after the spawn, or after the child said it opened the log.
struct KillPlan {
  bool after_open = true;
  Clock::duration delay{};
};

// What the child said before it died, with times since the spawn.
struct ChildRun {
  bool killed = false;  // died of our SIGKILL
  int exit_code = -1;   // when it exited by itself
  int chunks = 0;
  std::optional<Clock::duration> opened_at;
  std::optional<Clock::duration> committed_at;
  std::string output;

  void Heard(const std::string& line, Clock::duration at) {
    output += line + "\n";
    if (line.starts_with("opened ")) opened_at = at;
    if (line.starts_with("chunk ")) ++chunks;
    if (line.starts_with("committed ")) committed_at = at;
  }
};

// Takes the complete lines out of `pending`.
void HearLines(std::string* pending, ChildRun* run, Clock::duration at) {
  for (size_t nl = pending->find('\n'); nl != std::string::npos; nl = pending->find('\n')) {
    run->Heard(pending->substr(0, nl), at);
    pending->erase(0, nl + 1);
  }
}

timespec ToTimespec(Clock::duration d) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::max(d, {})).count();
  return timespec{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
}

pid_t SpawnChild(const std::string& dir, uint64_t batch, int stdout_fd) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, stdout_fd, STDOUT_FILENO);
  std::vector<std::string> args = {CRASH_APPEND_CHILD, dir, std::to_string(batch),
                                   std::to_string(kBatchEvents), std::to_string(kChunkEvents)};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    ADD_FAILURE() << "posix_spawn " << argv[0] << ": " << std::strerror(rc);
    return -1;
  }
  return pid;
}

// Runs the child on `dir`, listening to its progress, and kills it as `plan` says unless it
// has exited by then.
ChildRun RunChild(const std::string& dir, uint64_t batch, KillPlan plan) {
  ChildRun run;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2: " << std::strerror(errno);
    return run;
  }
  const Clock::time_point start = Clock::now();
  const pid_t pid = SpawnChild(dir, batch, fds[1]);
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    return run;
  }
  const Clock::time_point give_up = start + kChildTimeout;
  Clock::time_point deadline = plan.after_open ? give_up : start + plan.delay;
  std::string pending;
  char buf[4096];
  for (;;) {
    const Clock::time_point now = Clock::now();
    if (now >= deadline) {
      EXPECT_LT(now, give_up) << "the child hangs";
      kill(pid, SIGKILL);
      break;
    }
    pollfd pfd{fds[0], POLLIN, 0};
    const timespec wait = ToTimespec(deadline - now);
    const int ready = ppoll(&pfd, 1, &wait, nullptr);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) {
      ADD_FAILURE() << "ppoll: " << std::strerror(errno);
      kill(pid, SIGKILL);
      break;
    }
    if (ready == 0) continue;
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // end of output: the child is exiting
    pending.append(buf, static_cast<size_t>(n));
    const bool opened = run.opened_at.has_value();
    HearLines(&pending, &run, Clock::now() - start);
    if (plan.after_open && !opened && run.opened_at) {
      deadline = std::min(give_up, start + *run.opened_at + plan.delay);
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // What it said before it died is still in the pipe.
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    pending.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  HearLines(&pending, &run, Clock::now() - start);
  run.killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  return run;
}

std::string Key(Seq seq) {
  std::string k;
  for (int i = 7; i >= 0; --i) k.push_back(static_cast<char>((seq >> (8 * i)) & 0xff));
  return k;
}

// After the child's run of batch `round` on `old_head`: all or nothing, nothing left after the
// head, ReadRange sees exactly the head's events, and the chain verifies. Returns whether the
// batch is stored.
bool CheckAfterRun(EventLog& log, Seq old_head, uint64_t round, const ChildRun& run) {
  const Head head = log.head();
  const bool stored = head.seq == old_head + kBatchEvents;
  EXPECT_TRUE(head.seq == old_head || stored) << "head " << head.seq << " on " << old_head;
  if (run.committed_at) {
    EXPECT_TRUE(stored) << "an acknowledged batch was lost";
  }
  EXPECT_LE(run.exit_code, 0) << "the child failed";

  // Open() removed the remains of an uncommitted batch.
  std::unique_ptr<rocksdb::Iterator> it(
      log.raw_db()->NewIterator(rocksdb::ReadOptions(), log.events_cf()));
  it->Seek(Key(head.seq + 1));
  EXPECT_FALSE(it->Valid()) << "events remain after the head " << head.seq;
  EXPECT_TRUE(it->status().ok()) << it->status().ToString();
  it.reset();

  Seq expect = 1;
  const std::string prefix = crash::ChildPrefix(round);
  uint64_t of_batch = 0;
  Status read = log.ReadRange(1, UINT64_MAX, [&](const StoredEventView& v) {
    if (v.seq() != expect) return false;
    ++expect;
    if (std::string_view(v.event().getId().cStr()).starts_with(prefix)) ++of_batch;
    return true;
  });
  EXPECT_TRUE(read.ok()) << read.error().ToString();
  EXPECT_EQ(expect - 1, head.seq) << "ReadRange did not see exactly the head's events";
  EXPECT_EQ(of_batch, stored ? kBatchEvents : 0);
  auto first = log.FindId(prefix + "0");
  EXPECT_TRUE(first.ok() && first->has_value() == stored);

  auto report = log.Verify();
  if (!report) {
    ADD_FAILURE() << "Verify: " << report.error().ToString();
  } else {
    EXPECT_TRUE(report->ok) << "first bad seq " << report->first_bad_seq << ": " << report->problem;
    EXPECT_EQ(report->events, head.seq);
    EXPECT_EQ(report->head, head.hash);
  }
  return stored;
}

// The parent's own batch on top of the recovered log, so that the log grows every round and
// appends continue gapless after a crash.
void AppendParentBatch(EventLog& log, uint64_t round) {
  const Seq before = log.head().seq;
  const CivilDay today = DayOfTimestampUs(std::chrono::duration_cast<std::chrono::microseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count());
  auto append = log.BeginAppend();
  for (uint64_t i = 0; i < kParentEvents; ++i) {
    auto decoded = DecodeEventJson(crash::SessionJson(crash::ParentPrefix(round), i),
                                   static_cast<int64_t>(i), today);
    ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
    Status s = append->Add(*decoded);
    ASSERT_TRUE(s.ok()) << s.error().ToString();
  }
  auto result = append->Commit();
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result->results.front().seq, before + 1);
  EXPECT_EQ(result->last_seq, before + kParentEvents);
}

TEST(CrashTest, KilledAppendIsAllOrNothing) {
  TempDir dir{"crash_test"};
  const Clock::time_point test_start = Clock::now();
  LogOptions options;
  options.chunk_events_max = kChunkEvents;

  // Round 0 runs to the end: the batch commits, and its timing spreads the kills below.
  const ChildRun full = RunChild(dir.path(), 0, KillPlan{true, kChildTimeout});
  ASSERT_FALSE(full.killed) << full.output;
  ASSERT_EQ(full.exit_code, 0) << full.output;
  ASSERT_TRUE(full.opened_at && full.committed_at) << full.output;
  ASSERT_EQ(full.chunks, static_cast<int>(kBatchEvents / kChunkEvents));
  Seq head = 0;
  {
    auto log = EventLog::Open(dir.path(), options);
    ASSERT_TRUE(log.ok()) << log.error().ToString();
    ASSERT_TRUE(CheckAfterRun(**log, 0, 0, full));
    head = (*log)->head().seq;
  }
  // The latest times seen, so that the kills follow the machine's speed as the log grows.
  Clock::duration open_time = *full.opened_at;
  Clock::duration append_time = *full.committed_at - *full.opened_at;
  const Clock::duration first_append_time = append_time;

  std::mt19937 rng(kSeed);
  std::uniform_real_distribution<double> fraction(0.0, 1.0);
  int killed = 0, killed_opening = 0, killed_after_chunks = 0, stored = 0;
  for (int round = 1; round <= kRounds && !HasFailure(); ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const bool during_open = round % kKillDuringOpenEvery == 0;
    const double f = fraction(rng);
    // Kills land anywhere in the open, or in the append and a while after it (the commit, the
    // close, the exit).
    const KillPlan plan =
        during_open
            ? KillPlan{false, std::chrono::duration_cast<Clock::duration>(open_time * f)}
            : KillPlan{true, std::chrono::duration_cast<Clock::duration>(append_time * f * 1.3)};
    const ChildRun run = RunChild(dir.path(), static_cast<uint64_t>(round), plan);
    if (run.opened_at) open_time = *run.opened_at;
    if (run.opened_at && run.committed_at) append_time = *run.committed_at - *run.opened_at;
    killed += run.killed ? 1 : 0;
    killed_opening += run.killed && !run.opened_at ? 1 : 0;
    killed_after_chunks += run.killed && run.chunks > 0 && !run.committed_at ? 1 : 0;

    auto log = EventLog::Open(dir.path(), options);
    ASSERT_TRUE(log.ok()) << log.error().ToString();
    stored += CheckAfterRun(**log, head, static_cast<uint64_t>(round), run) ? 1 : 0;
    AppendParentBatch(**log, static_cast<uint64_t>(round));
    head = (*log)->head().seq;
  }
  auto ms = [](Clock::duration d) {
    return static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
  };
  std::printf(
      "crash test: a batch of %llu events appends in %lld ms; %d rounds: %d killed (%d while "
      "opening, %d after chunks were written and before the commit), %d batches stored; "
      "final head %llu; %lld ms in all\n",
      static_cast<unsigned long long>(kBatchEvents), ms(first_append_time), kRounds, killed,
      killed_opening, killed_after_chunks, stored, static_cast<unsigned long long>(head),
      ms(Clock::now() - test_start));
  // The kills must have hit the interesting window, or the test proves little.
  EXPECT_GE(killed_after_chunks, 3);
}

}  // namespace
}  // namespace ledger
