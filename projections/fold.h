// The pricing rules of the book, as pure functions over a FoldContext (the static facts:
// rulesets, network populations, enrolments, assessments) and one beneficiary's history.
//
// Decomposition: the only state the order rules carry is per beneficiary (trajectories and
// counters, the daily limit). So a projection is
//   - for each beneficiary, a fold of its care events in (care date, seq) order
//     (FoldBeneficiary), giving its trajectories, the lines of its individual sessions and
//     concertations, and its share of each group session (counted or not, co-pay);
//   - for each group session, community intervention and support mission, lines priced from
//     the static facts (and, for groups, the participants' shares).
// Both the full rebuild (projector.h) and the incremental store (store.h) use these
// functions, so they cannot disagree.
#pragma once

#include <climits>
#include <map>
#include <optional>
#include <span>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "projections/model.h"
#include "projections/ruleset.h"

namespace ledger {

struct Trajectory {
  BeneficiaryIdx who = 0;
  CareFunction function = CareFunction::kSupport;
  NetworkIdx network = 0;
  CivilDay start = 0, end = 0;  // inclusive window
  Column column = Column::kAdults;
  std::vector<CivilDay> individual_days;  // billable individual sessions
  std::vector<CivilDay> group_days;       // counted group participations
  std::vector<CivilDay> exception_days;
  int32_t concertation_units = 0, concertations = 0;
  bool Active(CivilDay d) const { return d >= start && d <= end; }
};

// A beneficiary's part in a group session.
struct GroupShare {
  Seq seq = 0;
  uint16_t participant = 0;  // position in the event's participant list
  bool counted = false;      // counted against the participant's group counter
  Cents copay;
};

// The last day of a window of `months` starting on `start`: the day before the same month and
// day `months` later (a window starting on 29 February ends on 28 February).
CivilDay WindowEnd(CivilDay start, int32_t months);
// Age in whole years on `day`.
int32_t AgeOn(CivilDay birth, CivilDay day);
int32_t MonthOf(CivilDay day);  // yyyymm

class FoldContext {
 public:
  explicit FoldContext(const RulesetCatalog* rules) : rules_(rules) {}

  // Static facts; only non-voided events may be fed in.
  void SetPopulation(NetworkIdx n, Population p);
  // Enrolment events of one provider in one network, in any order.
  void SetEnrolments(ProviderIdx p, NetworkIdx n, std::vector<EnrolmentEvent> events);
  void AddAssessment(BeneficiaryIdx b, NetworkIdx n, CivilDay day);
  void ClearAssessments(BeneficiaryIdx b);
  void ClearAllAssessments() { first_assessment_.clear(); }

  const RulesetCatalog& rules() const { return *rules_; }
  bool Enrolled(ProviderIdx p, NetworkIdx n, CivilDay d) const;
  bool Assessed(BeneficiaryIdx b, NetworkIdx n, CivilDay d) const;
  // The beneficiary's first assessment in each network it has one in.
  std::vector<std::pair<NetworkIdx, CivilDay>> FirstAssessments(BeneficiaryIdx b) const;
  Population PopulationOf(NetworkIdx n) const;
  // kNone when the person may be billed in the network on that day under `r`.
  Reason AgeReason(NetworkIdx n, const Person& p, CivilDay d, const Ruleset& r) const;

 private:
  // A provider's enrolment in a network from one day to another, inclusive.
  struct EnrolmentSpan {
    NetworkIdx network;
    CivilDay from, to;
  };
  struct FirstAssessment {
    NetworkIdx network;
    CivilDay day;
  };

  const RulesetCatalog* rules_;
  std::vector<Population> population_;
  // By provider, then by beneficiary: each a short list, read once or more for every line.
  std::vector<std::vector<EnrolmentSpan>> enrolled_;
  std::vector<std::vector<FirstAssessment>> first_assessment_;
};

// Where a beneficiary's fold stands after the events it has folded: the fold order key of the
// last one (care date; a concertation after the sessions of its day; then seq).
struct FoldPosition {
  CivilDay day = INT32_MIN;
  int32_t rank = 0;  // 1 for a concertation, else 0
  Seq seq = 0;
  auto operator<=>(const FoldPosition&) const = default;
};
FoldPosition PositionOf(const CareEvent& c);

// What a fold carries from one event to the next besides its trajectories: the daily limit's
// count and exceptions granted on the last day before their trajectory started. With the
// trajectories, enough to fold later events without folding the earlier ones again: a fold
// resumed from the state a full fold ended in gives the later events the lines a full fold
// would give them.
struct FoldCarry {
  FoldPosition position;
  CivilDay daily_day = INT32_MIN;  // the day of the last billable individual session
  int32_t daily_count = 0;         // and how many that day
  std::vector<std::tuple<CareFunction, NetworkIdx, CivilDay>> pending_exceptions;  // that day
  bool operator==(const FoldCarry&) const = default;
};

struct BeneficiaryFold {
  std::vector<Trajectory> trajectories;  // by function, network, start
  std::vector<Line> lines;               // individual sessions and concertations
  std::vector<GroupShare> shares;
  FoldCarry carry;  // where the fold ended
};

// Folds one beneficiary's non-voided care events (individual sessions, group sessions it takes
// part in, concertations, exceptions). `events` need not be sorted.
BeneficiaryFold FoldBeneficiary(const FoldContext& ctx, BeneficiaryIdx who,
                                std::vector<const CareEvent*> events);

// Folds `events`, all after `carry.position` in fold order, from where an earlier fold ended:
// `trajectories` and `carry` are that fold's. Lines and shares are those of `events` only; the
// trajectories returned are all of them.
BeneficiaryFold ResumeBeneficiary(const FoldContext& ctx, BeneficiaryIdx who,
                                  std::vector<Trajectory> trajectories, const FoldCarry& carry,
                                  std::vector<const CareEvent*> events);

// FoldBeneficiary under one context for one beneficiary after another, reusing its buffers:
// once they have grown, a fold allocates nothing. It remembers, by seq, whether the group
// sessions it met are paid (every participant's fold asks), so neither `ctx` (which must outlive
// it) nor the history the events come from may change while it is used. Not thread-safe: one
// per thread.
class BeneficiaryFolder {
 public:
  explicit BeneficiaryFolder(const FoldContext& ctx) : ctx_(ctx) {}
  // As FoldBeneficiary; sorts `events` in place (into the fold's order). The fold returned is
  // valid until the next call. With `from` (trajectories and carry of an earlier fold, moved
  // from), as ResumeBeneficiary.
  const BeneficiaryFold& Fold(BeneficiaryIdx who, std::span<const CareEvent*> events,
                              BeneficiaryFold* from = nullptr);
  // The last fold, taken out.
  BeneficiaryFold Take() { return std::move(fold_); }

 private:
  BeneficiaryFold fold_;
  std::vector<Trajectory> spare_;  // trajectories of earlier folds, kept for their buffers
  std::vector<std::tuple<CareFunction, NetworkIdx, CivilDay>> pending_exceptions_;
  const FoldContext& ctx_;
  std::unordered_map<Seq, bool> group_paid_;  // GroupPaid under ctx_, by seq
};

// The lines of a group session, given the shares of its participants (any order; shares of
// other sessions are ignored). A community intervention, a support mission.
std::vector<Line> GroupLines(const FoldContext& ctx, const CareEvent& group,
                             std::span<const GroupShare> shares);
std::vector<Line> CommunityLines(const FoldContext& ctx, const CareEvent& c);
std::vector<Line> MissionLines(const FoldContext& ctx, const CareEvent& c);

// The canonical order of lines: provider, month, care date, seq, part.
bool LineOrder(const Line& a, const Line& b);

}  // namespace ledger
