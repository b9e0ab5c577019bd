// The inside of ledgerd's Server (server.h), shared by its parts. Internal to api/server/:
//  - server.cc: the wiring, dispatch of a request (route, token, access), the answers' head,
//    log line and metrics, the audit thread and appends;
//  - read_handlers.cc: answers from the persisted projections and the log on an I/O thread;
//  - audit_handlers.cc: work that folds or walks history, on the audit thread;
//  - session.cc: connections (Beast sessions, limits, idle connections under pressure).
#pragma once

#include <atomic>
#include <boost/asio.hpp>
#include <condition_variable>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/query_source.h"
#include "api/server/access.h"
#include "api/server/answer_cache.h"
#include "api/server/http.h"
#include "api/server/server.h"

namespace ledger {

class Session;

// The open connections, so that under pressure the one idle the longest can be closed to make
// room for a new client (as nginx does with keep-alive connections). Thread-safe.
class ConnectionTable {
 public:
  using Handle = std::list<std::weak_ptr<Session>>::iterator;
  Handle Add(std::weak_ptr<Session> s);
  void Remove(Handle h);
  size_t size() const;
  // Closes the connection waiting longest for a request; false when every one is busy.
  bool CloseLongestIdle();

 private:
  mutable std::mutex mu_;
  std::list<std::weak_ptr<Session>> sessions_;
};

struct Server::Impl {
  ServerOptions options;
  EventLog& log;
  ProjectionStore& store;
  std::shared_mutex& projection_mu;
  // Replaced whole on a reload (SIGHUP): a request authenticates against one version.
  std::shared_ptr<const TokenStore> tokens;
  mutable std::mutex tokens_mu;
  std::shared_ptr<const TokenStore> Tokens() const {
    std::lock_guard<std::mutex> lock(tokens_mu);
    return tokens;
  }
  Committer& committer;
  Metrics& metrics;
  const Follower* follower = nullptr;  // a read replica's
  AnswerCache answers;
  // Before the io_context: sessions its destruction drops remove themselves from the table.
  ConnectionTable connections;
  boost::asio::io_context ioc;
  std::optional<boost::asio::ip::tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
  std::atomic<int> in_flight{0};
  std::atomic<bool> stopping{false};

  // Audit work (replays, regularisations, explain, verify, publish, close, reads ?as_of) folds
  // or walks the whole history: it runs on its own thread, one job at a time, so that it never
  // holds an I/O thread. Over audit_queue_max waiting jobs, 503 busy.
  struct AuditJob {
    Exchange x;
    std::function<Answer(Exchange&)> work;
    std::function<void(Answer)> reply;
  };
  std::mutex audit_mu;
  std::condition_variable audit_cv;
  std::deque<AuditJob> audit_queue;
  bool audit_quit = false;
  std::thread audit_thread;

  Impl(ServerOptions o, EventLog& l, ProjectionStore& s, std::shared_mutex& mu, TokenStore t,
       Committer& c, Metrics& m);
  ~Impl();

  // --- server.cc
  // Answers `req`; calls `reply` exactly once, maybe later and on another thread. An exception
  // from the handling is answered 500 (this is where they stop).
  void Handle(Request req, std::function<void(Answer)> reply);
  void Dispatch(Request req, std::function<void(Answer)> reply);
  // The answer's head: status, Content-Type, Ledger-Seq, keep-alive; logs and counts it.
  Answer Finish(Exchange& x, int status, std::string body,
                std::string_view content_type = "application/json", std::optional<Seq> seq = {});
  Answer Error(Exchange& x, const ledger::Error& e);
  Answer Fail(Exchange& x, ErrorCode code, std::string message, std::string field = "");
  void SubmitAudit(Exchange x, std::function<Answer(Exchange&)> work,
                   std::function<void(Answer)> reply);
  void AuditLoop();
  void Append(Exchange x, Request req, std::function<void(Answer)> reply);

  // --- read_handlers.cc: on an I/O thread (and on the audit thread for ?as_of).
  Answer Read(Exchange& x, const Request& req);
  Answer Health(Exchange& x);
  Answer Events(Exchange& x);
  Answer Me(Exchange& x);
  Answer Ui(Exchange& x);
  // A read from the projections: at the head from the store (answers cached per seq), or as of
  // an earlier seq from a fold in memory.
  Answer ProjectionRead(Exchange& x, std::optional<Seq> as_of);
  Answer Render(Exchange& x, std::shared_ptr<const QuerySource> src);

  // --- audit_handlers.cc: on the audit thread.
  Answer Audit(Exchange& x, const Request& req);
  Answer Verify(Exchange& x);
  Answer Replay(Exchange& x, const Request& req);
  Answer RegularisationsOf(Exchange& x);
  Answer AllRegularisations(Exchange& x);
  // As of a seq (folded), or at the head from the persisted projections.
  Result<boost::json::object> Regularisations(std::optional<Seq> as_of,
                                              std::optional<int32_t> month,
                                              std::optional<std::string_view> provider,
                                              const std::set<std::string>* only = nullptr);
  Answer Explain(Exchange& x);
  Answer Publish(Exchange& x, const Request& req);
  Answer Close(Exchange& x);
  Answer Backup(Exchange& x);
  // The JSON body of a ruleset route into `document`, or the answer refusing it (415, 400).
  std::optional<Answer> RulesetBody(Exchange& x, const Request& req, boost::json::value* document);

  // --- session.cc
  void Accept();
};

// What Authorize needs to know, read from the persisted projections and the log.
class StoreAccessFacts : public AccessFacts {
 public:
  StoreAccessFacts(const EventLog& log, const ProjectionStore& store) : log_(log), store_(store) {}
  Result<std::vector<std::string>> ProviderNetworks(std::string_view provider) const override;
  Result<bool> ProviderHasLines(std::string_view provider, std::string_view network,
                                int32_t month) const override;
  Result<std::optional<std::string>> EventNetwork(std::string_view event_id) const override;

 private:
  const EventLog& log_;
  const ProjectionStore& store_;
};

// Content types.
inline constexpr std::string_view kJson = "application/json";
inline constexpr std::string_view kCsv = "text/csv; charset=utf-8";

}  // namespace ledger
