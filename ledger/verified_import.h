// The verified import: events recorded by another ledger (a primary this one follows, or an
// auditor's copy made with `ledgerctl events`) stored with their own seq, recorded_at and hash,
// after proving that they chain. Not the append path: nothing is assigned here, everything is
// checked.
//
// Checks, event by event: seq is the next one (the head + 1, then contiguous: a gap or a
// repeat is refused); recorded_at never decreases; the event is accepted by the log as an
// append would be (its id new, a void's target known); and the hash the log computes over the
// chain (the previous hash and this event's canonical bytes, seq and recorded_at included)
// equals the source's. A batch is all or nothing: an error stores nothing of it, and names the
// event (its index in the batch, id) and the field ("seq", "recorded_at", "hash", or the event's
// own field). Durable when Commit returns (EventLog::Append's guarantee).
//
// Thread-safety: a VerifiedImport holds the log's writer (as an EventLog::Append does) from its
// construction to its destruction; one at a time, on one thread.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "ledger/event_log.h"
#include "schemas/json_codec.h"
#include "schemas/result.h"

namespace ledger {

// One event as `ledgerctl events` and GET /v1/events print it: the event's own fields with
// "seq", "recorded_at" (RFC 3339) and "hash" (64 hex digits) around them.
struct RecordedEvent {
  Seq seq = 0;
  int64_t recorded_at_us = 0;
  Hash hash{};
  DecodedEvent event;
};

// Parses one printed event; `index` is its position in its batch (errors name it, its id and the
// field). The event is decoded as strictly as an append's, with recorded_at's day as the day of
// recording. Parse... (text) also refuses a key given twice.
Result<RecordedEvent> ParseRecordedEvent(const boost::json::value& value, int64_t index);
Result<RecordedEvent> ParseRecordedEventText(std::string_view text, int64_t index);

class VerifiedImport {
 public:
  explicit VerifiedImport(EventLog& log);
  // Checks `e` against the chain so far and adds it to the batch (see above). After an error
  // the batch can only be dropped.
  Status Add(const RecordedEvent& e);
  // Stores the whole batch; the log's head after it.
  Result<Head> Commit();
  // The seq the next event must have.
  Seq next_seq() const { return append_->next_seq(); }

 private:
  EventLog& log_;
  std::unique_ptr<EventLog::Append> append_;
  int64_t last_recorded_at_us_ = 0;
  int64_t index_ = 0;
  bool failed_ = false;
};

// The whole of `events` as one batch.
Result<Head> ImportVerified(EventLog& log, const std::vector<RecordedEvent>& events);

}  // namespace ledger
