// Group commit: appends from many connections are gathered by one writer thread into one
// synced batch. Each request's events are checked in order against the log and the requests
// before it in the group; a request with a bad event is rolled back alone (savepoints), the
// others are committed together, and every request is answered only once its events are
// durable. After a failed write the log refuses appends (503) and reads keep working.
//
// Projections are caught up by a second thread after each commit, so that appends never wait
// for them; reads say which seq they reflect (Ledger-Seq) and /metrics shows the lag.
#pragma once

#include <atomic>
#include <boost/json.hpp>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "api/server/metrics.h"
#include "ledger/event_log.h"
#include "projections/store.h"

namespace ledger {

struct AppendOutcome {
  int status = 200;  // 200, 400, 409, 503, 500
  boost::json::object body;
};

class Committer {
 public:
  // `projection_mu` is held exclusively while the projections are written, shared by readers.
  Committer(EventLog& log, ProjectionStore& store, std::shared_mutex& projection_mu,
            Metrics& metrics);
  ~Committer();

  // Queues a request's events (prepared on the caller's thread); `done` is called (on the writer
  // thread) once they are durable, or refused. Events of one request are all or nothing.
  void Submit(std::vector<PreparedEvent> events, std::function<void(AppendOutcome)> done);
  // Answers what is queued, stops both threads.
  void Stop();
  // Something else appended to the log (a ruleset publish, a month close): catch the
  // projections up as after a commit.
  void ProjectionsDue();

 private:
  struct Request {
    std::vector<PreparedEvent> events;
    std::function<void(AppendOutcome)> done;
  };
  void WriterLoop();
  void ProjectorLoop();
  void CommitGroup(std::vector<Request>& group);

  EventLog& log_;
  ProjectionStore& store_;
  std::shared_mutex& projection_mu_;
  Metrics& metrics_;
  std::mutex mu_;
  std::condition_variable wake_writer_, wake_projector_;
  std::deque<Request> queue_;
  bool stopping_ = false;
  bool projections_due_ = true;
  std::atomic<bool> stop_projections_{false};  // the store's stop flag (set_stop)
  std::thread writer_, projector_;
};

}  // namespace ledger
