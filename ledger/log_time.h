// Recording time and the log: which seq the ledger was at at a given time. recorded_at never
// decreases along seq (verify checks it), so this is a binary search over the events.
#pragma once

#include <cstdint>

#include "ledger/event_log.h"

namespace ledger {

// The seq of the last event recorded at or before `time_us` (UTC microseconds); 0 when none was.
Result<Seq> LastSeqRecordedBy(const EventLog& log, int64_t time_us);

}  // namespace ledger
