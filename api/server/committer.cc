#include "api/server/committer.h"

#include <chrono>
#include <cstdio>

#include "api/server/http.h"

namespace ledger {

constexpr size_t kGroupEventsMax = 50000;  // a group larger than this waits for the next

Committer::Committer(EventLog& log, ProjectionStore& store, std::shared_mutex& projection_mu,
                     Metrics& metrics)
    : log_(log), store_(store), projection_mu_(projection_mu), metrics_(metrics) {
  store_.set_stop(&stop_projections_);
  writer_ = std::thread([this] { WriterLoop(); });
  projector_ = std::thread([this] { ProjectorLoop(); });
}

Committer::~Committer() {
  Stop();
  store_.set_stop(nullptr);
}

void Committer::Submit(std::vector<PreparedEvent> events, std::function<void(AppendOutcome)> done) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) {
    done({503, ErrorBody({ErrorCode::kBusy, "the server is stopping; retry later"})});
    return;
  }
  queue_.push_back({std::move(events), std::move(done)});
  wake_writer_.notify_one();
}

void Committer::ProjectionsDue() {
  std::lock_guard<std::mutex> lock(mu_);
  projections_due_ = true;
  wake_projector_.notify_one();
}

void Committer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !writer_.joinable()) return;
    stopping_ = true;
    // A catch-up under way ends after its slice: a stop does not wait for a long backlog (the
    // projections are derived; the next start goes on from the last slice written).
    stop_projections_ = true;
    wake_writer_.notify_all();
    wake_projector_.notify_all();
  }
  if (writer_.joinable()) writer_.join();
  if (projector_.joinable()) projector_.join();
}

void Committer::WriterLoop() {
  while (true) {
    std::vector<Request> group;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_writer_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything was answered
      size_t events = 0;
      while (!queue_.empty() &&
             (group.empty() || events + queue_.front().events.size() <= kGroupEventsMax)) {
        events += queue_.front().events.size();
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    CommitGroup(group);
    {
      std::lock_guard<std::mutex> lock(mu_);
      projections_due_ = true;
      wake_projector_.notify_one();
    }
  }
}

void Committer::CommitGroup(std::vector<Request>& group) {
  auto append = log_.BeginAppend();
  std::vector<std::optional<AppendOutcome>> refused(group.size());
  std::vector<std::pair<size_t, size_t>> spans(group.size());  // results range per request
  uint64_t events = 0;
  for (size_t r = 0; r < group.size(); ++r) {
    append->SetSavepoint();
    const size_t first = events;
    for (const PreparedEvent& e : group[r].events) {
      if (Status s = append->Add(e); !s) {
        refused[r] = AppendOutcome{HttpStatusOf(s.error()), ErrorBody(s.error())};
        break;
      }
      ++events;
    }
    if (refused[r]) {
      append->RollbackToSavepoint();
      events = first;
    }
    spans[r] = {first, events};
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto result = append->Commit();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  append.reset();
  metrics_.AppendGroup(events, seconds);
  for (size_t r = 0; r < group.size(); ++r) {
    if (refused[r]) {
      group[r].done(std::move(*refused[r]));
      continue;
    }
    if (!result) {
      group[r].done({HttpStatusOf(result.error()), ErrorBody(result.error())});
      continue;
    }
    AppendOutcome ok;
    uint64_t appended = 0, duplicates = 0;
    boost::json::array results;
    for (size_t i = spans[r].first; i < spans[r].second; ++i) {
      const AppendedEvent& a = result->results[i];
      const bool dup = a.status == AppendStatus::kDuplicate;
      (dup ? duplicates : appended) += 1;
      boost::json::object one;
      one["id"] = a.id;
      one["seq"] = a.seq;
      one["status"] = dup ? "duplicate" : "appended";
      results.emplace_back(std::move(one));
    }
    ok.body["appended"] = appended;
    ok.body["duplicates"] = duplicates;
    ok.body["last_seq"] = result->last_seq;
    ok.body["results"] = std::move(results);
    group[r].done(std::move(ok));
  }
}

void Committer::ProjectorLoop() {
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_projector_.wait(lock, [&] { return stopping_ || projections_due_; });
      if (!projections_due_ && stopping_) return;
      projections_due_ = false;
    }
    if (Status s = store_.CatchUp(); !s) {
      // Logged, never fatal: reads keep answering at the seq the projections reflect.
      std::fprintf(stderr, "{\"event\":\"projection_catch_up_failed\",\"error\":\"%s\"}\n",
                   ErrorCodeName(s.error().code));
    }
    auto seq = store_.seq();
    metrics_.SetSeqs(log_.head().seq, seq ? *seq : 0);
  }
}

}  // namespace ledger
