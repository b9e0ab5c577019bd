// What ledgerctl and ledgerd do with the data directory (--db) and the token file, as users run
// them (the binaries): a mistyped --db is refused by every command but `append`, creating
// nothing; what they create is private (0700 directories, 0600 files) whatever the umask; a
// token file other users can read or change is refused, saying how to fix it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/server/tokens.h"
#include "ledger/testing/temp_dir.h"

extern char** environ;

namespace ledger {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct Outcome {
  int exit_code = -1;  // -1: did not exit on its own (killed after the deadline)
  std::string stderr_text;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Spawns `args` (stdout to /dev/null, stderr to `log`); returns its pid.
pid_t Spawn(const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> all = args;
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

int Wait(pid_t pid, std::chrono::seconds timeout = 60s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::this_thread::sleep_for(5ms);
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -1;
}

Outcome RunToEnd(const std::vector<std::string>& args, const std::string& log) {
  const pid_t pid = Spawn(args, log);
  if (pid < 0) return {};
  Outcome r;
  r.exit_code = Wait(pid);
  r.stderr_text = ReadFile(log);
  return r;
}

// Restores the process umask at the end of a scope (children inherit it).
class Umask {
 public:
  explicit Umask(mode_t mask) : old_(::umask(mask)) {}
  ~Umask() { ::umask(old_); }

 private:
  mode_t old_;
};

fs::perms PermsOf(const fs::path& p) { return fs::status(p).permissions() & fs::perms::all; }

constexpr const char* kEvents =
    R"({"id":"net-1","type":"network.registered","occurred_on":"2021-01-01",)"
    R"("network_id":"N-1","name":"Adults","population":"adults"})"
    "\n"
    R"({"id":"s-1","type":"session.individual","occurred_on":"2024-04-02",)"
    R"("provider_id":"P-1","network_id":"N-1",)"
    R"("beneficiary":{"niss":"90031210192","birth_date":"1990-03-12","bim":false},)"
    R"("function":"support","minutes":60,"location":"practice"})"
    "\n";

class DataDirTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }
  Outcome Ledgerctl(std::vector<std::string> args) {
    args.insert(args.begin(), LEDGERCTL_BINARY);
    return RunToEnd(args, Path("ledgerctl.log"));
  }
  std::string EventsFile() {
    std::ofstream(Path("events.jsonl")) << kEvents;
    return Path("events.jsonl");
  }
  TempDir dir_{"data_dir_test"};
};

TEST_F(DataDirTest, EveryCommandButAppendRefusesAMissingLedgerAndCreatesNothing) {
  const std::string rules =
      std::string(LEDGER_SOURCE_DIR) + "/projections/rulesets/convention-2024.json";
  const std::vector<std::vector<std::string>> commands = {
      {"events"},
      {"verify"},
      {"checkpoint"},
      {"invoice", "--provider", "P-1", "--month", "2024-04"},
      {"quota", "--niss", "90031210192", "--on", "2024-05-31"},
      {"balance", "--network", "N-1", "--year", "2024"},
      {"figures", "--network", "N-1", "--on", "2024-05-31"},
      {"projections", "status"},
      {"projections", "rebuild"},
      {"rules", "show"},
      {"rules", "publish", rules, "--reason", "indexation"},
      {"replay", "--rules", rules},
      {"close", "--month", "2024-04"},
      {"regularisations"},
      {"explain", "--event", "s-1"},
      {"export", "--month", "2024-04"},
  };
  fs::create_directory(Path("empty"));
  for (const std::string& db : {Path("mistyped"), Path("empty")}) {
    for (std::vector<std::string> args : commands) {
      const std::string name = args[0] + (args.size() > 1 ? " " + args[1] : "");
      args.insert(args.end(), {"--db", db});
      const Outcome r = Ledgerctl(args);
      EXPECT_EQ(r.exit_code, 2) << name << " on " << db << ": " << r.stderr_text;
      EXPECT_NE(r.stderr_text.find("no ledger in " + db), std::string::npos)
          << name << ": " << r.stderr_text;
      EXPECT_NE(r.stderr_text.find("ledgerctl append"), std::string::npos) << r.stderr_text;
    }
  }
  EXPECT_FALSE(fs::exists(Path("mistyped")));
  EXPECT_TRUE(fs::is_empty(Path("empty")));

  // append creates it; then the others read it.
  const Outcome append = Ledgerctl({"append", "--db", Path("mistyped"), EventsFile()});
  EXPECT_EQ(append.exit_code, 0) << append.stderr_text;
  const Outcome verify = Ledgerctl({"verify", "--db", Path("mistyped")});
  EXPECT_EQ(verify.exit_code, 0) << verify.stderr_text;
  // An empty ledger, for a ledgerd to start on: append of an empty file.
  EXPECT_EQ(Ledgerctl({"append", "--db", Path("empty"), "/dev/null"}).exit_code, 0);
  EXPECT_EQ(Ledgerctl({"verify", "--db", Path("empty")}).exit_code, 0);
}

TEST_F(DataDirTest, WhatLedgerctlCreatesIsPrivateWhateverTheUmask) {
  const Umask permissive(022);
  const std::string db = Path("db");
  ASSERT_EQ(Ledgerctl({"append", "--db", db, EventsFile()}).exit_code, 0);
  ASSERT_EQ(Ledgerctl({"generate", "--events", "200", "--out", Path("history.jsonl")}).exit_code,
            0);
  EXPECT_EQ(PermsOf(db), fs::perms::owner_all);
  int files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(db)) {
    if (entry.is_directory()) {
      EXPECT_EQ(PermsOf(entry.path()), fs::perms::owner_all) << entry.path();
    } else {
      ++files;
      EXPECT_EQ(PermsOf(entry.path()), fs::perms::owner_read | fs::perms::owner_write)
          << entry.path();
    }
  }
  EXPECT_GE(files, 5) << "CURRENT, MANIFEST, OPTIONS, a WAL, LOG, ...";
  EXPECT_EQ(PermsOf(Path("history.jsonl")), fs::perms::owner_read | fs::perms::owner_write);
}

class LedgerdDataDirTest : public DataDirTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(TokenStore::Add(Path("tokens"), AccessRole::kAuditor, "", "auditor").ok());
  }
  std::vector<std::string> Args(const std::string& db) {
    return {LEDGERD_BINARY, "--db",        db,           "--tokens", Path("tokens"), "--listen",
            "127.0.0.1:0",  "--port-file", Path("port"), "--quiet"};
  }
  // Starts ledgerd, waits until it listens, stops it with SIGTERM; its exit code.
  int StartAndStop(const std::string& db) {
    const pid_t pid = Spawn(Args(db), Path("ledgerd.log"));
    if (pid < 0) return -1;
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline && ReadFile(Path("port")).empty()) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        ADD_FAILURE() << "ledgerd exited early: " << ReadFile(Path("ledgerd.log"));
        return -1;
      }
      std::this_thread::sleep_for(5ms);
    }
    kill(pid, SIGTERM);
    return Wait(pid);
  }
};

TEST_F(LedgerdDataDirTest, LedgerdRefusesAMissingLedgerAndCreatesNothing) {
  const Outcome r = RunToEnd(Args(Path("mistyped")), Path("ledgerd.log"));
  EXPECT_EQ(r.exit_code, 2) << r.stderr_text;  // a bad setting: systemd does not retry it
  EXPECT_NE(r.stderr_text.find("no ledger in " + Path("mistyped")), std::string::npos)
      << r.stderr_text;
  EXPECT_FALSE(fs::exists(Path("mistyped")));
  EXPECT_TRUE(ReadFile(Path("port")).empty());
}

TEST_F(LedgerdDataDirTest, ATokenFileOthersCanReadOrChangeIsRefused) {
  ASSERT_EQ(Ledgerctl({"append", "--db", Path("db"), "/dev/null"}).exit_code, 0);
  for (const fs::perms open :
       {fs::perms::others_read, fs::perms::others_write, fs::perms::group_write,
        fs::perms::others_read | fs::perms::group_read}) {
    fs::permissions(Path("tokens"), fs::perms::owner_read | fs::perms::owner_write | open);
    const Outcome r = RunToEnd(Args(Path("db")), Path("ledgerd.log"));
    EXPECT_EQ(r.exit_code, 2) << r.stderr_text;
    EXPECT_NE(r.stderr_text.find("chmod 600 " + Path("tokens")), std::string::npos)
        << r.stderr_text;
  }
  // 0600, and 0640 (the runbook's root:ledger): served.
  for (const fs::perms ok : {fs::perms::none, fs::perms::group_read}) {
    fs::permissions(Path("tokens"), fs::perms::owner_read | fs::perms::owner_write | ok);
    std::filesystem::remove(Path("port"));
    EXPECT_EQ(StartAndStop(Path("db")), 0) << ReadFile(Path("ledgerd.log"));
  }
}

TEST_F(LedgerdDataDirTest, WhatLedgerdCreatesIsPrivateWhateverTheUmask) {
  const Umask permissive(022);
  ASSERT_EQ(Ledgerctl({"append", "--db", Path("db"), EventsFile()}).exit_code, 0);
  std::set<std::string> before;
  for (const auto& entry : fs::directory_iterator(Path("db"))) before.insert(entry.path());
  EXPECT_EQ(StartAndStop(Path("db")), 0) << ReadFile(Path("ledgerd.log"));
  int created = 0;
  for (const auto& entry : fs::directory_iterator(Path("db"))) {
    if (before.count(entry.path())) continue;
    ++created;
    EXPECT_EQ(PermsOf(entry.path()), fs::perms::owner_read | fs::perms::owner_write)
        << entry.path();
  }
  EXPECT_GE(created, 2) << "a new WAL and MANIFEST at least";
  EXPECT_EQ(PermsOf(Path("port")), fs::perms::owner_read | fs::perms::owner_write);
}

}  // namespace
}  // namespace ledger
