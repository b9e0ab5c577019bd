// Projection outputs as self-contained records (names, not interned indices): what the store
// persists and what views render. Both the in-memory fold and the store produce them, so an
// answer has one rendering whatever computed it.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "projections/fold.h"
#include "projections/history.h"
#include "projections/projector.h"

namespace ledger {

struct LineRecord {
  std::string event_id;
  Seq seq = 0;
  CivilDay day = 0;
  uint16_t part = 0;
  std::string network_id;
  FeeItem item = FeeItem::kIndividualSession;
  SpendFunction spend = SpendFunction::kSupport;  // not rendered in invoices (their digest)
  Reason reason = Reason::kNone;
  Cents fee, copay, insurer;
  std::string rule;  // "convention-2024@1:individual_session"; empty: no ruleset
  bool billable() const { return reason == Reason::kNone; }
};

struct TrajectoryRecord {
  CareFunction function = CareFunction::kSupport;
  std::string network_id;
  CivilDay start = 0, end = 0;
  Column column = Column::kAdults;
  std::vector<CivilDay> individual_days, group_days, exception_days;
  int32_t concertation_units = 0, concertations = 0;
};

// Where a beneficiary's fold ended and its first assessment in each network: what the projection
// store needs to fold the beneficiary's later events without reading its earlier ones.
struct FoldStateRecord {
  FoldPosition position;  // position.seq 0: no care event folded yet
  CivilDay daily_day = INT32_MIN;
  int32_t daily_count = 0;
  std::vector<std::tuple<CareFunction, std::string, CivilDay>> pending_exceptions;  // network id
  std::vector<std::pair<std::string, CivilDay>> first_assessments;  // network id, day; by id
};

LineRecord ToRecord(const History& h, const Line& line);
// The same with the event id given (names still come from `h`).
LineRecord ToRecord(const History& h, const Line& line, const std::string& event_id);
TrajectoryRecord ToRecord(const History& h, const Trajectory& t);
// The same with the network names of `networks` (a history held otherwise: PackedHistory).
LineRecord ToRecord(const Interner& networks, const Line& line, std::string_view event_id);
TrajectoryRecord ToRecord(const Interner& networks, const Trajectory& t);
FoldStateRecord ToRecord(const Interner& networks, const FoldCarry& carry,
                         const std::vector<std::pair<NetworkIdx, CivilDay>>& first_assessments);
// The trajectory of a record, for `who`, its network interned in `h`.
Trajectory FromRecord(History& h, BeneficiaryIdx who, const TrajectoryRecord& r);

// `first_assessments` by network (any order; the record keeps them by network id).
FoldStateRecord ToRecord(const History& h, const FoldCarry& carry,
                         const std::vector<std::pair<NetworkIdx, CivilDay>>& first_assessments);
// The carry of a record, its networks interned in `h`.
FoldCarry CarryOf(History& h, const FoldStateRecord& r);
std::string EncodeFoldState(const FoldStateRecord& r);
bool DecodeFoldState(std::string_view bytes, FoldStateRecord* out);

std::string EncodeLine(const LineRecord& r);
bool DecodeLine(std::string_view bytes, LineRecord* out);
std::string EncodeTrajectory(const TrajectoryRecord& r);
bool DecodeTrajectory(std::string_view bytes, TrajectoryRecord* out);

// From an in-memory projection.
std::vector<LineRecord> MemoryLines(const History& h, const Projection& p,
                                    std::string_view provider, int32_t month);
std::vector<TrajectoryRecord> MemoryTrajectories(const History& h, const Projection& p,
                                                 std::string_view niss);
// Insurer share of billable lines per care day of a network in a year.
std::map<CivilDay, Cents> MemoryDailyConsumed(const History& h, const Projection& p,
                                              std::string_view network, int32_t year);
Cents MemoryAllocated(const History& h, const Projection& p, std::string_view network,
                      int32_t year);

}  // namespace ledger
