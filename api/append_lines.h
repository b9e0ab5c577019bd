// Appending a JSON Lines stream as one atomic batch, decoding on a second thread while the
// log checks and writes (the two halves cost about the same, so both cores are used).
#pragma once

#include <functional>
#include <istream>
#include <string>

#include "ledger/event_log.h"

namespace ledger {

struct AppendLinesError {
  uint64_t line = 0;  // 1-based line of the refused event (0: not about a line)
  Error error;
};

// Reads `in` to the end (blank lines are skipped), decodes every line strictly and appends all
// as one batch: on any error nothing is stored and the first error in line order is returned.
// `progress(events)` is called from the calling thread now and then. The result has the counts
// and the last seq, no entry per event (EventLog::Append::CountOnly).
Result<AppendResult> AppendLines(EventLog& log, std::istream& in, CivilDay recording_day,
                                 AppendLinesError* failure,
                                 const std::function<void(uint64_t)>& progress = {});

}  // namespace ledger
