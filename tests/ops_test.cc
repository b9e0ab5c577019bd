// The operators' interface (shared/domain/interfaces.md, "Operations") as operators use it, with
// the binaries: --version, the token lifecycle (list, revoke, expiry, reload on SIGHUP),
// backups and restores (offline and online), the verified import and the read replica.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/version.h"
#include "ledger/testing/temp_dir.h"
#include "schemas/json_codec.h"
#include "tests/ledgerd_harness.h"

extern char** environ;

namespace ledger {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using namespace ledgerd_testing;  // NOLINT: the harness
using ledgerd_testing::History;   // the test history, not projections/history.h

struct Ran {
  int exit_code = -1;  // -1: killed after the deadline
  std::string out, err;
  json::value Json() const {
    boost::system::error_code ec;
    json::value v = json::parse(out, ec);
    return ec ? json::value() : v;
  }
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs a binary to its end, stdout and stderr kept.
Ran RunBinary(std::vector<std::string> args, const std::string& scratch) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string out = scratch + "/out", err = scratch + "/err";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  Ran r;
  if (rc != 0) return r;
  const auto deadline = std::chrono::steady_clock::now() + 300s;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) != pid) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      return r;
    }
    std::this_thread::sleep_for(2ms);
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = Slurp(out);
  r.err = Slurp(err);
  return r;
}

class OpsTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }
  Ran Ledgerctl(std::vector<std::string> args) {
    args.insert(args.begin(), LEDGERCTL_BINARY);
    return RunBinary(std::move(args), dir_.path());
  }
  Ran LedgerdOnce(std::vector<std::string> args) {
    args.insert(args.begin(), LEDGERD_BINARY);
    return RunBinary(std::move(args), dir_.path());
  }
  TempDir dir_{"ops_test"};
};

TEST_F(OpsTest, BothBinariesPrintTheirVersion) {
  const std::string build = *kLedgerBuild ? std::string(" (") + kLedgerBuild + ")" : "";
  Ran ctl = Ledgerctl({"--version"});
  EXPECT_EQ(ctl.exit_code, 0) << ctl.err;
  EXPECT_EQ(ctl.out, std::string("ledgerctl ") + kLedgerVersion + build + "\n");
  Ran d = LedgerdOnce({"--version"});
  EXPECT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(d.out, std::string("ledgerd ") + kLedgerVersion + build + "\n");
  // No path of the machine it was built on.
  EXPECT_EQ(ctl.out.find('/'), std::string::npos) << ctl.out;
  EXPECT_NE(Ledgerctl({"--help"}).out.find("--version"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Tokens: list, revoke, expiry; ledgerd reloads the file on SIGHUP.

TEST_F(OpsTest, TokensAreListedRevokedAndNeverShown) {
  const std::string file = Path("tokens");
  Ran a = Ledgerctl({"tokens", "add", "--file", file, "--role", "auditor", "--name", "audit"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  const std::string secret = a.out.substr(0, a.out.size() - 1);
  Ran c = Ledgerctl({"tokens", "add", "--file", file, "--role", "coordinator", "--network", "N-1",
                     "--name", "coord", "--expires", "2999-12-31"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  // A name is unique in the file: revoke finds a token by it.
  Ran again = Ledgerctl({"tokens", "add", "--file", file, "--role", "auditor", "--name", "audit"});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("already"), std::string::npos) << again.err;
  // An expiry already past is refused.
  EXPECT_EQ(Ledgerctl({"tokens", "add", "--file", file, "--role", "auditor", "--name", "old",
                       "--expires", "2001-01-01"})
                .exit_code,
            2);

  Ran list = Ledgerctl({"tokens", "list", "--file", file});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  const json::value listed = list.Json();  // kept: the array below refers into it
  const json::array& tokens = listed.at("tokens").as_array();
  ASSERT_EQ(tokens.size(), 2u) << list.out;
  EXPECT_EQ(tokens[0].at("name"), "audit");
  EXPECT_EQ(tokens[0].at("role"), "auditor");
  EXPECT_TRUE(tokens[0].at("network").is_null());
  EXPECT_TRUE(tokens[0].at("expires").is_null());
  EXPECT_EQ(tokens[0].at("created").as_string().size(), 10u);  // YYYY-MM-DD
  EXPECT_EQ(tokens[1].at("network"), "N-1");
  EXPECT_EQ(tokens[1].at("expires"), "2999-12-31");
  // Neither the token nor its hash is listed.
  EXPECT_EQ(list.out.find(secret), std::string::npos);
  EXPECT_EQ(list.out.find(ToHex(Sha256::Of(secret))), std::string::npos);
  EXPECT_EQ(list.out.find("sha256"), std::string::npos);

  Ran revoke = Ledgerctl({"tokens", "revoke", "--file", file, "--name", "audit"});
  ASSERT_EQ(revoke.exit_code, 0) << revoke.err;
  EXPECT_EQ(revoke.Json().at("revoked"), "audit");
  EXPECT_EQ((fs::status(file).permissions() & fs::perms::all),
            fs::perms::owner_read | fs::perms::owner_write);
  auto store = TokenStore::Load(file);
  ASSERT_TRUE(store.ok()) << store.error().ToString();
  EXPECT_EQ(store->size(), 1u);
  EXPECT_FALSE(store->Authenticate(secret).has_value());
  Ran unknown = Ledgerctl({"tokens", "revoke", "--file", file, "--name", "audit"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("no token named 'audit'"), std::string::npos) << unknown.err;
}

TEST(TokenStoreTest, ATokenWorksUpToItsExpiryDayAndNotAfter) {
  TempDir dir("ops_test");
  const std::string file = dir.path() + "/tokens";
  const CivilDay day = ToDay(*ParseDate("2026-03-31"));
  auto token = TokenStore::Add(file, NewToken{AccessRole::kAuditor, "", "a", day});
  ASSERT_TRUE(token.ok());
  auto store = TokenStore::Load(file);
  ASSERT_TRUE(store.ok());
  EXPECT_TRUE(store->Authenticate(*token, day - 1).has_value());
  EXPECT_TRUE(store->Authenticate(*token, day).has_value());
  EXPECT_FALSE(store->Authenticate(*token, day + 1).has_value());
  // A malformed expiry is refused at load, naming the line and field.
  std::ofstream(file, std::ios::app)
      << R"({"sha256":")" << std::string(64, 'a') << R"(","role":"auditor","expires":"2026-13-01"})"
      << "\n";
  auto bad = TokenStore::Load(file);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("line 2: expires"), std::string::npos)
      << bad.error().ToString();
}

// Waits until `log` holds `text` (a lifecycle line ledgerd writes).
bool LogShows(const std::string& log, const std::string& text, int count = 1) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string got = Slurp(log);
    int n = 0;
    for (size_t at = got.find(text); at != std::string::npos; at = got.find(text, at + 1)) ++n;
    if (n >= count) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

TEST_F(OpsTest, SighupReloadsTheTokenFileAndNeverStopsTheServer) {
  const std::string file = Path("tokens"), db = Path("db"), log = Path("ledgerd.log");
  ASSERT_TRUE(EventLog::Open(db).ok());
  const Tokens t = MakeTokens(file);
  // Expired yesterday: refused like an unknown token.
  auto expired = TokenStore::Add(
      file, NewToken{AccessRole::kAuditor, "", "expired",
                     DayOfTimestampUs(std::chrono::duration_cast<std::chrono::microseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count()) -
                         1});
  ASSERT_TRUE(expired.ok());
  Ledgerd d({"--db", db, "--listen", "127.0.0.1:0", "--tokens", file, "--port-file", Path("port"),
             "--quiet"},
            log, Path("port"));
  ASSERT_GT(d.port(), 0);
  Client c(d.port());
  EXPECT_EQ(c.Get("/v1/me", t.auditor).status, 200);
  Reply old = c.Get("/v1/me", *expired);
  EXPECT_EQ(old.status, 401);
  EXPECT_EQ(old.ErrorCode(), "unauthenticated");

  // Added while it runs: unknown until SIGHUP, then it works.
  Ran added = Ledgerctl({"tokens", "add", "--file", file, "--role", "operator", "--name", "new"});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  const std::string fresh = added.out.substr(0, added.out.size() - 1);
  EXPECT_EQ(c.Get("/v1/me", fresh).status, 401);
  d.Signal(SIGHUP);
  ASSERT_TRUE(LogShows(log, "\"tokens_reloaded\"", 1)) << Slurp(log);
  EXPECT_EQ(c.Get("/v1/me", fresh).status, 200);
  EXPECT_TRUE(d.running());

  // Revoked, SIGHUP: 401.
  ASSERT_EQ(Ledgerctl({"tokens", "revoke", "--file", file, "--name", "new"}).exit_code, 0);
  d.Signal(SIGHUP);
  ASSERT_TRUE(LogShows(log, "\"tokens_reloaded\"", 2)) << Slurp(log);
  Reply revoked = c.Get("/v1/me", fresh);
  EXPECT_EQ(revoked.status, 401);
  EXPECT_EQ(revoked.ErrorCode(), "unauthenticated");

  // A broken file on reload keeps the tokens in use, says so, and the server goes on.
  std::ofstream(file, std::ios::app) << "{not json\n";
  d.Signal(SIGHUP);
  ASSERT_TRUE(LogShows(log, "\"tokens_reload_failed\"")) << Slurp(log);
  EXPECT_TRUE(d.running());
  EXPECT_EQ(c.Get("/v1/me", t.auditor).status, 200);
  EXPECT_EQ(Slurp(log).find(t.auditor), std::string::npos);  // never a token in the log
  EXPECT_EQ(d.StopWith(SIGTERM), 0);
}

// ---------------------------------------------------------------------------------------------
// Backups and restores.

// Appends sessions over HTTP from `threads` clients until `stop`; counts what was answered 200.
class AppendLoad {
 public:
  AppendLoad(uint16_t port, const std::string& token, int threads) {
    for (int t = 0; t < threads; ++t) {
      workers_.emplace_back([this, port, token, t] {
        Client c(port);
        for (int i = 0; !stop_.load(); ++i) {
          const std::string id = "load-" + std::to_string(t) + "-" + std::to_string(i);
          Reply r = c.Post("/v1/events", token, Session(id) + "\n", "application/x-ndjson");
          if (r.status == 200) {
            ++appended_;
          } else {
            ++failed_;
          }
        }
      });
    }
  }
  ~AppendLoad() { Stop(); }
  void Stop() {
    stop_ = true;
    for (auto& w : workers_) w.join();
    workers_.clear();
  }
  int appended() const { return appended_.load(); }
  int failed() const { return failed_.load(); }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> appended_{0}, failed_{0};
  std::vector<std::thread> workers_;
};

TEST_F(OpsTest, AnOnlineBackupUnderAppendsRestoresToExactlyTheAnsweredHead) {
  ServerOptions options = TestOptions();
  options.backup_dir = Path("backups");
  TestServer s(options);
  s.Seed(History());
  Client c(s.port());
  // Operators only.
  EXPECT_EQ(c.Post("/v1/admin/backups", s.tokens().auditor, "", "application/json").status, 403);
  EXPECT_EQ(c.Post("/v1/admin/backups", s.tokens().recorder, "", "application/json").status, 403);
  EXPECT_EQ(c.Post("/v1/admin/backups", "", "", "application/json").status, 401);

  AppendLoad load(s.port(), s.tokens().recorder, 4);
  while (load.appended() < 50) std::this_thread::sleep_for(1ms);
  Reply first = c.Post("/v1/admin/backups", s.tokens().operator_, "", "application/json");
  ASSERT_EQ(first.status, 200) << first;
  while (load.appended() < 150) std::this_thread::sleep_for(1ms);
  Reply second = c.Post("/v1/admin/backups", s.tokens().operator_, "", "application/json");
  ASSERT_EQ(second.status, 200) << second;
  const int during = load.appended();
  load.Stop();
  EXPECT_EQ(load.failed(), 0);
  const json::value b1 = first.Json(), b2 = second.Json();
  const uint64_t seq1 = b1.at("seq").to_number<uint64_t>(),
                 seq2 = b2.at("seq").to_number<uint64_t>();
  EXPECT_GT(seq2, seq1);
  EXPECT_GT(s.LastSeq(), seq2) << "appends went on after the second backup (" << during << ")";
  EXPECT_EQ(b2.at("backup_id").to_number<int>(), b1.at("backup_id").to_number<int>() + 1);
  EXPECT_GT(b1.at("bytes").to_number<uint64_t>(), 0u);
  EXPECT_EQ(first.Header("ledger-seq"), std::to_string(seq1));
  // The recorded head is the primary's hash at that seq.
  for (const json::value* b : {&b1, &b2}) {
    const uint64_t seq = b->at("seq").to_number<uint64_t>();
    Reply e = c.Get("/v1/events?from=" + std::to_string(seq) + "&limit=1", s.tokens().auditor);
    ASSERT_EQ(e.status, 200) << e;
    EXPECT_EQ(e.Json().at("events").at(0).at("hash"), b->at("head"));
  }
  s.Stop();  // the backups are read by another process below; the ledger is left as it is

  Ran list = Ledgerctl({"backups", "--from", Path("backups")});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  const json::value listed = list.Json();  // kept: the array below refers into it
  const json::array& backups = listed.at("backups").as_array();
  ASSERT_EQ(backups.size(), 2u);
  EXPECT_EQ(backups[1].at("seq"), b2.at("seq"));
  EXPECT_EQ(backups[1].at("head"), b2.at("head"));
  EXPECT_EQ(backups[1].at("created_at").as_string().size(), 27u);  // RFC 3339 UTC

  // Each restores to exactly what it answered, verified whole.
  Ran latest = Ledgerctl({"restore", "--from", Path("backups"), "--db", Path("restored2")});
  ASSERT_EQ(latest.exit_code, 0) << latest.err;
  EXPECT_EQ(latest.Json().at("seq"), b2.at("seq"));
  EXPECT_EQ(latest.Json().at("verified").at("head"), b2.at("head"));
  EXPECT_EQ(latest.Json().at("verified").at("events"), b2.at("seq"));
  Ran older =
      Ledgerctl({"restore", "--from", Path("backups"), "--backup-id",
                 std::to_string(b1.at("backup_id").to_number<int>()), "--db", Path("restored1")});
  ASSERT_EQ(older.exit_code, 0) << older.err;
  Ran verify = Ledgerctl({"verify", "--db", Path("restored1")});
  ASSERT_EQ(verify.exit_code, 0) << verify.err;
  EXPECT_EQ(verify.Json().at("head"), b1.at("head"));
  EXPECT_EQ(verify.Json().at("events"), b1.at("seq"));
  EXPECT_EQ((fs::status(Path("restored1")).permissions() & fs::perms::all), fs::perms::owner_all);
  // Never over a ledger.
  Ran over = Ledgerctl({"restore", "--from", Path("backups"), "--db", Path("restored1")});
  EXPECT_EQ(over.exit_code, 2);
  EXPECT_NE(over.err.find("not empty"), std::string::npos) << over.err;
  EXPECT_EQ(Ledgerctl({"verify", "--db", Path("restored1")}).Json().at("head"), b1.at("head"));
}

TEST_F(OpsTest, OnlineBackupsNeedABackupDir) {
  TestServer s;
  Client c(s.port());
  Reply r = c.Post("/v1/admin/backups", s.tokens().operator_, "", "application/json");
  EXPECT_EQ(r.status, 409) << r;
  EXPECT_EQ(r.ErrorCode(), "not_configured");
  EXPECT_NE(r.body.find("--backup-dir"), std::string::npos) << r;
}

TEST_F(OpsTest, AnOfflineBackupIsRefusedWhileLedgerdHoldsTheLedger) {
  const std::string db = Path("db");
  {
    auto log = EventLog::Open(db);
    ASSERT_TRUE(log.ok());
    std::vector<DecodedEvent> events;
    for (const std::string& line : History()) {
      auto e = DecodeEventJson(line, static_cast<int64_t>(events.size()),
                               ToDay(*ParseDate("2026-01-01")));
      ASSERT_TRUE(e.ok()) << e.error().ToString();
      events.push_back(std::move(*e));
    }
    ASSERT_TRUE((*log)->AppendAll(events).ok());
    // Held by this process: ledgerctl (another process) finds RocksDB's lock taken.
    Ran held = Ledgerctl({"backup", "--db", db, "--to", Path("backups")});
    EXPECT_EQ(held.exit_code, 3);
    EXPECT_NE(held.err.find("open in another process"), std::string::npos) << held.err;
  }
  Ran b = Ledgerctl({"backup", "--db", db, "--to", Path("backups")});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(b.Json().at("seq"), 10);
  EXPECT_EQ(b.Json().at("backup_id"), 1);
  EXPECT_EQ(b.Json().at("head"), Ledgerctl({"verify", "--db", db}).Json().at("head"));
  // Another backup of the same ledger: the next id.
  Ran again = Ledgerctl({"backup", "--db", db, "--to", Path("backups")});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.Json().at("backup_id"), 2);
  EXPECT_EQ((fs::status(Path("backups")).permissions() & fs::perms::all), fs::perms::owner_all);
  EXPECT_EQ(Ledgerctl({"backups", "--from", Path("nothing")}).exit_code, 1);
}

// ---------------------------------------------------------------------------------------------
// The verified import.

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::string JoinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

class ImportTest : public OpsTest {
 protected:
  // A generated ledger in db "a" and its `ledgerctl events` output.
  void SetUp() override {
    ASSERT_EQ(
        Ledgerctl({"generate", "--seed", "5", "--events", "3000", "--out", Path("gen")}).exit_code,
        0);
    Ran a = Ledgerctl({"append", "--db", Path("a"), Path("gen")});
    ASSERT_EQ(a.exit_code, 0) << a.err;
    Ran events = Ledgerctl({"events", "--db", Path("a")});
    ASSERT_EQ(events.exit_code, 0) << events.err;
    printed_ = events.out;
    lines_ = SplitLines(printed_);
    ASSERT_GT(lines_.size(), 1000u);
  }
  std::string Write(const std::string& name, const std::vector<std::string>& lines) {
    std::ofstream(Path(name)) << JoinLines(lines);
    return Path(name);
  }
  std::string printed_;
  std::vector<std::string> lines_;
};

TEST_F(ImportTest, RebuildsAnIdenticalLedgerFromItsPrintedEvents) {
  std::ofstream(Path("events")) << printed_;
  Ran imported = Ledgerctl({"import", "--verified", Path("events"), "--db", Path("b")});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  const json::value last = json::parse(lines_.back());
  EXPECT_EQ(imported.Json().at("imported"), lines_.size());
  EXPECT_EQ(imported.Json().at("head"), last.at("hash"));
  EXPECT_EQ(imported.Json().at("verified").at("ok"), true);
  // Identical: the same events, byte for byte, and the same answers.
  EXPECT_EQ(Ledgerctl({"events", "--db", Path("b")}).out, printed_);
  EXPECT_EQ(Ledgerctl({"verify", "--db", Path("b")}).Json().at("head"), last.at("hash"));
  EXPECT_EQ(Ledgerctl({"projections", "status", "--db", Path("b")}).Json().at("digest"),
            Ledgerctl({"projections", "status", "--db", Path("a")}).Json().at("digest"));

  // In two parts: the second continues from the head.
  const size_t half = lines_.size() / 2;
  Write("first", {lines_.begin(), lines_.begin() + static_cast<long>(half)});
  Write("second", {lines_.begin() + static_cast<long>(half), lines_.end()});
  ASSERT_EQ(Ledgerctl({"import", "--verified", Path("first"), "--db", Path("c")}).exit_code, 0);
  // The same part again is refused: its seqs are stored already.
  Ran repeat = Ledgerctl({"import", "--verified", Path("first"), "--db", Path("c")});
  EXPECT_EQ(repeat.exit_code, 1);
  EXPECT_NE(repeat.err.find("line 1: nothing stored: "), std::string::npos) << repeat.err;
  EXPECT_NE(repeat.err.find("field seq"), std::string::npos) << repeat.err;
  ASSERT_EQ(Ledgerctl({"import", "--verified", Path("second"), "--db", Path("c")}).exit_code, 0);
  EXPECT_EQ(Ledgerctl({"events", "--db", Path("c")}).out, printed_);
}

TEST_F(ImportTest, ATamperedLineIsRefusedByLineAndFieldAndNothingIsStored) {
  // Line 700 altered: its id changed (still a valid event), its hash kept.
  std::vector<std::string> tampered = lines_;
  json::object e = json::parse(tampered[699]).as_object();
  e["id"] = std::string(e["id"].as_string()) + "x";
  tampered[699] = json::serialize(e);
  Ran r = Ledgerctl({"import", "--verified", Write("tampered", tampered), "--db", Path("b")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("line 700: nothing stored: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("field hash"), std::string::npos) << r.err;
  EXPECT_EQ(Ledgerctl({"verify", "--db", Path("b")}).Json().at("events"), 0);

  // A forged hash on an otherwise untouched line.
  std::vector<std::string> forged = lines_;
  json::object f = json::parse(forged[9]).as_object();
  f["hash"] = std::string(64, '0');
  forged[9] = json::serialize(f);
  r = Ledgerctl({"import", "--verified", Write("forged", forged), "--db", Path("b")});
  EXPECT_NE(r.err.find("line 10: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("field hash"), std::string::npos) << r.err;

  // Re-timed: recorded_at moved.
  std::vector<std::string> retimed = lines_;
  json::object t = json::parse(retimed[20]).as_object();
  t["recorded_at"] = "2099-01-01T00:00:00Z";
  retimed[20] = json::serialize(t);
  r = Ledgerctl({"import", "--verified", Write("retimed", retimed), "--db", Path("b")});
  EXPECT_NE(r.err.find("line 21: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("field hash"), std::string::npos) << r.err;
  EXPECT_EQ(Ledgerctl({"verify", "--db", Path("b")}).Json().at("events"), 0);
}

TEST_F(ImportTest, AGapIsRefused) {
  std::vector<std::string> gap = lines_;
  gap.erase(gap.begin() + 41);  // seq 42 missing: line 42 holds seq 43
  Ran r = Ledgerctl({"import", "--verified", Write("gap", gap), "--db", Path("b")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("line 42: nothing stored: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("field seq: expected seq 42 (events are missing before it), got 43"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(Ledgerctl({"verify", "--db", Path("b")}).Json().at("events"), 0);
  // Not from the start either: the first line must follow the head (0).
  Ran later = Ledgerctl({"import", "--verified", Write("later", {lines_.begin() + 5, lines_.end()}),
                         "--db", Path("b")});
  EXPECT_NE(later.err.find("line 1: "), std::string::npos) << later.err;
  EXPECT_NE(later.err.find("expected seq 1"), std::string::npos) << later.err;
}

// ---------------------------------------------------------------------------------------------
// The read replica.

json::value Health(uint16_t port) { return Client(port, 5s).Get("/healthz").Json(); }

// Waits until `done` holds, or fails the test after `timeout`.
bool WaitFor(const std::function<bool()>& done, std::chrono::seconds timeout = 60s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

class ReplicaTest : public OpsTest {
 protected:
  // A primary ledgerd with the test history, and its tokens.
  void SetUp() override {
    ASSERT_TRUE(EventLog::Open(Path("primary")).ok());
    ASSERT_TRUE(EventLog::Open(Path("replica")).ok());
    tokens_ = MakeTokens(Path("tokens"));
    primary_ = std::make_unique<Ledgerd>(
        std::vector<std::string>{"--db", Path("primary"), "--listen", "127.0.0.1:0", "--tokens",
                                 Path("tokens"), "--port-file", Path("primary.port"), "--quiet"},
        Path("primary.log"), Path("primary.port"));
    ASSERT_GT(primary_->port(), 0);
    Client c(primary_->port());
    ASSERT_EQ(
        c.Post("/v1/events", tokens_.operator_, Lines(History()), "application/x-ndjson").status,
        200);
  }
  std::unique_ptr<Ledgerd> StartReplica(const std::string& follow_token) {
    return std::make_unique<Ledgerd>(
        std::vector<std::string>{"--db", Path("replica"), "--listen", "127.0.0.1:0", "--tokens",
                                 Path("tokens"), "--port-file", Path("replica.port"), "--follow",
                                 "http://127.0.0.1:" + std::to_string(primary_->port()),
                                 "--follow-token", follow_token, "--quiet"},
        Path("replica.log"), Path("replica.port"));
  }
  std::string HeadHash(uint16_t port, uint64_t seq) {
    Reply r =
        Client(port).Get("/v1/events?from=" + std::to_string(seq) + "&limit=1", tokens_.auditor);
    const json::value v = r.Json();
    if (r.status != 200 || v.at("events").as_array().empty()) return "";
    return std::string(v.at("events").at(0).at("hash").as_string());
  }
  Tokens tokens_;
  std::unique_ptr<Ledgerd> primary_;
};

TEST_F(ReplicaTest, AReplicaReachesThePrimarysHeadUnderLoadAndOutlivesIt) {
  auto replica = StartReplica(tokens_.auditor);
  ASSERT_GT(replica->port(), 0);
  Client r(replica->port());
  // Appends are refused: writes go to the primary.
  Reply refused =
      r.Post("/v1/events", tokens_.recorder, Session("r-1") + "\n", "application/x-ndjson");
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.ErrorCode(), "read_only");
  EXPECT_EQ(
      r.Post("/v1/months/2024-04/close", tokens_.operator_, "", "application/json").ErrorCode(),
      "read_only");

  {
    AppendLoad load(primary_->port(), tokens_.recorder, 4);
    ASSERT_TRUE(WaitFor([&] { return load.appended() >= 300; })) << load.appended();
    // Following while the primary appends.
    const json::value during = Health(replica->port());
    EXPECT_EQ(during.at("following").as_string(),
              "http://127.0.0.1:" + std::to_string(primary_->port()));
    EXPECT_TRUE(during.at("lag_events").is_number());
    load.Stop();
    EXPECT_EQ(load.failed(), 0);
  }
  const uint64_t head = Health(primary_->port()).at("last_seq").to_number<uint64_t>();
  ASSERT_GT(head, 300u);
  ASSERT_TRUE(WaitFor([&] {
    const json::value h = Health(replica->port());
    return h.at("last_seq") == head && h.at("projection_seq") == head;
  })) << Health(replica->port());
  EXPECT_EQ(Health(replica->port()).at("lag_events"), 0);
  EXPECT_EQ(HeadHash(replica->port(), head), HeadHash(primary_->port(), head));
  EXPECT_FALSE(HeadHash(replica->port(), head).empty());
  const std::string metrics = r.Get("/metrics").body;
  EXPECT_NE(metrics.find("\nledger_replica_lag_events 0\n"), std::string::npos) << metrics;
  // Its own projections answer as the primary's.
  const std::string invoice = "/v1/providers/P-A/invoices/2024-04";
  EXPECT_EQ(r.Get(invoice, tokens_.auditor).body,
            Client(primary_->port()).Get(invoice, tokens_.auditor).body);

  // The primary killed: the replica serves reads, says it cannot reach it, and stays whole.
  EXPECT_EQ(primary_->StopWith(SIGKILL), 128 + SIGKILL);
  EXPECT_EQ(r.Get(invoice, tokens_.auditor).status, 200);
  EXPECT_EQ(Health(replica->port()).at("last_seq"), head);
  EXPECT_TRUE(WaitFor(
      [&] { return Slurp(Path("replica.log")).find("follow_retrying") != std::string::npos; }));
  EXPECT_EQ(r.Get("/v1/audit/verify", tokens_.auditor).Json().at("ok"), true);
  EXPECT_TRUE(replica->running());
  EXPECT_EQ(Slurp(Path("replica.log")).find(tokens_.auditor), std::string::npos);
  EXPECT_EQ(replica->StopWith(SIGTERM), 0);

  // Restarted without --follow: a primary, appends accepted after the replicated history.
  Ledgerd promoted({"--db", Path("replica"), "--listen", "127.0.0.1:0", "--tokens", Path("tokens"),
                    "--port-file", Path("promoted.port"), "--quiet"},
                   Path("promoted.log"), Path("promoted.port"));
  Reply appended = Client(promoted.port())
                       .Post("/v1/events", tokens_.recorder, Session("after-promotion") + "\n",
                             "application/x-ndjson");
  ASSERT_EQ(appended.status, 200) << appended;
  EXPECT_EQ(appended.Json().at("results").at(0).at("seq"), head + 1);
  EXPECT_FALSE(Health(promoted.port()).as_object().contains("following"));
}

TEST_F(ReplicaTest, AChainThatDisagreesStopsTheReplicaWithoutRewritingIt) {
  // The replica holds another history: its own first event differs from the primary's.
  {
    auto log = EventLog::Open(Path("replica"));
    ASSERT_TRUE(log.ok());
    auto e = DecodeEventJson(Network("N-Z", "Other"), 0, ToDay(*ParseDate("2026-01-01")));
    ASSERT_TRUE(e.ok());
    std::vector<DecodedEvent> batch;
    batch.push_back(std::move(*e));
    ASSERT_TRUE((*log)->AppendAll(batch).ok());
  }
  auto replica = StartReplica(tokens_.auditor);
  ASSERT_GT(replica->port(), 0);
  ASSERT_TRUE(WaitFor([&] {
    return Health(replica->port()).as_object().contains("follow_stopped");
  })) << Health(replica->port());
  const json::value h = Health(replica->port());
  EXPECT_NE(std::string(h.at("follow_stopped").as_string()).find("disagree"), std::string::npos)
      << h;
  EXPECT_EQ(h.at("last_seq"), 1);  // nothing rewritten, nothing added
  EXPECT_NE(Slurp(Path("replica.log")).find("\"follow_stopped\""), std::string::npos);
  EXPECT_EQ(Client(replica->port()).Get("/v1/networks", tokens_.auditor).status, 200);
  EXPECT_TRUE(replica->running());
}

TEST_F(ReplicaTest, ATokenThePrimaryRefusesIsRetriedAndReported) {
  auto replica = StartReplica("lt_not_a_token");
  ASSERT_GT(replica->port(), 0);
  EXPECT_TRUE(WaitFor([&] {
    return Slurp(Path("replica.log")).find("the primary answered 401") != std::string::npos;
  })) << Slurp(Path("replica.log"));
  EXPECT_EQ(Health(replica->port()).at("last_seq"), 0);
  EXPECT_TRUE(replica->running());
  // A URL it cannot follow is refused at start (exit 2).
  Ran bad = LedgerdOnce({"--db", Path("replica"), "--listen", "127.0.0.1:0", "--tokens",
                         Path("tokens"), "--follow", "https://example.org", "--follow-token", "x"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--follow must be http://HOST:PORT"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace ledger
