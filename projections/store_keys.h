// The projection store's keys (projections/README.md, "Persisted projections"), shared by its
// writer (store.cc) and its reader (store_view.cc). Internal to projections/.
#pragma once

#include <string>
#include <string_view>

#include "ledger/bytes.h"
#include "ledger/event_log.h"
#include "projections/fold.h"
#include "projections/records.h"

namespace ledger::store_keys {

inline constexpr std::string_view kSeqKey = "S";
// The layout of the keys and values below. A store written in another format reads as empty
// (seq 0), so the next catch-up rebuilds it. 2: directory (N, E, e), tallies (A), issued
// invoices (I), lines with their spend function; 3: fold states (s).
inline constexpr std::string_view kFormatKey = "F";
inline constexpr uint32_t kStoreFormat = 3;

inline std::string Prefixed(char tag, std::string_view name) {
  std::string k(1, tag);
  k.append(name);
  k.push_back('\0');
  return k;
}
inline std::string LinePrefix(std::string_view provider, int32_t month) {
  std::string k = Prefixed('L', provider);
  PutBE32(&k, static_cast<uint32_t>(month));
  return k;
}
inline std::string LineKey(std::string_view provider, CivilDay day, Seq seq, uint32_t part) {
  std::string k = LinePrefix(provider, MonthOf(day));
  PutOrdered32(&k, day);
  PutBE64(&k, seq);
  PutBE32(&k, part);
  return k;
}
inline std::string TrajKey(std::string_view niss, const TrajectoryRecord& t) {
  std::string k = Prefixed('T', niss);
  k.push_back(static_cast<char>(t.function));
  k.append(t.network_id);
  k.push_back('\0');
  PutOrdered32(&k, t.start);
  return k;
}
inline std::string BenKey(std::string_view niss, Seq seq) {
  std::string k = Prefixed('b', niss);
  PutBE64(&k, seq);
  return k;
}
inline std::string ShareKey(Seq seq, uint32_t part) {
  std::string k(1, 'g');
  PutBE64(&k, seq);
  PutBE32(&k, part);
  return k;
}
inline std::string DailyKey(std::string_view network, CivilDay day) {
  std::string k = Prefixed('D', network);
  PutOrdered32(&k, day);
  return k;
}
inline std::string BudgetKey(std::string_view network, int32_t year) {
  std::string k = Prefixed('B', network);
  PutOrdered32(&k, year);
  return k;
}
inline std::string SeqKey(char tag, Seq seq) {
  std::string k(1, tag);
  PutBE64(&k, seq);
  return k;
}
// s niss: where the beneficiary's fold ended (FoldStateRecord), to resume it.
inline std::string StateKey(std::string_view niss) { return Prefixed('s', niss); }
// N network: the network's directory record.
inline std::string NetworkKey(std::string_view network) { return Prefixed('N', network); }
// E network \0 provider \0: the provider's enrolment periods in the network; e provider \0
// network \0: the same pair the other way round (empty value).
inline std::string EnrolKey(std::string_view network, std::string_view provider) {
  return Prefixed('E', network) + std::string(provider) + '\0';
}
inline std::string ProviderNetworkKey(std::string_view provider, std::string_view network) {
  return Prefixed('e', provider) + std::string(network) + '\0';
}
// A month(4) network \0 provider: the tally of that provider's lines of the network that month.
inline std::string TallyPrefix(int32_t month) {
  std::string k(1, 'A');
  PutBE32(&k, static_cast<uint32_t>(month));
  return k;
}
inline std::string TallyKey(int32_t month, std::string_view network, std::string_view provider) {
  std::string k = TallyPrefix(month);
  k.append(network);
  k.push_back('\0');
  k.append(provider);
  return k;
}

// Values.
inline std::string ShareValue(const GroupShare& s) {
  std::string v(1, s.counted ? '\1' : '\0');
  PutBE64(&v, static_cast<uint64_t>(s.copay.value));
  return v;
}
inline std::string DailyValue(int64_t count, int64_t sum) {
  std::string v;
  PutBE64(&v, static_cast<uint64_t>(count));
  PutBE64(&v, static_cast<uint64_t>(sum));
  return v;
}

}  // namespace ledger::store_keys
