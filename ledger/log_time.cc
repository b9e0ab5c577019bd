#include "ledger/log_time.h"

namespace ledger {

Result<Seq> LastSeqRecordedBy(const EventLog& log, int64_t time_us) {
  Seq lo = 0, hi = log.head().seq;
  while (lo < hi) {
    const Seq mid = lo + (hi - lo + 1) / 2;
    int64_t at = 0;
    Status s = log.ReadRange(mid, mid, [&](const StoredEventView& v) {
      at = v.stored().getRecordedAtUs();
      return false;
    });
    if (!s) return s.error();
    if (at <= time_us) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

}  // namespace ledger
