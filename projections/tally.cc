#include "projections/tally.h"

#include <numeric>

#include "ledger/bytes.h"

namespace ledger {

void LineTally::Add(const LineRecord& l, int64_t sign) {
  if (l.billable()) {
    fee += Cents{sign * l.fee.value};
    copay += Cents{sign * l.copay.value};
    insurer += Cents{sign * l.insurer.value};
    insurer_by_function[static_cast<size_t>(l.spend)] += Cents{sign * l.insurer.value};
    billable_lines += sign;
  } else {
    unbillable_by_reason[static_cast<size_t>(l.reason)] += sign;
    unbillable_lines += sign;
  }
}

LineTally& LineTally::operator+=(const LineTally& o) {
  fee += o.fee;
  copay += o.copay;
  insurer += o.insurer;
  billable_lines += o.billable_lines;
  unbillable_lines += o.unbillable_lines;
  for (size_t i = 0; i < unbillable_by_reason.size(); ++i) {
    unbillable_by_reason[i] += o.unbillable_by_reason[i];
  }
  for (size_t i = 0; i < insurer_by_function.size(); ++i) {
    insurer_by_function[i] += o.insurer_by_function[i];
  }
  return *this;
}

bool LineTally::consistent() const {
  Cents by_function;
  for (Cents c : insurer_by_function) by_function += c;
  const int64_t by_reason =
      std::accumulate(unbillable_by_reason.begin(), unbillable_by_reason.end(), int64_t{0});
  return fee == copay + insurer && by_function == insurer && by_reason == unbillable_lines &&
         unbillable_by_reason[0] == 0 && billable_lines >= 0 && unbillable_lines >= 0;
}

std::string EncodeTally(const LineTally& t) {
  std::string s;
  s.push_back('\1');  // format
  for (Cents c : {t.fee, t.copay, t.insurer}) PutBE64(&s, static_cast<uint64_t>(c.value));
  PutBE64(&s, static_cast<uint64_t>(t.billable_lines));
  PutBE64(&s, static_cast<uint64_t>(t.unbillable_lines));
  for (int64_t n : t.unbillable_by_reason) PutBE64(&s, static_cast<uint64_t>(n));
  for (Cents c : t.insurer_by_function) PutBE64(&s, static_cast<uint64_t>(c.value));
  return s;
}

bool DecodeTally(std::string_view bytes, LineTally* t) {
  ByteReader in(bytes);
  if (in.U8() != 1) return false;
  t->fee = Cents{in.I64()};
  t->copay = Cents{in.I64()};
  t->insurer = Cents{in.I64()};
  t->billable_lines = in.I64();
  t->unbillable_lines = in.I64();
  for (int64_t& n : t->unbillable_by_reason) n = in.I64();
  for (Cents& c : t->insurer_by_function) c = Cents{in.I64()};
  return in.ok() && in.done() && t->consistent();  // checked where read
}

}  // namespace ledger
