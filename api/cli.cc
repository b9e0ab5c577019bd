#include "api/cli.h"

#include <chrono>
#include <cstdio>

#include "schemas/civil_date.h"

namespace ledger {

int Report(const Error& e, const std::string& where) {
  std::fprintf(stderr, "ledgerctl: %s%s\n", where.c_str(), e.ToString().c_str());
  switch (e.code) {
    case ErrorCode::kInvalidArgument:
      return kExitUsage;
    case ErrorCode::kStorage:
    case ErrorCode::kWritesStopped:
      return kExitStorage;
    default:
      return kExitRefused;
  }
}

void PrintJson(const boost::json::value& v) {
  std::string s = boost::json::serialize(v);
  s.push_back('\n');
  std::fwrite(s.data(), 1, s.size(), stdout);
}

Result<std::unique_ptr<EventLog>> OpenLog(const Flags& f, bool check_tail) {
  LogOptions options;
  options.check_tail = check_tail;
  return EventLog::Open(f.GetOr("db", "./data"), options);
}

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<Seq> AsOfSeq(const Flags& f, const EventLog& log) {
  const Seq head = log.head().seq;
  auto seq = f.GetInt("as-of", 0, INT64_MAX);
  if (!seq) return seq.error();
  if (seq->has_value()) return std::min<Seq>(static_cast<Seq>(**seq), head);
  auto time = f.Get("as-of-time");
  if (!time) return head;
  auto us = ParseTimestampUs(*time);
  if (!us) {
    return Error{ErrorCode::kInvalidArgument,
                 "--as-of-time must be RFC 3339 UTC, e.g. 2024-05-01T12:00:00Z"};
  }
  // recorded_at never decreases along seq: binary search for the last event at or before it.
  Seq lo = 0, hi = head;
  while (lo < hi) {
    const Seq mid = lo + (hi - lo + 1) / 2;
    int64_t at = 0;
    Status s = log.ReadRange(mid, mid, [&](const StoredEventView& v) {
      at = v.stored().getRecordedAtUs();
      return false;
    });
    if (!s) return s.error();
    if (at <= *us) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

}  // namespace ledger
