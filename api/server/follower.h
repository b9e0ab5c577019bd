// A read replica's follower (`ledgerd --follow URL --follow-token TOKEN`): one thread that pulls
// pages of GET /v1/events from the primary at URL, checks them against this ledger's chain and
// stores them with the primary's seq, recorded_at and hash through the verified import
// (ledger/verified_import.h), then has the committer bring the projections up as after an
// append.
//
// Each page is asked from this ledger's head seq (not head + 1): its first event must be this
// ledger's head, same hash, so that a primary whose chain disagrees is found even when it has
// nothing new. A disagreement (another hash, a primary behind this ledger, an event the import
// refuses) stops the follower for good, logged (`follow_stopped`) and shown in /healthz; nothing
// is ever rewritten and reads go on. A primary that cannot be reached (down, 5xx, a refused
// token) is retried every `retry_ms`, logged once per change of error.
//
// Thread-safety: state() from any thread.
#pragma once

#include <atomic>
#include <boost/json.hpp>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "api/server/committer.h"
#include "ledger/event_log.h"
#include "schemas/result.h"

namespace ledger {

struct FollowerOptions {
  std::string url;    // http://HOST:PORT of the primary (no TLS: loopback or a tunnel)
  std::string token;  // an auditor's or operator's token of the primary
  int page_events = 1000;
  int poll_ms = 100;       // how long to wait when the primary had nothing new
  int retry_ms = 1000;     // after a failed request
  int timeout_ms = 10000;  // a request (within ledgerd's 10 s stop)
};

class Follower {
 public:
  // Refuses a URL it cannot follow, or no token (kInvalidArgument): a bad setting, checked
  // before anything is opened.
  static Status Check(const FollowerOptions& options);
  // As Check; starts nothing.
  static Result<std::unique_ptr<Follower>> Create(FollowerOptions options, EventLog& log,
                                                  Committer& committer);
  ~Follower();
  void Start();
  // Returns once the thread has ended (a request under way is cut at its timeout at worst).
  void Stop();

  struct State {
    std::string url;
    uint64_t lag_events = 0;  // the primary's head seq (as last answered) minus this one's
    std::string stopped;      // why following stopped for good; "" while following
  };
  State state() const;

 private:
  Follower(FollowerOptions options, std::string host, std::string port, EventLog& log,
           Committer& committer);
  void Loop();
  // One page asked and, when it brings events, stored.
  struct Outcome {
    enum Kind { kStored, kIdle, kRetry, kStop } kind = kIdle;
    std::string why;  // kRetry, kStop
  };
  Outcome Step();
  Outcome CheckAndImport(const boost::json::value& page, Seq primary_seq);
  void Wait(int ms);

  FollowerOptions options_;
  std::string host_, port_;
  EventLog& log_;
  Committer& committer_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool quit_ = false;
  std::atomic<uint64_t> primary_seq_{0};
  std::string stopped_;
  struct Connection;
  std::unique_ptr<Connection> connection_;
};

}  // namespace ledger
