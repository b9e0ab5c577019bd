// The harness of the ledgerd tests (tests/ledgerd_test.cc, tests/network_view_test.cc): test
// events, a file system that can fail or slow down writes, a minimal HTTP/1.1 client, and
// ledgerd wired in-process on an ephemeral loopback port (the wiring of api/ledgerd.cc).
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/server/committer.h"
#include "api/server/metrics.h"
#include "api/server/server.h"
#include "api/server/tokens.h"
#include "ledger/event_log.h"
#include "ledger/testing/temp_dir.h"
#include "projections/shipped_rulesets.h"
#include "projections/store.h"

extern char** environ;

namespace ledger::ledgerd_testing {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace json = boost::json;
using tcp = net::ip::tcp;
using Ms = std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------------
// Test data.

constexpr const char* kNissA = "90031210192";  // born 1990-03-12; sessions in N-A
constexpr const char* kNissB = "88120105504";  // born 1988-12-01; sessions in N-B

inline std::string Beneficiary(const char* niss) {
  const std::string birth = std::string(niss) == kNissA ? "1990-03-12" : "1988-12-01";
  return std::string(R"({"niss": ")") + niss + R"(", "birth_date": ")" + birth +
         R"(", "bim": false})";
}

inline std::string Session(const std::string& id, const std::string& provider = "P-A",
                           const std::string& network = "N-A", const char* niss = kNissA,
                           const std::string& date = "2024-04-02",
                           const std::string& minutes = "60") {
  return R"({"id": ")" + id + R"(", "type": "session.individual", "occurred_on": ")" + date +
         R"(", "provider_id": ")" + provider + R"(", "network_id": ")" + network +
         R"(", "beneficiary": )" + Beneficiary(niss) + R"(, "function": "support", "minutes": )" +
         minutes + R"(, "location": "practice"})";
}

inline std::string Mission(const std::string& id, const std::string& provider = "P-A",
                           const std::string& network = "N-A") {
  return R"({"id": ")" + id +
         R"(", "type": "support.mission", "occurred_on": "2024-06-05", "provider_id": ")" +
         provider + R"(", "network_id": ")" + network +
         R"(", "minutes": 90, "kind": "co_consultation"})";
}

inline std::string Void(const std::string& id, const std::string& target) {
  return R"({"id": ")" + id +
         R"(", "type": "event.voided", "occurred_on": "2024-06-20", "target": ")" + target +
         R"(", "reason": "entered twice"})";
}

inline std::string Network(const std::string& network, const std::string& name) {
  return R"({"id": "net-)" + network +
         R"(", "type": "network.registered", )"
         R"("occurred_on": "2021-01-01", "network_id": ")" +
         network + R"(", "name": ")" + name + R"(", "population": "adults"})";
}

inline std::string Enrolment(const std::string& provider, const std::string& network) {
  return R"({"id": "prov-)" + provider +
         R"(", "type": "provider.enrolled", )"
         R"("occurred_on": "2021-06-01", "provider_id": ")" +
         provider + R"(", "network_id": ")" + network + R"(", "profession": "psychologist"})";
}

inline std::string Budget(const std::string& network, const std::string& cents) {
  return R"({"id": "budget-)" + network +
         R"(", "type": "budget.allocated", )"
         R"("occurred_on": "2024-01-01", "network_id": ")" +
         network + R"(", "year": 2024, "care_budget_cents": )" + cents + "}";
}

// Two networks, one provider each, budgets, three sessions in N-A and one in N-B.
inline std::vector<std::string> History() {
  return {
      Network("N-A", "Adults A"),
      Network("N-B", "Adults B"),
      Enrolment("P-A", "N-A"),
      Enrolment("P-B", "N-B"),
      Budget("N-A", "100000000"),
      Budget("N-B", "50000000"),
      Session("a1", "P-A", "N-A", kNissA, "2024-04-02"),
      Session("a2", "P-A", "N-A", kNissA, "2024-04-09"),
      Session("a3", "P-A", "N-A", kNissA, "2024-04-16"),
      Session("b1", "P-B", "N-B", kNissB, "2024-04-03"),
  };
}

// The shipped convention-2024 ruleset document, as `ledgerctl rules show` prints it.
inline json::value RulesetInForce() {
  for (std::string_view doc : kShippedRulesetDocuments) {
    json::value v = json::parse(doc);
    if (v.at("id") == "convention-2024") return v;
  }
  std::abort();
}

// convention-2024 version 2: the individual session fee from 86.69 to 89.00 (+2.31).
inline json::value RevisedRuleset() {
  json::value v = RulesetInForce();
  v.as_object()["version"] = 2;
  for (json::value& fee : v.at("fees").as_array()) {
    if (fee.at("item") == "individual_session") fee.as_object()["cents"] = 8900;
  }
  return v;
}

inline std::string Lines(const std::vector<std::string>& events) {
  std::string out;
  for (const auto& e : events) out += e + "\n";
  return out;
}

inline std::string Array(const std::vector<std::string>& events) {
  std::string out = "[";
  for (size_t i = 0; i < events.size(); ++i) out += (i ? "," : "") + events[i];
  return out + "]";
}

// ---------------------------------------------------------------------------------------------
// A file system that can fail or slow down writes.

struct DiskControl {
  std::atomic<bool> fail{false};      // writable files fail Append, Sync and Fsync
  std::atomic<int> sync_delay_ms{0};  // Sync and Fsync wait this long first
  std::atomic<int> syncs_started{0};  // Sync and Fsync calls so far
};

class ControlledFs : public rocksdb::FileSystemWrapper {
 public:
  explicit ControlledFs(std::shared_ptr<DiskControl> control)
      : FileSystemWrapper(rocksdb::FileSystem::Default()), control_(std::move(control)) {}
  const char* Name() const override { return "ControlledFs"; }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->NewWritableFile(name, options, result, dbg);
    if (s.ok()) *result = std::make_unique<File>(std::move(*result), control_);
    return s;
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->ReopenWritableFile(name, options, result, dbg);
    if (s.ok()) *result = std::make_unique<File>(std::move(*result), control_);
    return s;
  }

 private:
  class File : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile> file, std::shared_ptr<DiskControl> control)
        : FSWritableFileOwnerWrapper(std::move(file)), control_(std::move(control)) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
      if (control_->fail.load()) return Injected();
      return FSWritableFileOwnerWrapper::Append(data, options, dbg);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             const rocksdb::DataVerificationInfo& info,
                             rocksdb::IODebugContext* dbg) override {
      if (control_->fail.load()) return Injected();
      return FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
      Delay();
      if (control_->fail.load()) return Injected();
      return FSWritableFileOwnerWrapper::Sync(options, dbg);
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                            rocksdb::IODebugContext* dbg) override {
      Delay();
      if (control_->fail.load()) return Injected();
      return FSWritableFileOwnerWrapper::Fsync(options, dbg);
    }

   private:
    void Delay() const {
      ++control_->syncs_started;
      if (int ms = control_->sync_delay_ms.load(); ms > 0) std::this_thread::sleep_for(Ms(ms));
    }
    static rocksdb::IOStatus Injected() { return rocksdb::IOStatus::IOError("injected failure"); }
    std::shared_ptr<DiskControl> control_;
  };

  std::shared_ptr<DiskControl> control_;
};

// ---------------------------------------------------------------------------------------------
// A minimal HTTP/1.1 client: one keep-alive connection, every operation bounded in time.

struct Reply {
  int status = 0;  // 0: no answer (closed, reset or timed out; see ec)
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  bool keep_alive = false;
  beast::error_code ec;

  json::value Json() const {
    boost::system::error_code ec2;
    json::value v = json::parse(body, ec2);
    return ec2 ? json::value() : v;
  }
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
  // The error body's code ("" when there is none).
  std::string ErrorCode() const {
    const json::value v = Json();
    const auto* e = v.is_object() ? v.as_object().if_contains("error") : nullptr;
    const auto* c = e && e->is_object() ? e->as_object().if_contains("code") : nullptr;
    return c && c->is_string() ? std::string(c->as_string()) : "";
  }
  std::string ErrorField(const char* key) const {
    const json::value v = Json();
    const auto* e = v.is_object() ? v.as_object().if_contains("error") : nullptr;
    const auto* f = e && e->is_object() ? e->as_object().if_contains(key) : nullptr;
    if (!f) return "";
    return f->is_string() ? std::string(f->as_string()) : json::serialize(*f);
  }
};

inline std::ostream& operator<<(std::ostream& os, const Reply& r) {
  return os << "HTTP " << r.status << " " << r.body << (r.ec ? " [" + r.ec.message() + "]" : "");
}

std::string Bearer(const std::string& token) { return token.empty() ? "" : "Bearer " + token; }

class Client {
 public:
  explicit Client(uint16_t port, Ms timeout = 30s) : stream_(ioc_), timeout_(timeout) {
    stream_.expires_after(timeout_);
    stream_.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port),
                          [this](beast::error_code ec) { connect_ec_ = ec; });
    Run();
  }
  bool connected() const { return !connect_ec_; }

  // One request and its answer. `authorization` is the whole header value ("" = none).
  Reply Call(http::verb verb, const std::string& target, const std::string& authorization = "",
             const std::string& body = "", const std::string& content_type = "application/json") {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (!authorization.empty()) req.set(http::field::authorization, authorization);
    if (verb == http::verb::post || !body.empty()) {
      if (!content_type.empty()) req.set(http::field::content_type, content_type);
      req.body() = body;
    }
    req.keep_alive(true);
    req.prepare_payload();
    beast::error_code ec;
    stream_.expires_after(timeout_);
    http::async_write(stream_, req, [&](beast::error_code e, size_t) { ec = e; });
    Run();
    if (ec) return Reply{.ec = ec};
    return Read(Ms(0), verb == http::verb::head);
  }
  Reply Get(const std::string& target, const std::string& token = "") {
    return Call(http::verb::get, target, Bearer(token));
  }
  Reply Post(const std::string& target, const std::string& token, const std::string& body,
             const std::string& content_type = "application/json") {
    return Call(http::verb::post, target, Bearer(token), body, content_type);
  }

  // Sends bytes as they are; false if the connection failed.
  bool SendRaw(std::string_view raw) {
    beast::error_code ec;
    stream_.expires_after(timeout_);
    net::async_write(stream_, net::buffer(raw.data(), raw.size()),
                     [&](beast::error_code e, size_t) { ec = e; });
    Run();
    return !ec;
  }
  void ShutdownSend() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  // `head`: the answer to a HEAD request (a head without its body, whatever Content-Length says).
  Reply Read(Ms timeout = Ms(0), bool head = false) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    parser.skip(head);
    Reply r;
    stream_.expires_after(timeout.count() ? timeout : timeout_);
    http::async_read(stream_, buffer_, parser, [&](beast::error_code e, size_t) { r.ec = e; });
    Run();
    if (r.ec) return r;
    auto res = parser.release();
    r.status = res.result_int();
    r.body = res.body();
    r.keep_alive = res.keep_alive();
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = std::string(f.value());
    }
    return r;
  }

  // True when the server closes the connection (end of stream or reset) within `timeout`;
  // whatever it sends before is discarded.
  bool ClosedWithin(Ms timeout) {
    stream_.expires_after(timeout);
    char scratch[4096];
    while (true) {
      beast::error_code ec;
      stream_.async_read_some(net::buffer(scratch), [&](beast::error_code e, size_t) { ec = e; });
      Run();
      if (ec == beast::error::timeout) return false;
      if (ec) return true;
    }
  }

 private:
  void Run() {
    ioc_.restart();
    ioc_.run();
  }

  net::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  Ms timeout_;
  beast::error_code connect_ec_;
};

// ---------------------------------------------------------------------------------------------
// ledgerd in-process: the wiring of api/ledgerd.cc on port 0.

struct Tokens {
  std::string recorder, coordinator_a, coordinator_b, auditor, operator_;
  std::map<std::string, std::string> coordinators;  // by network: TestServer's extra ones
};

// Creates one token of each kind in `path` with TokenStore::Add (what `ledgerctl tokens add`
// does).
inline Tokens MakeTokens(const std::string& path) {
  auto add = [&](AccessRole role, const std::string& network, const std::string& name) {
    auto t = TokenStore::Add(path, role, network, name);
    if (!t) {
      std::fprintf(stderr, "TokenStore::Add: %s\n", t.error().ToString().c_str());
      std::abort();
    }
    return *t;
  };
  Tokens t;
  t.recorder = add(AccessRole::kRecorder, "", "recorder");
  t.coordinator_a = add(AccessRole::kCoordinator, "N-A", "coordinator A");
  t.coordinator_b = add(AccessRole::kCoordinator, "N-B", "coordinator B");
  t.auditor = add(AccessRole::kAuditor, "", "auditor");
  t.operator_ = add(AccessRole::kOperator, "", "operator");
  return t;
}

inline ServerOptions TestOptions() {
  ServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.threads = 2;
  o.log_requests = false;
  return o;
}

class TestServer {
 public:
  // `coordinator_networks`: a coordinator token for each, in tokens().coordinators.
  explicit TestServer(ServerOptions options = TestOptions(),
                      std::shared_ptr<DiskControl> disk = nullptr,
                      const std::vector<std::string>& coordinator_networks = {})
      : disk_(std::move(disk)) {
    tokens_ = MakeTokens(dir_.path() + "/tokens");
    for (const std::string& n : coordinator_networks) {
      auto t = TokenStore::Add(dir_.path() + "/tokens", AccessRole::kCoordinator, n, "c " + n);
      Check(t.ok(), "TokenStore::Add");
      tokens_.coordinators[n] = *t;
    }
    auto token_store = TokenStore::Load(dir_.path() + "/tokens");
    Check(token_store.ok(), "TokenStore::Load");
    LogOptions log_options;
    if (disk_) {
      log_options.env.reset(
          rocksdb::NewCompositeEnv(std::make_shared<ControlledFs>(disk_)).release());
    }
    auto log = EventLog::Open(dir_.path() + "/db", log_options);
    Check(log.ok(), "EventLog::Open");
    log_ = std::move(*log);
    store_ = std::make_unique<ProjectionStore>(*log_);
    store_->set_write_lock(&projection_mu_);
    committer_ = std::make_unique<Committer>(*log_, *store_, projection_mu_, metrics_);
    server_ = std::make_unique<Server>(options, *log_, *store_, projection_mu_,
                                       std::move(*token_store), *committer_, metrics_);
    auto port = server_->Start();
    Check(port.ok(), "Server::Start");
    port_ = *port;
    runner_ = std::thread([this] { server_->Run(); });
  }
  ~TestServer() { Stop(); }

  void Stop(int drain_ms = 5000) {
    if (!server_) return;
    server_->Stop(drain_ms);
    runner_.join();
    committer_->Stop();
    server_.reset();
    committer_.reset();
    store_.reset();
    log_.reset();
  }
  Server& server() { return *server_; }
  // The server's log, for what ledgerctl would do beside it (close a month, publish).
  EventLog& log() { return *log_; }

  uint16_t port() const { return port_; }
  const Tokens& tokens() const { return tokens_; }
  const std::string& dir() const { return dir_.path(); }

  // Appends `events` as the operator; fails the test unless all are stored.
  void Seed(const std::vector<std::string>& events) {
    Client c(port_);
    Reply r = c.Post("/v1/events", tokens_.operator_, Lines(events), "application/x-ndjson");
    ASSERT_EQ(r.status, 200) << r;
    WaitProjected();
  }
  // After writing to log() directly (as ledgerctl would): the projections catch up as after a
  // commit, and this waits for them.
  void CatchUp() {
    committer_->ProjectionsDue();
    WaitProjected();
  }
  // Waits until the projections reflect the log's head (they are caught up after each commit).
  void WaitProjected() {
    Client c(port_);
    const auto deadline = Clock::now() + 30s;
    while (Clock::now() < deadline) {
      const json::value h = c.Get("/healthz").Json();
      if (h.is_object() && h.at("projection_seq") == h.at("last_seq")) return;
      std::this_thread::sleep_for(5ms);
    }
    ADD_FAILURE() << "projections did not catch up";
  }
  uint64_t LastSeq() {
    Client c(port_);
    return c.Get("/healthz").Json().at("last_seq").to_number<uint64_t>();
  }
  // Every stored event's id, by seq.
  std::map<uint64_t, std::string> StoredIds() {
    Client c(port_);
    std::map<uint64_t, std::string> out;
    Reply r = c.Get("/v1/events?from=1&limit=10000", tokens_.auditor);
    EXPECT_EQ(r.status, 200) << r;
    const json::value page = r.Json();  // kept: a range-for does not extend a temporary's life
    for (const auto& e : page.at("events").as_array()) {
      out[e.at("seq").to_number<uint64_t>()] = std::string(e.at("id").as_string());
    }
    return out;
  }

 private:
  static void Check(bool ok, const char* what) {
    if (!ok) {
      std::fprintf(stderr, "TestServer: %s failed\n", what);
      std::abort();
    }
  }

  TempDir dir_{"ledgerd_test"};
  std::shared_ptr<DiskControl> disk_;
  Tokens tokens_;
  std::unique_ptr<EventLog> log_;
  std::shared_mutex projection_mu_;
  std::unique_ptr<ProjectionStore> store_;
  Metrics metrics_;
  std::unique_ptr<Committer> committer_;
  std::unique_ptr<Server> server_;
  uint16_t port_ = 0;
  std::thread runner_;
};

inline std::set<std::string> IdsOf(const std::map<uint64_t, std::string>& stored) {
  std::set<std::string> out;
  for (const auto& [seq, id] : stored) out.insert(id);
  return out;
}

#ifdef LEDGERD_BINARY
// ---------------------------------------------------------------------------------------------
// The ledgerd binary (LEDGERD_BINARY), started with `args` (which must include --port-file
// `port_file` and --listen 127.0.0.1:0); stderr appended to `log_path`. Killed at the end.

// Starts LEDGERD_BINARY with `args`, stdout to /dev/null, stderr appended to `log_path`; its
// pid, or -1 with posix_spawn's error in `*rc`.
inline pid_t SpawnLedgerd(const std::vector<std::string>& args, const std::string& log_path,
                          int* rc) {
  std::vector<std::string> all = {LEDGERD_BINARY};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  pid_t pid = -1;
  *rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return *rc == 0 ? pid : -1;
}

class Ledgerd {
 public:
  Ledgerd(const std::vector<std::string>& args, const std::string& log_path,
          const std::string& port_file) {
    std::filesystem::remove(port_file);
    int rc = 0;
    pid_ = SpawnLedgerd(args, log_path, &rc);
    if (rc != 0) {
      ADD_FAILURE() << "posix_spawn " << LEDGERD_BINARY << ": " << rc;
      pid_ = -1;
      return;
    }
    const auto deadline = Clock::now() + 60s;
    while (Clock::now() < deadline) {
      std::ifstream in(port_file);
      unsigned port = 0;
      if (in >> port && port > 0) {
        port_ = static_cast<uint16_t>(port);
        return;
      }
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        ADD_FAILURE() << "ledgerd exited early, status " << status;
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(10ms);
    }
    ADD_FAILURE() << "ledgerd did not write its port";
  }
  ~Ledgerd() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  uint16_t port() const { return port_; }
  void Signal(int sig) {
    if (pid_ > 0) kill(pid_, sig);
  }
  // Still running (not exited, not killed by a signal).
  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) != pid_) return true;
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    pid_ = -1;
    return false;
  }
  // The exit status once it has ended on its own (running() false), -1 before.
  int exit_status() const { return exit_status_; }
  // Sends `sig`; the exit status, or -1 if it did not exit within `timeout`.
  int StopWith(int sig, Ms timeout = 30s) {
    if (pid_ <= 0) return -1;
    kill(pid_, sig);
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(10ms);
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  int exit_status_ = -1;
};

#endif  // LEDGERD_BINARY

}  // namespace ledger::ledgerd_testing
