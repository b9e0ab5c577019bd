// ledgerd: the ledger over HTTP (shared/domain/interfaces.md, api/openapi.yaml).
//   ledgerd --db DIR --listen HOST:PORT --tokens FILE [--threads N] [--config FILE] ...
// SIGTERM / SIGINT: stop accepting, finish in-flight requests, flush, exit 0.
// SIGHUP: reload the token file (a bad file keeps the tokens in use, logged); never stops.
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <thread>

#include "api/cli.h"
#include "api/flags.h"
#include "api/server/committer.h"
#include "api/server/server.h"
#include "api/server/tokens.h"

namespace ledger {
namespace {

const std::set<std::string> kValued = {"db",
                                       "listen",
                                       "tokens",
                                       "threads",
                                       "config",
                                       "body-limit-bytes",
                                       "header-limit-bytes",
                                       "read-timeout-ms",
                                       "idle-timeout-ms",
                                       "max-connections",
                                       "max-audit-queue",
                                       "answer-cache",
                                       "port-file",
                                       "backup-dir",
                                       "follow",
                                       "follow-token"};

constexpr const char* kUsage =
    "usage: ledgerd --db DIR --listen HOST:PORT --tokens FILE [options]\n"
    "  --threads N               I/O threads (default: cores)\n"
    "  --config FILE             key = value lines with the flags' names (flags win)\n"
    "  --body-limit-bytes N      largest request body (default 8388608; larger: 413)\n"
    "  --header-limit-bytes N    largest request header (default 16384)\n"
    "  --read-timeout-ms N       a request must arrive whole within N ms (default 10000)\n"
    "  --idle-timeout-ms N       a kept-alive connection may idle N ms (default 60000)\n"
    "  --max-connections N       open connections at most (default 1024)\n"
    "  --max-audit-queue N       replays, regularisations, explains and ?as_of reads waiting\n"
    "                            (default 4; one runs at a time; more waiting: 503 busy)\n"
    "  --answer-cache N          rendered invoice, quota and balance answers kept while the\n"
    "                            projections stay at one seq (default 4096; 0: none)\n"
    "  --port-file FILE          write the bound port there (with --listen HOST:0)\n"
    "  --backup-dir DIR          POST /v1/admin/backups (operator) backs up into DIR\n"
    "  --follow URL              a read replica of the primary ledgerd at http://HOST:PORT:\n"
    "                            pulls and checks its events, serves reads, refuses writes\n"
    "  --follow-token TOKEN      the primary's auditor or operator token (config file: keep\n"
    "                            it there, 0600, rather than on the command line)\n"
    "  --quiet                   no per-request log lines\n"
    "  --version                 prints the version and build, and exits\n";

// Flags, with the config file's values under them.
Result<std::map<std::string, std::string>> Settings(const Flags& f) {
  std::map<std::string, std::string> out;
  if (auto path = f.Get("config")) {
    std::ifstream in(*path);
    if (!in) return Error{ErrorCode::kInvalidArgument, "cannot read " + *path};
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      const size_t hash = line.find('#');
      if (hash != std::string::npos) line.resize(hash);
      const size_t eq = line.find('=');
      auto trim = [](std::string s) {
        s.erase(0, s.find_first_not_of(" \t"));
        s.erase(s.find_last_not_of(" \t\r") + 1);
        return s;
      };
      if (trim(line).empty()) continue;
      const std::string key = eq == std::string::npos ? "" : trim(line.substr(0, eq));
      if (!kValued.count(key) || key == "config") {
        return Error{ErrorCode::kInvalidArgument,
                     *path + " line " + std::to_string(n) + ": unknown setting"};
      }
      out[key] = trim(line.substr(eq + 1));
    }
  }
  for (const std::string& k : kValued) {
    if (auto v = f.Get(k)) out[k] = *v;
  }
  return out;
}

Result<ServerOptions> Options(const std::map<std::string, std::string>& s) {
  ServerOptions o;
  o.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  auto num = [&](const char* key, int64_t min, int64_t max, auto* out) -> Status {
    auto it = s.find(key);
    if (it == s.end()) return Ok();
    char* end = nullptr;
    const long long v = std::strtoll(it->second.c_str(), &end, 10);
    if (it->second.empty() || *end != '\0' || v < min || v > max) {
      return Error{
          ErrorCode::kInvalidArgument,
          std::string("--") + key + " must be " + std::to_string(min) + ".." + std::to_string(max)};
    }
    *out = static_cast<std::remove_pointer_t<decltype(out)>>(v);
    return Ok();
  };
  for (Status st : {num("threads", 1, 256, &o.threads),
                    num("body-limit-bytes", 1024, int64_t{1} << 30, &o.body_bytes_max),
                    num("header-limit-bytes", 1024, 1 << 20, &o.header_bytes_max),
                    num("read-timeout-ms", 10, 3600000, &o.read_timeout_ms),
                    num("idle-timeout-ms", 10, 3600000, &o.idle_timeout_ms),
                    num("max-connections", 1, 1000000, &o.connections_max),
                    num("max-audit-queue", 1, 1000, &o.audit_queue_max),
                    num("answer-cache", 0, 10000000, &o.answer_cache_entries)}) {
    if (!st) return st.error();
  }
  auto listen = s.find("listen");
  const std::string hp = listen == s.end() ? "127.0.0.1:8080" : listen->second;
  const size_t colon = hp.rfind(':');
  char* end = nullptr;
  const long port = colon == std::string::npos ? -1 : std::strtol(hp.c_str() + colon + 1, &end, 10);
  if (colon == std::string::npos || *end != '\0' || port < 0 || port > 65535) {
    return Error{ErrorCode::kInvalidArgument, "--listen must be HOST:PORT"};
  }
  if (auto dir = s.find("backup-dir"); dir != s.end()) o.backup_dir = dir->second;
  o.host = hp.substr(0, colon);
  o.port = static_cast<uint16_t>(port);
  return o;
}

// A ledger that cannot be opened for writing because the disk refuses writes (full, remounted
// read-only) is opened read-only in place, writing nothing: reads are served, every append is
// answered 503 writes_stopped with the reason, /healthz says writes_stopped. Not when another
// process holds it (RocksDB's LOCK), nor for a corrupted ledger: those stop ledgerd.
Result<std::unique_ptr<EventLog>> OpenForReadsOnly(const std::string& db, LogOptions options,
                                                   const Error& why) {
  if (why.code != ErrorCode::kStorage || why.message.find("/LOCK") != std::string::npos) {
    return why;
  }
  options.read_only = true;
  options.in_place = true;
  auto log = EventLog::Open(db, options);
  if (!log) return why;
  (*log)->StopWrites("the ledger could not be opened for writing (" + why.message +
                     "); ledgerd serves reads only. Free space or fix the disk, then restart "
                     "ledgerd (ops/RUNBOOK.md)");
  boost::json::object line;
  line["event"] = "read_only";
  line["reason"] = why.message;
  std::fprintf(stderr, "%s\n", boost::json::serialize(line).c_str());
  return log;
}

// SIGHUP: the token file read again. A file that cannot be read or parsed (a half-edited line,
// a wrong mode) keeps the tokens in use: logged, never fatal.
void ReloadTokens(const std::string& path, Server& server) {
  auto tokens = TokenStore::Load(path);
  boost::json::object line;
  if (!tokens) {
    line["event"] = "tokens_reload_failed";
    line["error"] = tokens.error().ToString();  // names the file and line, never a token
    line["kept"] = "the tokens loaded before";
  } else {
    line["event"] = "tokens_reloaded";
    line["tokens"] = tokens->size();
    server.ReplaceTokens(std::move(*tokens));
  }
  std::fprintf(stderr, "%s\n", boost::json::serialize(line).c_str());
}

int Fatal(const Error& e) {
  std::fprintf(stderr, "ledgerd: %s\n", e.ToString().c_str());
  return e.code == ErrorCode::kInvalidArgument ? 2 : 1;
}

int Main(int argc, char** argv) {
  // The ledger's files (RocksDB creates them under the umask) and the port file: 0600 files and
  // 0700 directories, whatever the caller's umask (systemd's UMask= is tighter than most shells').
  ::umask(077);
  auto flags = Flags::Parse({argv + 1, argv + argc}, kValued, {"quiet", "help", "version"});
  if (!flags) return Fatal(flags.error());
  if (flags->Has("help")) {
    std::printf("%s", kUsage);
    return 0;
  }
  if (flags->Has("version")) {
    std::printf("%s\n", VersionText("ledgerd").c_str());
    return 0;
  }
  auto settings = Settings(*flags);
  if (!settings) return Fatal(settings.error());
  auto options = Options(*settings);
  if (!options) return Fatal(options.error());
  options->log_requests = !flags->Has("quiet");
  if (!settings->count("tokens"))
    return Fatal({ErrorCode::kInvalidArgument, "--tokens is required"});
  auto tokens = TokenStore::Load(settings->at("tokens"));
  if (!tokens) return Fatal(tokens.error());
  const bool following = settings->count("follow") > 0;
  FollowerOptions follow;
  if (following) {
    follow.url = settings->at("follow");
    follow.token = settings->count("follow-token") ? settings->at("follow-token") : "";
    if (Status s = Follower::Check(follow); !s) return Fatal(s.error());
  }

  // Signals are taken by one thread with sigwait; every other thread blocks them.
  sigset_t taken_signals;
  sigemptyset(&taken_signals);
  sigaddset(&taken_signals, SIGTERM);
  sigaddset(&taken_signals, SIGINT);
  sigaddset(&taken_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &taken_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  const std::string db = settings->count("db") ? settings->at("db") : "./data";
  LogOptions log_options;
  log_options.create_if_missing = false;  // a mistyped --db must not start on an empty ledger
  auto log = EventLog::Open(db, log_options);
  if (!log && log.error().code == ErrorCode::kNotFound) return Fatal(NoLedgerError(db));
  if (!log) log = OpenForReadsOnly(db, log_options, log.error());
  if (!log) return Fatal(log.error());
  std::shared_mutex projection_mu;
  ProjectionStore store(**log);
  store.set_write_lock(&projection_mu);
  Metrics metrics;
  Committer committer(**log, store, projection_mu, metrics);
  Server server(*options, **log, store, projection_mu, std::move(*tokens), committer, metrics);
  std::unique_ptr<Follower> follower;
  if (following) {
    auto made = Follower::Create(std::move(follow), **log, committer);
    if (!made) return Fatal(made.error());
    follower = std::move(*made);
    server.SetFollower(follower.get());
  }
  auto port = server.Start();
  if (!port) return Fatal(port.error());
  if (settings->count("port-file")) {
    std::ofstream(settings->at("port-file")) << *port << "\n";
  }
  std::fprintf(stderr, "{\"event\":\"listening\",\"host\":\"%s\",\"port\":%u,\"last_seq\":%llu}\n",
               options->host.c_str(), *port, static_cast<unsigned long long>((*log)->head().seq));

  if (follower) follower->Start();
  std::thread signals([&] {
    int sig = 0;
    while (sigwait(&taken_signals, &sig) == 0 && sig == SIGHUP) {
      ReloadTokens(settings->at("tokens"), server);
    }
    std::fprintf(stderr, "{\"event\":\"stopping\",\"signal\":%d}\n", sig);
    server.Stop(10000);
  });
  server.Run();
  if (follower) follower->Stop();
  committer.Stop();  // answers what is queued, brings the projections up to date
  signals.join();
  std::fprintf(stderr, "{\"event\":\"stopped\",\"last_seq\":%llu}\n",
               static_cast<unsigned long long>((*log)->head().seq));
  return 0;
}

}  // namespace
}  // namespace ledger

int main(int argc, char** argv) { return ledger::Main(argc, argv); }
