// LEDGER_ASSERT(condition): an invariant that must hold in production as in tests — the
// conservation of every line's amounts, a gapless sequence, the continuity of the hash chain,
// recorded_at never going back, a fold resumed only after where it stopped. Checked in every
// build (NDEBUG or not). A broken invariant is a bug, not a fault to report: the process prints
// what failed and where, and aborts, rather than bill or store figures that are wrong.
//
// Faults (a full disk, bad input, a missing file) are never asserted: they are Error values.
#pragma once

namespace ledger {

[[noreturn]] void InvariantFailed(const char* condition, const char* file, int line);

}  // namespace ledger

#define LEDGER_ASSERT(condition) \
  ((condition) ? static_cast<void>(0) : ::ledger::InvariantFailed(#condition, __FILE__, __LINE__))
