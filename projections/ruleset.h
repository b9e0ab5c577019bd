// Rulesets are data: one JSON document per convention version (projections/rulesets/*.json,
// embedded in the binaries), or published later as a `ruleset.published` event. This file
// parses and validates them, and answers "which ruleset prices a care date".
//
// A ruleset document is strict: unknown or missing fields are errors naming the field.
// Every [default] of the rule book is a named parameter here, so an operator can change it
// by publishing a new version and replaying history.
#pragma once

#include <array>
#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "projections/money.h"
#include "schemas/civil_date.h"
#include "schemas/result.h"

namespace ledger {

// Which counter table a trajectory uses.
enum class Column { kChildren = 0, kAdults = 1 };
const char* ColumnName(Column c);

enum class FeeItem {
  kIndividualSession,
  kGroupSessionPsychologist,  // per psychologist or orthopedagogue facilitator
  kGroupSessionOther,         // per `other` facilitator
  kCommunityPsychologist,
  kCommunityOther,
  kSupportMissionHour,  // pro rata per minute, half-up
  kConcertationUnit,    // per paid participant per 15 minutes
};
inline constexpr int kFeeItemCount = 7;
const char* FeeItemName(FeeItem item);

struct FeeRow {
  FeeItem item;
  Cents cents;
  CivilDay from;
  std::optional<CivilDay> to;  // inclusive; nullopt: open
  bool is_default = false;     // a [default] figure of the rule book, not an official one
};

// Per-trajectory maxima; nullopt means no limit.
struct CounterTable {
  std::optional<int32_t> support_individual, support_group;
  std::optional<int32_t> treatment_individual, treatment_group;
};

struct Ruleset {
  std::string id;
  int32_t version = 0;
  std::string title;
  CivilDay valid_from = 0;
  std::optional<CivilDay> valid_to;  // inclusive

  bool community_billable = false, support_billable = false, treatment_billable = false;
  int32_t window_months = 12;  // the trajectory window, anchored on the first session
  int32_t children_max_age = 23, adults_min_age = 15, mixed_children_max_age = 23;
  std::array<CounterTable, 2> counters;  // by Column
  int32_t exception_extra_sessions = 0;
  bool exception_support = false, exception_treatment = false;
  int32_t exception_share_max_percent = 5;  // reported, not enforced
  int32_t daily_individual_max = 1;
  std::vector<FeeRow> fees;
  Cents copay_individual, copay_individual_bim, copay_group_participant;
  bool first_individual_free = true;
  std::optional<int32_t> young_free_max_age;
  std::optional<CivilDay> young_free_from;
  std::optional<CivilDay> cpms_school_free_from;
  int32_t group_min_participants = 4;
  int32_t community_min_participants = 10, community_min_minutes = 120;
  int32_t community_min_interaction_minutes = 90, community_min_facilitators = 2;
  int32_t concertation_units_max = 4, concertation_units_max_per_trajectory = 4;
  std::optional<int32_t> concertation_count_max_per_trajectory;
  int32_t concertation_min_participants = 3, concertation_min_care_providers = 2;

  boost::json::object document;  // as given: what `rules show` prints

  bool Covers(CivilDay day) const { return day >= valid_from && (!valid_to || day <= *valid_to); }
  // The fee row for an item on a care date, if the ruleset pays that item then.
  const FeeRow* Fee(FeeItem item, CivilDay day) const;
  // "convention-2024@1:individual_session"
  std::string RuleLabel(FeeItem item) const;
  std::string Label() const { return id + "@" + std::to_string(version); }
};

Result<Ruleset> ParseRuleset(const boost::json::value& document);
Result<Ruleset> ParseRulesetText(std::string_view json_text);

// The rulesets shipped in projections/rulesets/, compiled in.
const std::vector<Ruleset>& ShippedRulesets();

// The rulesets in force: the shipped ones plus those published, the highest version of each id.
// For a care date the ruleset is the in-force one covering it with the latest valid_from.
class RulesetCatalog {
 public:
  RulesetCatalog();  // the shipped rulesets
  static RulesetCatalog Empty();
  // A higher version of an id supersedes the older one; a lower or equal one is ignored.
  void Add(Ruleset ruleset);
  const Ruleset* InForce(CivilDay day) const;
  const Ruleset* Find(std::string_view id) const;
  std::vector<const Ruleset*> All() const;

 private:
  struct EmptyTag {};
  explicit RulesetCatalog(EmptyTag) {}
  std::map<std::string, Ruleset, std::less<>> by_id_;
};

}  // namespace ledger
