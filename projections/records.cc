#include "projections/records.h"

#include <algorithm>
#include <array>

#include "ledger/bytes.h"

namespace ledger {

LineRecord ToRecord(const History& h, const Line& l) { return ToRecord(h, l, h.EventId(l.seq)); }

LineRecord ToRecord(const History& h, const Line& l, const std::string& event_id) {
  return ToRecord(h.networks, l, event_id);
}

LineRecord ToRecord(const Interner& networks, const Line& l, std::string_view event_id) {
  LineRecord r;
  r.event_id = event_id;
  r.seq = l.seq;
  r.day = l.day;
  r.part = l.part;
  r.network_id = networks.Name(l.network);
  r.item = l.item;
  r.spend = l.spend;
  r.reason = l.reason;
  r.fee = l.fee;
  r.copay = l.copay;
  r.insurer = l.insurer;
  if (l.ruleset) {
    // Every line names its rule: the labels of the last ruleset met are kept (per thread).
    thread_local const Ruleset* cached = nullptr;
    thread_local std::string id;
    thread_local int32_t version = 0;
    thread_local std::array<std::string, kFeeItemCount> labels;
    if (cached != l.ruleset || id != l.ruleset->id || version != l.ruleset->version) {
      cached = l.ruleset;
      id = l.ruleset->id;
      version = l.ruleset->version;
      for (std::string& label : labels) label.clear();
    }
    std::string& label = labels[static_cast<size_t>(l.item)];
    if (label.empty()) label = l.ruleset->RuleLabel(l.item);
    r.rule = label;
  }
  return r;
}

TrajectoryRecord ToRecord(const History& h, const Trajectory& t) { return ToRecord(h.networks, t); }

TrajectoryRecord ToRecord(const Interner& networks, const Trajectory& t) {
  TrajectoryRecord r;
  r.function = t.function;
  r.network_id = networks.Name(t.network);
  r.start = t.start;
  r.end = t.end;
  r.column = t.column;
  r.individual_days = t.individual_days;
  r.group_days = t.group_days;
  r.exception_days = t.exception_days;
  r.concertation_units = t.concertation_units;
  r.concertations = t.concertations;
  return r;
}

FoldStateRecord ToRecord(const History& h, const FoldCarry& c,
                         const std::vector<std::pair<NetworkIdx, CivilDay>>& first_assessments) {
  return ToRecord(h.networks, c, first_assessments);
}

FoldStateRecord ToRecord(const Interner& networks, const FoldCarry& c,
                         const std::vector<std::pair<NetworkIdx, CivilDay>>& first_assessments) {
  FoldStateRecord r;
  r.position = c.position;
  r.daily_day = c.daily_day;
  r.daily_count = c.daily_count;
  for (const auto& [f, n, d] : c.pending_exceptions) {
    r.pending_exceptions.emplace_back(f, networks.Name(n), d);
  }
  for (const auto& [n, d] : first_assessments)
    r.first_assessments.emplace_back(networks.Name(n), d);
  std::sort(r.first_assessments.begin(), r.first_assessments.end());
  return r;
}

FoldCarry CarryOf(History& h, const FoldStateRecord& r) {
  FoldCarry c;
  c.position = r.position;
  c.daily_day = r.daily_day;
  c.daily_count = r.daily_count;
  for (const auto& [f, n, d] : r.pending_exceptions) {
    c.pending_exceptions.emplace_back(f, h.networks.Intern(n), d);
  }
  return c;
}

std::string EncodeFoldState(const FoldStateRecord& r) {
  std::string s(1, '\1');  // format
  PutOrdered32(&s, r.position.day);
  s.push_back(static_cast<char>(r.position.rank));
  PutBE64(&s, r.position.seq);
  PutOrdered32(&s, r.daily_day);
  PutBE32(&s, static_cast<uint32_t>(r.daily_count));
  PutBE32(&s, static_cast<uint32_t>(r.pending_exceptions.size()));
  for (const auto& [f, n, d] : r.pending_exceptions) {
    s.push_back(static_cast<char>(f));
    PutStr(&s, n);
    PutOrdered32(&s, d);
  }
  PutBE32(&s, static_cast<uint32_t>(r.first_assessments.size()));
  for (const auto& [n, d] : r.first_assessments) {
    PutStr(&s, n);
    PutOrdered32(&s, d);
  }
  return s;
}

bool DecodeFoldState(std::string_view bytes, FoldStateRecord* r) {
  ByteReader in(bytes);
  if (in.U8() != 1) return false;
  auto ordered = [&] { return static_cast<int32_t>(in.U32() ^ 0x80000000u); };
  r->position.day = ordered();
  r->position.rank = in.U8();
  r->position.seq = in.U64();
  r->daily_day = ordered();
  r->daily_count = in.I32();
  const uint32_t pending = in.U32();
  if (!in.ok() || pending > bytes.size()) return false;
  r->pending_exceptions.clear();
  for (uint32_t i = 0; i < pending && in.ok(); ++i) {
    const auto f = static_cast<CareFunction>(in.U8());
    std::string n = in.Str();
    r->pending_exceptions.emplace_back(f, std::move(n), ordered());
  }
  const uint32_t firsts = in.U32();
  if (!in.ok() || firsts > bytes.size()) return false;
  r->first_assessments.clear();
  for (uint32_t i = 0; i < firsts && in.ok(); ++i) {
    std::string n = in.Str();
    r->first_assessments.emplace_back(std::move(n), ordered());
  }
  return in.ok() && in.done() && r->position.rank <= 1;
}

Trajectory FromRecord(History& h, BeneficiaryIdx who, const TrajectoryRecord& r) {
  Trajectory t;
  t.who = who;
  t.function = r.function;
  t.network = h.networks.Intern(r.network_id);
  t.start = r.start;
  t.end = r.end;
  t.column = r.column;
  t.individual_days = r.individual_days;
  t.group_days = r.group_days;
  t.exception_days = r.exception_days;
  t.concertation_units = r.concertation_units;
  t.concertations = r.concertations;
  return t;
}

std::string EncodeLine(const LineRecord& r) {
  std::string s;
  PutStr(&s, r.event_id);
  PutBE64(&s, r.seq);
  PutBE32(&s, static_cast<uint32_t>(r.day));
  PutBE32(&s, r.part);
  PutStr(&s, r.network_id);
  s.push_back(static_cast<char>(r.item));
  s.push_back(static_cast<char>(r.reason));
  s.push_back(static_cast<char>(r.spend));
  PutBE64(&s, static_cast<uint64_t>(r.fee.value));
  PutBE64(&s, static_cast<uint64_t>(r.copay.value));
  PutBE64(&s, static_cast<uint64_t>(r.insurer.value));
  PutStr(&s, r.rule);
  return s;
}

bool DecodeLine(std::string_view bytes, LineRecord* r) {
  ByteReader in(bytes);
  r->event_id = in.Str();
  r->seq = in.U64();
  r->day = in.I32();
  r->part = static_cast<uint16_t>(in.U32());
  r->network_id = in.Str();
  const uint8_t item = in.U8(), reason = in.U8(), spend = in.U8();
  r->item = static_cast<FeeItem>(item);
  r->reason = static_cast<Reason>(reason);
  r->spend = static_cast<SpendFunction>(spend);
  r->fee = Cents{in.I64()};
  r->copay = Cents{in.I64()};
  r->insurer = Cents{in.I64()};
  r->rule = in.Str();
  return in.ok() && in.done() && item < kFeeItemCount && reason < kReasonCount &&
         spend < kSpendFunctionCount &&
         r->fee == r->copay + r->insurer;  // conservation, checked where read
}

namespace {
void PutDays(std::string* s, const std::vector<CivilDay>& days) {
  PutBE32(s, static_cast<uint32_t>(days.size()));
  for (CivilDay d : days) PutBE32(s, static_cast<uint32_t>(d));
}
std::vector<CivilDay> GetDays(ByteReader& in) {
  std::vector<CivilDay> days(std::min<uint32_t>(in.U32(), 100000));
  for (CivilDay& d : days) d = in.I32();
  return days;
}
}  // namespace

std::string EncodeTrajectory(const TrajectoryRecord& r) {
  std::string s;
  s.push_back(static_cast<char>(r.function));
  PutStr(&s, r.network_id);
  PutBE32(&s, static_cast<uint32_t>(r.start));
  PutBE32(&s, static_cast<uint32_t>(r.end));
  s.push_back(static_cast<char>(r.column));
  PutDays(&s, r.individual_days);
  PutDays(&s, r.group_days);
  PutDays(&s, r.exception_days);
  PutBE32(&s, static_cast<uint32_t>(r.concertation_units));
  PutBE32(&s, static_cast<uint32_t>(r.concertations));
  return s;
}

bool DecodeTrajectory(std::string_view bytes, TrajectoryRecord* r) {
  ByteReader in(bytes);
  r->function = static_cast<CareFunction>(in.U8());
  r->network_id = in.Str();
  r->start = in.I32();
  r->end = in.I32();
  r->column = static_cast<Column>(in.U8());
  r->individual_days = GetDays(in);
  r->group_days = GetDays(in);
  r->exception_days = GetDays(in);
  r->concertation_units = in.I32();
  r->concertations = in.I32();
  return in.ok() && in.done();
}

std::vector<LineRecord> MemoryLines(const History& h, const Projection& p,
                                    std::string_view provider, int32_t month) {
  std::vector<LineRecord> out;
  auto idx = h.providers.Find(provider);
  if (!idx) return out;
  auto lo = std::lower_bound(p.lines.begin(), p.lines.end(), std::pair(*idx, month),
                             [](const Line& l, const std::pair<ProviderIdx, int32_t>& k) {
                               return std::pair(l.provider, MonthOf(l.day)) < k;
                             });
  for (auto it = lo; it != p.lines.end() && it->provider == *idx && MonthOf(it->day) == month;
       ++it) {
    out.push_back(ToRecord(h, *it));
  }
  return out;
}

std::vector<TrajectoryRecord> MemoryTrajectories(const History& h, const Projection& p,
                                                 std::string_view niss) {
  std::vector<TrajectoryRecord> out;
  auto who = h.beneficiaries.Find(niss);
  if (!who) return out;
  for (const Trajectory& t : p.trajectories) {
    if (t.who == *who) out.push_back(ToRecord(h, t));
  }
  std::sort(out.begin(), out.end(), [](const TrajectoryRecord& a, const TrajectoryRecord& b) {
    return std::tie(a.function, a.network_id, a.start) <
           std::tie(b.function, b.network_id, b.start);
  });
  return out;
}

std::map<CivilDay, Cents> MemoryDailyConsumed(const History& h, const Projection& p,
                                              std::string_view network, int32_t year) {
  std::map<CivilDay, Cents> out;
  auto n = h.networks.Find(network);
  if (!n) return out;
  const CivilDay jan1 = ToDay({year, 1, 1}), dec31 = ToDay({year, 12, 31});
  for (const Line& l : p.lines) {
    if (l.network == *n && l.billable() && l.day >= jan1 && l.day <= dec31) out[l.day] += l.insurer;
  }
  return out;
}

Cents MemoryAllocated(const History& h, const Projection& p, std::string_view network,
                      int32_t year) {
  auto n = h.networks.Find(network);
  if (!n) return Cents{};
  auto it = p.allocated.find({*n, year});
  return it == p.allocated.end() ? Cents{} : it->second;
}

}  // namespace ledger
