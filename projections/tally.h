// Sums over invoice lines: amounts of the billable ones, line counts, unbillable lines by
// reason and the insurer share by spend function. A network's month is the tally of its lines,
// per provider (`GET /v1/networks/{id}/invoices/{month}`); its budget's monthly series is the
// tally of its billable lines per month. The projection store keeps one tally per month,
// network and provider, adjusted line by line as lines change (store.h); answers as of an
// earlier seq tally the lines folded in memory. Both add the same lines with the same Add().
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "projections/records.h"

namespace ledger {

struct LineTally {
  Cents fee, copay, insurer;  // over billable lines
  int64_t billable_lines = 0, unbillable_lines = 0;
  std::array<int64_t, kReasonCount> unbillable_by_reason{};  // index: Reason (kNone unused)
  std::array<Cents, kSpendFunctionCount> insurer_by_function{};

  // Adds (sign +1) or takes back (sign -1) one line.
  void Add(const LineRecord& line, int64_t sign = 1);
  LineTally& operator+=(const LineTally& other);
  // No line counted (a tally that went back to nothing is deleted from the store).
  bool empty() const { return billable_lines == 0 && unbillable_lines == 0; }
  bool operator==(const LineTally&) const = default;
  // Invariants: the amounts conserve (fee = copay + insurer), the insurer share is the sum of
  // its functions, and the reasons add up to the unbillable lines.
  bool consistent() const;
};

std::string EncodeTally(const LineTally& t);
bool DecodeTally(std::string_view bytes, LineTally* out);

}  // namespace ledger
