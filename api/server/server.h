// ledgerd's HTTP/1.1 service (Boost.Beast on Asio): routes, roles and network scope, limits and
// timeouts, one structured log line per request. See api/openapi.yaml for the interface.
//
// Threads: `threads` I/O threads serve connections (each connection on its own strand);
// appends go to the group committer (committer.h). Reads take the projection lock shared, so
// an answer reflects one seq, sent in the Ledger-Seq header.
#pragma once

#include <atomic>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "api/server/committer.h"
#include "api/server/follower.h"
#include "api/server/metrics.h"
#include "api/server/tokens.h"
#include "ledger/event_log.h"
#include "projections/store.h"

namespace ledger {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0: an ephemeral port (tests)
  int threads = 2;
  size_t body_bytes_max = 8 << 20;
  size_t header_bytes_max = 16 << 10;
  int read_timeout_ms = 10000;  // a request must arrive whole within this
  int idle_timeout_ms = 60000;  // a kept-alive connection may wait this long for the next
  int connections_max = 1024;
  int events_page_max = 10000;         // GET /v1/events
  int audit_queue_max = 4;             // replays, regularisations, explains waiting their turn
  size_t answer_cache_entries = 4096;  // rendered reads kept per projection seq (0: none)
  bool log_requests = true;            // one JSON line per request on stderr
  std::string backup_dir;              // POST /v1/admin/backups writes there ("": 409)
};

struct RouteSpec {
  const char* method;
  const char* pattern;  // "/v1/providers/{id}/invoices/{month}"
};
// Every route the server answers, for the OpenAPI agreement test.
const std::vector<RouteSpec>& ServerRoutes();

class Server {
 public:
  Server(ServerOptions options, EventLog& log, ProjectionStore& store,
         std::shared_mutex& projection_mu, TokenStore tokens, Committer& committer,
         Metrics& metrics);
  ~Server();

  // Binds and listens; returns the port (useful when options.port is 0).
  Result<uint16_t> Start();
  // Runs the I/O threads until Stop(); returns when they are done.
  void Run();
  // A read replica (follower.h): appends, publishes and closes are refused (503 read_only),
  // /healthz and /metrics say what it follows and its lag. Before Start(); not owned.
  void SetFollower(const Follower* follower);
  // The tokens requests are authenticated with from now on (a reload of the token file);
  // requests under way finish with the tokens they started with. Thread-safe.
  void ReplaceTokens(TokenStore tokens);
  // Stops accepting, lets in-flight requests finish (up to `drain_ms`), then stops the threads.
  void Stop(int drain_ms = 10000);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ledger
