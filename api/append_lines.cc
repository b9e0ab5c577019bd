#include "api/append_lines.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace ledger {
namespace {

constexpr size_t kBatchEvents = 512;
constexpr size_t kQueueBatches = 16;  // bounds memory: at most this many batches in flight

struct Decoded {
  uint64_t line;
  Result<PreparedEvent> event;
};

// Decoded and prepared (canonicalised and digested) here, on the decoding thread: what is left
// to the appending thread is what depends on the log.
Result<PreparedEvent> Prepare(const std::string& line, int64_t index, CivilDay recording_day) {
  auto decoded = DecodeEventJson(line, index, recording_day);
  if (!decoded) return decoded.error();
  return PreparedEvent(*decoded);
}

// A bounded single-producer, single-consumer queue of batches.
class BatchQueue {
 public:
  void Push(std::vector<Decoded> batch) {
    std::unique_lock<std::mutex> lock(mu_);
    not_full_.wait(lock, [&] { return q_.size() < kQueueBatches || cancelled_; });
    if (cancelled_) return;
    q_.push_back(std::move(batch));
    not_empty_.notify_one();
  }
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    not_empty_.notify_one();
  }
  void Cancel() {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    not_full_.notify_all();
  }
  bool cancelled() {
    std::lock_guard<std::mutex> lock(mu_);
    return cancelled_;
  }
  // nullopt when closed and drained.
  std::optional<std::vector<Decoded>> Pop() {
    std::unique_lock<std::mutex> lock(mu_);
    not_empty_.wait(lock, [&] { return !q_.empty() || closed_; });
    if (q_.empty()) return std::nullopt;
    std::vector<Decoded> b = std::move(q_.front());
    q_.pop_front();
    not_full_.notify_one();
    return b;
  }

 private:
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<std::vector<Decoded>> q_;
  bool closed_ = false, cancelled_ = false;
};

}  // namespace

Result<AppendResult> AppendLines(EventLog& log, std::istream& in, CivilDay recording_day,
                                 AppendLinesError* failure,
                                 const std::function<void(uint64_t)>& progress) {
  BatchQueue queue;
  bool read_failed = false;
  std::thread decoder([&] {
    std::string line;
    std::vector<Decoded> batch;
    int64_t index = 0;
    for (uint64_t line_no = 1; std::getline(in, line); ++line_no) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;  // blank line
      batch.push_back({line_no, Prepare(line, index++, recording_day)});
      const bool bad = !batch.back().event.ok();
      if (batch.size() == kBatchEvents || bad) {
        queue.Push(std::move(batch));
        batch.clear();
      }
      if (bad || queue.cancelled()) break;  // the first refusal ends the batch
    }
    read_failed = in.bad();
    if (!batch.empty()) queue.Push(std::move(batch));
    queue.Close();
  });

  auto append = log.BeginAppend();
  append->CountOnly();  // a bulk append's memory stays one chunk's worth
  std::optional<AppendLinesError> first;
  uint64_t events = 0;
  while (auto batch = queue.Pop()) {
    if (first) continue;  // drain so that the decoder can finish
    for (const Decoded& d : *batch) {
      if (!d.event.ok()) {
        first = AppendLinesError{d.line, d.event.error()};
        break;
      }
      if (Status s = append->Add(*d.event); !s) {
        first = AppendLinesError{d.line, s.error()};
        break;
      }
      ++events;
    }
    if (first) queue.Cancel();
    if (progress) progress(events);
  }
  decoder.join();
  if (!first && read_failed) {
    first = AppendLinesError{0, Error{ErrorCode::kStorage, "reading the input failed"}};
  }
  if (first) {
    *failure = std::move(*first);
    return failure->error;
  }
  auto result = append->Commit();
  if (!result) *failure = AppendLinesError{0, result.error()};
  return result;
}

}  // namespace ledger
