// The ruleset parser (ruleset.h), a user-facing input: operators publish rulesets as JSON.
//
// - the shipped documents (projections/rulesets/*.json) parse, are the compiled-in ones, and
//   hold the figures of the rule book (shared/domain/convention.md);
// - every field of a document is read into its own member (a table that must cover them all);
// - every refusal names its field: each field missing, unknown fields at every level, each
//   field of the wrong type, null where the contract has no null, ranges at both ends, dates,
//   fee rows, function lists, values the ledger does not implement, malformed text, a field
//   given twice;
// - round trips: the document kept (`rules show`) parses back to the same ruleset;
// - the catalog: which ruleset prices a care date, the highest version of an id.
#include "projections/ruleset.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "schemas/civil_date.h"

namespace ledger {
namespace {

namespace json = boost::json;

// ---------------------------------------------------------------------------------------------
// Documents and paths.

std::string ReadRulesetFile(const std::string& name) {
  std::ifstream in(std::string(LEDGER_RULESETS_DIR) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

json::value Doc2021() { return json::parse(ReadRulesetFile("convention-2021.json")); }
json::value Doc2024() { return json::parse(ReadRulesetFile("convention-2024.json")); }

CivilDay D(std::string_view text) {
  auto date = ParseDate(text);
  EXPECT_TRUE(date) << text;
  return date ? ToDay(*date) : 0;
}

std::string Join(const std::string& prefix, std::string_view key) {
  return prefix.empty() ? std::string(key) : prefix + "." + std::string(key);
}

// The member at a path in the parser's notation ("copay.young_free.max_age", "fees[2].cents"),
// or null.
json::value* Find(json::value& doc, const std::string& path) {
  json::value* v = &doc;
  std::stringstream parts(path);
  std::string part;
  while (v && std::getline(parts, part, '.')) {
    std::optional<size_t> index;
    if (auto open = part.find('['); open != std::string::npos) {
      index = std::stoul(part.substr(open + 1));
      part.resize(open);
    }
    json::object* o = v->if_object();
    v = o ? o->if_contains(part) : nullptr;
    if (v && index) {
      json::array* a = v->if_array();
      v = a && *index < a->size() ? &(*a)[*index] : nullptr;
    }
  }
  return v;
}

json::value With(json::value doc, const std::string& path, json::value value) {
  json::value* v = Find(doc, path);
  EXPECT_TRUE(v) << path;
  if (v) *v = std::move(value);
  return doc;
}

json::value Without(json::value doc, const std::string& path) {
  const size_t dot = path.rfind('.');
  json::value* parent = dot == std::string::npos ? &doc : Find(doc, path.substr(0, dot));
  EXPECT_TRUE(parent && parent->is_object()) << path;
  if (parent && parent->is_object()) {
    EXPECT_EQ(parent->as_object().erase(dot == std::string::npos ? path : path.substr(dot + 1)), 1u)
        << path;
  }
  return doc;
}

// Every member of a document, parents before children ("fees", "fees[0]", "fees[0].item"),
// the elements of arrays of objects included, those of arrays of strings not (they are read
// as one field).
void Members(const json::value& v, const std::string& path, std::vector<std::string>* out) {
  if (const json::object* o = v.if_object()) {
    for (const auto& kv : *o) {
      const std::string p = Join(path, kv.key());
      out->push_back(p);
      Members(kv.value(), p, out);
    }
  } else if (const json::array* a = v.if_array()) {
    for (size_t i = 0; i < a->size(); ++i) {
      if (!(*a)[i].is_object()) continue;
      const std::string p = path + "[" + std::to_string(i) + "]";
      out->push_back(p);
      Members((*a)[i], p, out);
    }
  }
}

std::vector<std::string> Members(const json::value& doc) {
  std::vector<std::string> out;
  Members(doc, "", &out);
  return out;
}

// Where the contract allows null (no value): an open end, no limit, no rule.
bool Nullable(const std::string& path) {
  static const std::set<std::string> kNullable = {"valid_to",
                                                  "counters.children.support_individual",
                                                  "counters.children.support_group",
                                                  "counters.children.treatment_individual",
                                                  "counters.children.treatment_group",
                                                  "counters.adults.support_individual",
                                                  "counters.adults.support_group",
                                                  "counters.adults.treatment_individual",
                                                  "counters.adults.treatment_group",
                                                  "copay.young_free",
                                                  "copay.cpms_school_free_from",
                                                  "concertation.count_max_per_trajectory"};
  const bool fee_to = path.starts_with("fees[") && path.ends_with("].to");
  return fee_to || kNullable.contains(path);
}

// ---------------------------------------------------------------------------------------------
// A ruleset as flat fields, every member of Ruleset but the document: what the table below
// changes one by one and what round trips compare.

json::value Opt(const std::optional<int32_t>& v) { return v ? json::value(*v) : nullptr; }
json::value OptDay(const std::optional<CivilDay>& d) {
  return d ? json::value(FormatDay(*d)) : nullptr;
}

std::map<std::string, json::value> Fields(const Ruleset& r) {
  std::map<std::string, json::value> f;
  f["id"] = r.id;
  f["version"] = r.version;
  f["title"] = r.title;
  f["valid_from"] = FormatDay(r.valid_from);
  f["valid_to"] = OptDay(r.valid_to);
  f["community_billable"] = r.community_billable;
  f["support_billable"] = r.support_billable;
  f["treatment_billable"] = r.treatment_billable;
  f["window_months"] = r.window_months;
  f["children_max_age"] = r.children_max_age;
  f["adults_min_age"] = r.adults_min_age;
  f["mixed_children_max_age"] = r.mixed_children_max_age;
  for (Column c : {Column::kChildren, Column::kAdults}) {
    const CounterTable& t = r.counters[static_cast<int>(c)];
    const std::string p = std::string("counters.") + ColumnName(c) + ".";
    f[p + "support_individual"] = Opt(t.support_individual);
    f[p + "support_group"] = Opt(t.support_group);
    f[p + "treatment_individual"] = Opt(t.treatment_individual);
    f[p + "treatment_group"] = Opt(t.treatment_group);
  }
  f["exception_extra_sessions"] = r.exception_extra_sessions;
  f["exception_support"] = r.exception_support;
  f["exception_treatment"] = r.exception_treatment;
  f["exception_share_max_percent"] = r.exception_share_max_percent;
  f["daily_individual_max"] = r.daily_individual_max;
  f["fees"] = static_cast<int64_t>(r.fees.size());
  for (size_t i = 0; i < r.fees.size(); ++i) {
    const FeeRow& row = r.fees[i];
    const std::string p = "fees[" + std::to_string(i) + "].";
    f[p + "item"] = FeeItemName(row.item);
    f[p + "cents"] = row.cents.value;
    f[p + "from"] = FormatDay(row.from);
    f[p + "to"] = OptDay(row.to);
    f[p + "default"] = row.is_default;
  }
  f["copay_individual"] = r.copay_individual.value;
  f["copay_individual_bim"] = r.copay_individual_bim.value;
  f["copay_group_participant"] = r.copay_group_participant.value;
  f["first_individual_free"] = r.first_individual_free;
  f["young_free_max_age"] = Opt(r.young_free_max_age);
  f["young_free_from"] = OptDay(r.young_free_from);
  f["cpms_school_free_from"] = OptDay(r.cpms_school_free_from);
  f["group_min_participants"] = r.group_min_participants;
  f["community_min_participants"] = r.community_min_participants;
  f["community_min_minutes"] = r.community_min_minutes;
  f["community_min_interaction_minutes"] = r.community_min_interaction_minutes;
  f["community_min_facilitators"] = r.community_min_facilitators;
  f["concertation_units_max"] = r.concertation_units_max;
  f["concertation_units_max_per_trajectory"] = r.concertation_units_max_per_trajectory;
  f["concertation_count_max_per_trajectory"] = Opt(r.concertation_count_max_per_trajectory);
  f["concertation_min_participants"] = r.concertation_min_participants;
  f["concertation_min_care_providers"] = r.concertation_min_care_providers;
  return f;
}

Ruleset Parsed(const json::value& doc) {
  auto r = ParseRuleset(doc);
  EXPECT_TRUE(r) << r.error().ToString();
  return r ? std::move(r).value() : Ruleset{};
}

// The refusal of `doc`: an invalid-argument error naming `field`, its message prefixed by
// "ruleset: " and the field shown by ToString (what ledgerctl prints) as well.
::testing::AssertionResult RefusedAt(const json::value& doc, const std::string& field) {
  auto r = ParseRuleset(doc);
  if (r) return ::testing::AssertionFailure() << "accepted";
  const Error& e = r.error();
  if (e.code != ErrorCode::kInvalidArgument) {
    return ::testing::AssertionFailure() << "code " << ErrorCodeName(e.code);
  }
  if (e.field != field) {
    return ::testing::AssertionFailure() << "field '" << e.field << "' (" << e.message << ")";
  }
  if (!e.message.starts_with("ruleset: ") || e.message.size() < 20) {
    return ::testing::AssertionFailure() << "message '" << e.message << "'";
  }
  if (!field.empty() && e.ToString().find("field " + field + ": ") == std::string::npos) {
    return ::testing::AssertionFailure() << "shown as '" << e.ToString() << "'";
  }
  return ::testing::AssertionSuccess() << e.message;
}

std::string MessageOf(const json::value& doc) {
  auto r = ParseRuleset(doc);
  return r ? std::string("(accepted)") : r.error().message;
}

// ---------------------------------------------------------------------------------------------
// The shipped documents and the rule book.

TEST(RulesetShipped, TheFilesAreTheCompiledInDocuments) {
  const std::vector<Ruleset>& shipped = ShippedRulesets();
  ASSERT_EQ(shipped.size(), 2u);
  EXPECT_EQ(shipped[0].Label(), "convention-2021@1");
  EXPECT_EQ(shipped[1].Label(), "convention-2024@1");
  EXPECT_EQ(json::value(shipped[0].document), Doc2021());
  EXPECT_EQ(json::value(shipped[1].document), Doc2024());
  EXPECT_EQ(Fields(shipped[0]), Fields(Parsed(Doc2021())));
  EXPECT_EQ(Fields(shipped[1]), Fields(Parsed(Doc2024())));
}

// convention.md sections 2 (periods), 3 (functions), 4 (counters), 5 (fees), 6 (co-pays),
// 9 (community, groups, concertation) for the 2021 convention.
TEST(RulesetShipped, Convention2021HoldsTheFiguresOfTheRuleBook) {
  const Ruleset r = Parsed(Doc2021());
  EXPECT_EQ(r.valid_from, D("2021-09-01"));
  ASSERT_TRUE(r.valid_to);
  EXPECT_EQ(*r.valid_to, D("2024-03-31"));  // the transition of early 2024 included
  EXPECT_FALSE(r.community_billable);       // [default] not billable before 2024-04-01
  EXPECT_TRUE(r.support_billable);
  EXPECT_TRUE(r.treatment_billable);
  EXPECT_EQ(r.window_months, 12);
  EXPECT_EQ(r.children_max_age, 23);
  EXPECT_EQ(r.adults_min_age, 15);
  EXPECT_EQ(r.mixed_children_max_age, 23);
  const CounterTable& children = r.counters[static_cast<int>(Column::kChildren)];
  const CounterTable& adults = r.counters[static_cast<int>(Column::kAdults)];
  EXPECT_EQ(children.support_individual, 10);
  EXPECT_EQ(children.support_group, 8);
  EXPECT_EQ(children.treatment_individual, 20);
  EXPECT_EQ(children.treatment_group, 15);
  EXPECT_EQ(adults.support_individual, 8);
  EXPECT_EQ(adults.support_group, 5);
  EXPECT_EQ(adults.treatment_individual, 20);
  EXPECT_EQ(adults.treatment_group, 12);
  EXPECT_EQ(r.exception_extra_sessions, 1);
  EXPECT_TRUE(r.exception_support);
  EXPECT_TRUE(r.exception_treatment);
  EXPECT_EQ(r.exception_share_max_percent, 5);
  EXPECT_EQ(r.daily_individual_max, 1);
  const CivilDay day = D("2022-06-15");
  auto fee = [&](FeeItem item) { return r.Fee(item, day) ? r.Fee(item, day)->cents.value : -1; };
  EXPECT_EQ(fee(FeeItem::kIndividualSession), 7500);
  EXPECT_EQ(fee(FeeItem::kGroupSessionPsychologist), 20000);
  EXPECT_EQ(fee(FeeItem::kGroupSessionOther), 12601);
  EXPECT_EQ(fee(FeeItem::kCommunityPsychologist), -1);  // not paid under 2021
  EXPECT_EQ(fee(FeeItem::kCommunityOther), -1);
  EXPECT_EQ(fee(FeeItem::kSupportMissionHour), 7500);
  EXPECT_EQ(fee(FeeItem::kConcertationUnit), 1875);
  EXPECT_EQ(r.copay_individual.value, 1100);
  EXPECT_EQ(r.copay_individual_bim.value, 400);
  EXPECT_EQ(r.copay_group_participant.value, 250);
  EXPECT_TRUE(r.first_individual_free);
  EXPECT_EQ(r.young_free_max_age, 23);
  EXPECT_EQ(r.young_free_from, D("2024-02-01"));  // applies in the transition too
  EXPECT_EQ(r.cpms_school_free_from, D("2023-09-01"));
  EXPECT_EQ(r.group_min_participants, 4);
  EXPECT_EQ(r.community_min_participants, 10);
  EXPECT_EQ(r.community_min_minutes, 120);
  EXPECT_EQ(r.community_min_interaction_minutes, 90);
  EXPECT_EQ(r.community_min_facilitators, 2);
  EXPECT_EQ(r.concertation_units_max, 4);
  EXPECT_EQ(r.concertation_units_max_per_trajectory, 4);
  EXPECT_EQ(r.concertation_count_max_per_trajectory, 1);  // one per specialised trajectory
  EXPECT_EQ(r.concertation_min_participants, 3);
  EXPECT_EQ(r.concertation_min_care_providers, 2);
}

TEST(RulesetShipped, Convention2024HoldsTheFiguresOfTheRuleBook) {
  const Ruleset r = Parsed(Doc2024());
  EXPECT_EQ(r.valid_from, D("2024-04-01"));
  EXPECT_FALSE(r.valid_to);
  EXPECT_TRUE(r.community_billable);
  EXPECT_TRUE(r.support_billable);
  EXPECT_TRUE(r.treatment_billable);
  EXPECT_EQ(r.window_months, 12);
  const CounterTable& children = r.counters[static_cast<int>(Column::kChildren)];
  const CounterTable& adults = r.counters[static_cast<int>(Column::kAdults)];
  EXPECT_EQ(children.support_individual, 10);
  EXPECT_EQ(children.treatment_individual, 20);
  EXPECT_EQ(adults.support_individual, 8);
  EXPECT_EQ(adults.treatment_individual, 20);
  // 2024: group sessions (support, treatment, community) have no limit.
  EXPECT_FALSE(children.support_group);
  EXPECT_FALSE(children.treatment_group);
  EXPECT_FALSE(adults.support_group);
  EXPECT_FALSE(adults.treatment_group);
  EXPECT_EQ(r.exception_extra_sessions, 0);  // the exception is a 2021 rule
  EXPECT_FALSE(r.exception_support);
  EXPECT_FALSE(r.exception_treatment);
  const CivilDay day = D("2025-06-15");
  auto fee = [&](FeeItem item) { return r.Fee(item, day) ? r.Fee(item, day)->cents.value : -1; };
  EXPECT_EQ(fee(FeeItem::kIndividualSession), 8669);
  EXPECT_EQ(fee(FeeItem::kGroupSessionPsychologist), 23118);
  EXPECT_EQ(fee(FeeItem::kGroupSessionOther), 14565);
  EXPECT_EQ(fee(FeeItem::kCommunityPsychologist), 23118);  // "as group session"
  EXPECT_EQ(fee(FeeItem::kCommunityOther), 14565);
  EXPECT_EQ(fee(FeeItem::kSupportMissionHour), 8669);
  EXPECT_EQ(fee(FeeItem::kConcertationUnit), 2167);
  for (const FeeRow& row : r.fees) EXPECT_FALSE(row.is_default) << FeeItemName(row.item);
  EXPECT_EQ(r.copay_individual.value, 1100);
  EXPECT_EQ(r.copay_individual_bim.value, 400);
  EXPECT_EQ(r.copay_group_participant.value, 250);
  EXPECT_TRUE(r.first_individual_free);
  EXPECT_EQ(r.young_free_max_age, 23);
  EXPECT_EQ(r.young_free_from, D("2024-02-01"));
  EXPECT_EQ(r.cpms_school_free_from, D("2023-09-01"));
  EXPECT_EQ(r.concertation_units_max, 4);
  EXPECT_EQ(r.concertation_units_max_per_trajectory, 4);  // per beneficiary per 12 months
  EXPECT_FALSE(r.concertation_count_max_per_trajectory);
  EXPECT_EQ(r.concertation_min_participants, 3);
  EXPECT_EQ(r.concertation_min_care_providers, 2);
  EXPECT_EQ(r.community_min_facilitators, 2);
}

// "The [default] 2021 figures are the 2024 figures scaled by 75.00/86.69" (the table's
// figures, checked above, within a cent of that), and only they are marked default.
TEST(RulesetShipped, The2021DefaultFeesAreThe2024OnesScaled) {
  const Ruleset r2021 = Parsed(Doc2021());
  const Ruleset r2024 = Parsed(Doc2024());
  int defaults = 0;
  for (const FeeRow& row : r2021.fees) {
    const FeeRow* later = r2024.Fee(row.item, D("2024-04-01"));
    ASSERT_TRUE(later) << FeeItemName(row.item);
    if (row.item == FeeItem::kIndividualSession) {
      EXPECT_FALSE(row.is_default);  // 75.00 is official
      continue;
    }
    EXPECT_TRUE(row.is_default) << FeeItemName(row.item);
    defaults += row.is_default;
    // Within a cent: the book's table says 200.00 where 231.18 x 75.00 / 86.69 is 200.0058.
    const int64_t scaled = ProRataHalfUp(later->cents, 7500, 8669).value;
    EXPECT_LE(std::abs(row.cents.value - scaled), 1) << FeeItemName(row.item);
  }
  EXPECT_EQ(defaults, 4);
}

TEST(RulesetShipped, FeeIsTheRowOfTheCareDate) {
  const Ruleset r = Parsed(Doc2024());
  EXPECT_FALSE(r.Fee(FeeItem::kIndividualSession, D("2024-03-31")));
  ASSERT_TRUE(r.Fee(FeeItem::kIndividualSession, D("2024-04-01")));
  EXPECT_EQ(r.RuleLabel(FeeItem::kConcertationUnit), "convention-2024@1:concertation_unit");
  EXPECT_TRUE(r.Covers(D("2024-04-01")));
  EXPECT_FALSE(r.Covers(D("2024-03-31")));
  const Ruleset r2021 = Parsed(Doc2021());
  EXPECT_TRUE(r2021.Covers(D("2024-03-31")));
  EXPECT_FALSE(r2021.Covers(D("2024-04-01")));
  EXPECT_FALSE(r2021.Covers(D("2021-08-31")));

  // An indexation: the old figure up to 2024-12-31 restated, the new one from 2025-01-01.
  json::value doc = With(Doc2024(), "fees[0].to", "2024-12-31");
  doc.as_object()["fees"].as_array().push_back(json::object{
      {"item", "individual_session"}, {"cents", 8900}, {"from", "2025-01-01"}, {"to", nullptr}});
  const Ruleset revised = Parsed(doc);
  EXPECT_EQ(revised.Fee(FeeItem::kIndividualSession, D("2024-12-31"))->cents.value, 8669);
  EXPECT_EQ(revised.Fee(FeeItem::kIndividualSession, D("2025-01-01"))->cents.value, 8900);
  EXPECT_EQ(revised.Fee(FeeItem::kIndividualSession, D("2099-12-31"))->cents.value, 8900);
}

// ---------------------------------------------------------------------------------------------
// Every field read into its own member.

struct FieldCase {
  bool on_2021;  // else the 2024 document
  std::string path;
  json::value value;
  std::map<std::string, json::value> expect;  // the fields that change, and to what
};

std::vector<FieldCase> FieldCases() {
  return {
      {false, "id", "convention-2025", {{"id", "convention-2025"}}},
      {false, "version", 7, {{"version", 7}}},
      {false, "title", "T", {{"title", "T"}}},
      {false, "valid_from", "2024-05-01", {{"valid_from", "2024-05-01"}}},
      {false, "valid_to", "2030-12-31", {{"valid_to", "2030-12-31"}}},
      {true, "valid_to", nullptr, {{"valid_to", nullptr}}},
      {false,
       "billable_functions",
       json::array{"treatment"},
       {{"community_billable", false}, {"support_billable", false}}},
      {false,
       "billable_functions",
       json::array{},
       {{"community_billable", false}, {"support_billable", false}, {"treatment_billable", false}}},
      {false, "trajectory.window_months", 6, {{"window_months", 6}}},
      {false, "ages.children_max_age", 17, {{"children_max_age", 17}}},
      {false, "ages.adults_min_age", 18, {{"adults_min_age", 18}}},
      {false, "ages.mixed_children_max_age", 20, {{"mixed_children_max_age", 20}}},
      {false,
       "counters.children.support_individual",
       11,
       {{"counters.children.support_individual", 11}}},
      {false, "counters.children.support_group", 3, {{"counters.children.support_group", 3}}},
      {false,
       "counters.children.treatment_individual",
       nullptr,
       {{"counters.children.treatment_individual", nullptr}}},
      {false, "counters.children.treatment_group", 4, {{"counters.children.treatment_group", 4}}},
      {false, "counters.adults.support_individual", 0, {{"counters.adults.support_individual", 0}}},
      {false, "counters.adults.support_group", 5, {{"counters.adults.support_group", 5}}},
      {false,
       "counters.adults.treatment_individual",
       1000,
       {{"counters.adults.treatment_individual", 1000}}},
      {false, "counters.adults.treatment_group", 6, {{"counters.adults.treatment_group", 6}}},
      {false, "exceptions.extra_individual_sessions", 2, {{"exception_extra_sessions", 2}}},
      {false, "exceptions.functions", json::array{"treatment"}, {{"exception_treatment", true}}},
      {true, "exceptions.functions", json::array{"support"}, {{"exception_treatment", false}}},
      {true, "exceptions.functions", json::array{"treatment"}, {{"exception_support", false}}},
      {false, "exceptions.network_share_max_percent", 7, {{"exception_share_max_percent", 7}}},
      {false, "daily_individual_sessions_max", 2, {{"daily_individual_max", 2}}},
      {false, "fees[0].cents", 9000, {{"fees[0].cents", 9000}}},
      {false, "fees[0].from", "2024-05-01", {{"fees[0].from", "2024-05-01"}}},
      {false, "fees[0].to", "2024-12-31", {{"fees[0].to", "2024-12-31"}}},
      {true,
       "fees[1].item",
       "community_intervention_psychologist",
       {{"fees[1].item", "community_intervention_psychologist"}}},
      {true, "fees[1].default", false, {{"fees[1].default", false}}},
      {false,
       "fees",
       json::array{json::object{
           {"item", "concertation_unit"}, {"cents", 1}, {"from", "2024-04-01"}, {"to", nullptr}}},
       {}},  // checked below: a fees array of one row
      {false, "copay.individual_cents", 1200, {{"copay_individual", 1200}}},
      {false, "copay.individual_bim_cents", 500, {{"copay_individual_bim", 500}}},
      {false, "copay.group_participant_cents", 300, {{"copay_group_participant", 300}}},
      {false, "copay.first_individual_session_free", false, {{"first_individual_free", false}}},
      {false, "copay.young_free.max_age", 18, {{"young_free_max_age", 18}}},
      {false, "copay.young_free.from", "2024-03-01", {{"young_free_from", "2024-03-01"}}},
      {false,
       "copay.young_free",
       nullptr,
       {{"young_free_max_age", nullptr}, {"young_free_from", nullptr}}},
      {false, "copay.cpms_school_free_from", nullptr, {{"cpms_school_free_from", nullptr}}},
      {false,
       "copay.cpms_school_free_from",
       "2023-10-01",
       {{"cpms_school_free_from", "2023-10-01"}}},
      {false, "groups.min_participants", 5, {{"group_min_participants", 5}}},
      {false, "community.min_participants", 12, {{"community_min_participants", 12}}},
      {false, "community.min_minutes", 150, {{"community_min_minutes", 150}}},
      {false,
       "community.min_interaction_minutes",
       100,
       {{"community_min_interaction_minutes", 100}}},
      {false, "community.min_facilitators", 3, {{"community_min_facilitators", 3}}},
      {false, "concertation.units_max", 6, {{"concertation_units_max", 6}}},
      {false,
       "concertation.units_max_per_trajectory",
       8,
       {{"concertation_units_max_per_trajectory", 8}}},
      {false,
       "concertation.count_max_per_trajectory",
       2,
       {{"concertation_count_max_per_trajectory", 2}}},
      {false, "concertation.min_participants", 4, {{"concertation_min_participants", 4}}},
      {false, "concertation.min_care_providers", 3, {{"concertation_min_care_providers", 3}}},
  };
}

TEST(RulesetFields, EveryFieldIsReadIntoItsOwnMember) {
  const std::map<std::string, json::value> base2021 = Fields(Parsed(Doc2021()));
  const std::map<std::string, json::value> base2024 = Fields(Parsed(Doc2024()));
  std::set<std::string> changed;
  for (const FieldCase& c : FieldCases()) {
    SCOPED_TRACE(c.path + " = " + json::serialize(c.value));
    const json::value doc = With(c.on_2021 ? Doc2021() : Doc2024(), c.path, c.value);
    const std::map<std::string, json::value> base = c.on_2021 ? base2021 : base2024;
    const Ruleset parsed = Parsed(doc);
    EXPECT_EQ(json::value(parsed.document), doc);
    if (c.path == "fees") {
      ASSERT_EQ(parsed.fees.size(), 1u);
      EXPECT_EQ(parsed.fees[0].item, FeeItem::kConcertationUnit);
      EXPECT_EQ(parsed.fees[0].cents.value, 1);
      EXPECT_FALSE(parsed.Fee(FeeItem::kIndividualSession, D("2025-01-01")));
      changed.insert("fees");
      continue;
    }
    const std::map<std::string, json::value> fields = Fields(parsed);
    for (const auto& [key, value] : fields) {
      auto expected = c.expect.find(key);
      if (expected != c.expect.end()) {
        EXPECT_EQ(value, expected->second) << key;
        EXPECT_NE(value, base.at(key)) << key << ": the case changes nothing";
        changed.insert(key);
      } else {
        EXPECT_EQ(value, base.at(key)) << key << " changed too";
      }
    }
  }
  // The table covers every member (the members of a fee row in any row).
  auto any_row = [](std::string key) {
    if (key.starts_with("fees[")) key.replace(5, key.find(']') - 5, "");
    return key;
  };
  std::set<std::string> covered;
  for (const std::string& key : changed) covered.insert(any_row(key));
  for (const auto& [key, value] : base2021) {
    EXPECT_TRUE(covered.contains(any_row(key))) << key << " is not covered by the table";
  }
}

// "default" is the one optional field: it marks a [default] figure of the book.
TEST(RulesetFields, DefaultMayBeLeftOut) {
  const Ruleset r = Parsed(Without(Doc2021(), "fees[1].default"));
  EXPECT_FALSE(r.fees[1].is_default);
  EXPECT_TRUE(Parsed(With(Doc2024(), "fees[0]",
                          json::object{{"item", "individual_session"},
                                       {"cents", 8669},
                                       {"from", "2024-04-01"},
                                       {"to", nullptr},
                                       {"default", true}}))
                  .fees[0]
                  .is_default);
}

// ---------------------------------------------------------------------------------------------
// Every refusal names its field.

TEST(RulesetRefusals, EachFieldLeftOutIsNamed) {
  for (const json::value& doc : {Doc2021(), Doc2024()}) {
    for (const std::string& path : Members(doc)) {
      if (path.ends_with("]")) continue;  // an array element is not a field
      if (path.ends_with("].default")) continue;
      EXPECT_TRUE(RefusedAt(Without(doc, path), path)) << path;
      EXPECT_EQ(MessageOf(Without(doc, path)), "ruleset: missing field") << path;
    }
  }
}

TEST(RulesetRefusals, AnUnknownFieldIsNamedAtEveryLevel) {
  for (const json::value& doc : {Doc2021(), Doc2024()}) {
    std::vector<std::string> objects = {""};
    for (const std::string& path : Members(doc)) {
      json::value copy = doc;
      if (Find(copy, path)->is_object()) objects.push_back(path);
    }
    // The document, its 11 objects, the fee rows.
    EXPECT_EQ(objects.size(), 12 + doc.at("fees").as_array().size());
    for (const std::string& path : objects) {
      json::value copy = doc;
      json::value* at = path.empty() ? &copy : Find(copy, path);
      at->as_object()["colour"] = "blue";
      EXPECT_TRUE(RefusedAt(copy, Join(path, "colour"))) << path;
      EXPECT_EQ(MessageOf(copy), "ruleset: unknown field") << path;
    }
  }
}

// A value of another JSON type than the field's.
json::value WrongType(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string:
      return 12;
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "12";
    case json::kind::bool_:
      return "yes";
    case json::kind::null:
      return true;
    case json::kind::array:
      return "x";
    case json::kind::object:
      return 12;
  }
  return nullptr;
}

TEST(RulesetRefusals, EachFieldOfTheWrongTypeIsNamed) {
  for (const json::value& doc : {Doc2021(), Doc2024()}) {
    for (const std::string& path : Members(doc)) {
      json::value copy = doc;
      const json::value wrong = WrongType(*Find(copy, path));
      EXPECT_TRUE(RefusedAt(With(doc, path, wrong), path)) << path << " = " << wrong;
      const std::string message = MessageOf(With(doc, path, wrong));
      EXPECT_NE(message.find("must"), std::string::npos) << path << ": " << message;
      // A message offers null only where null is accepted.
      EXPECT_EQ(message.find("null") != std::string::npos, Nullable(path))
          << path << ": " << message;
    }
  }
}

TEST(RulesetRefusals, NullOnlyWhereTheContractHasNoValue) {
  int nullable = 0;
  for (const json::value& doc : {Doc2021(), Doc2024()}) {
    for (const std::string& path : Members(doc)) {
      const json::value with_null = With(doc, path, nullptr);
      if (Nullable(path)) {
        ++nullable;
        EXPECT_TRUE(ParseRuleset(with_null)) << path << ": " << MessageOf(with_null);
      } else {
        EXPECT_TRUE(RefusedAt(with_null, path)) << path;
      }
    }
  }
  EXPECT_EQ(nullable, 2 * (11 + 1) + 5 + 7);  // both documents' fixed fields, then fee rows
}

struct RangeCase {
  std::string path;
  int64_t min, max;
};

TEST(RulesetRefusals, RangesHoldAtBothEndsAndAreStated) {
  const std::vector<RangeCase> cases = {
      {"version", 1, 1000000},
      {"trajectory.window_months", 1, 120},
      {"ages.children_max_age", 0, 150},
      {"ages.adults_min_age", 0, 150},
      {"ages.mixed_children_max_age", 0, 150},
      {"counters.children.support_individual", 0, 1000},
      {"counters.adults.treatment_group", 0, 1000},
      {"exceptions.extra_individual_sessions", 0, 100},
      {"exceptions.network_share_max_percent", 0, 100},
      {"daily_individual_sessions_max", 1, 100},
      {"fees[0].cents", 0, 100000000},
      {"fees[6].cents", 0, 100000000},
      {"copay.individual_cents", 0, 1000000},
      {"copay.individual_bim_cents", 0, 1000000},
      {"copay.group_participant_cents", 0, 1000000},
      {"copay.young_free.max_age", 0, 150},
      {"groups.min_participants", 1, 1000},
      {"community.min_participants", 0, 100000},
      {"community.min_minutes", 0, 1440},
      {"community.min_interaction_minutes", 0, 1440},
      {"community.min_facilitators", 0, 100},
      {"concertation.units_max", 1, 96},
      {"concertation.units_max_per_trajectory", 1, 1000},
      {"concertation.count_max_per_trajectory", 1, 1000},
      {"concertation.min_participants", 0, 100},
      {"concertation.min_care_providers", 0, 100},
  };
  const json::value doc = Doc2024();
  for (const RangeCase& c : cases) {
    SCOPED_TRACE(c.path);
    const std::string stated = "ruleset: must be an integer from " + std::to_string(c.min) +
                               " to " + std::to_string(c.max) +
                               (Nullable(c.path) ? " (or null)" : "");
    EXPECT_TRUE(ParseRuleset(With(doc, c.path, c.min)));
    EXPECT_TRUE(ParseRuleset(With(doc, c.path, c.max)));
    for (json::value bad : {json::value(c.min - 1), json::value(c.max + 1), json::value(2.5),
                            json::value(1e3), json::value(UINT64_MAX)}) {
      EXPECT_TRUE(RefusedAt(With(doc, c.path, bad), c.path)) << bad;
      EXPECT_EQ(MessageOf(With(doc, c.path, bad)), stated) << bad;
    }
  }
}

TEST(RulesetRefusals, TheIdIsOneToSixtyFourCharacters) {
  EXPECT_TRUE(RefusedAt(With(Doc2024(), "id", ""), "id"));
  EXPECT_EQ(MessageOf(With(Doc2024(), "id", "")), "ruleset: must be 1-64 characters");
  EXPECT_TRUE(RefusedAt(With(Doc2024(), "id", json::string(65, 'a')), "id"));
  EXPECT_EQ(Parsed(With(Doc2024(), "id", json::string(64, 'a'))).id, std::string(64, 'a'));
}

TEST(RulesetRefusals, DatesMustBeRealDatesAndInOrder) {
  for (const char* bad :
       {"2024-02-30", "2023-02-29", "2024-4-01", "01/04/2024", "", "2024-04-01T00:00:00Z"}) {
    SCOPED_TRACE(bad);
    EXPECT_TRUE(RefusedAt(With(Doc2024(), "valid_from", bad), "valid_from"));
    EXPECT_EQ(MessageOf(With(Doc2024(), "valid_from", bad)),
              "ruleset: must be a real date YYYY-MM-DD");
    EXPECT_EQ(MessageOf(With(Doc2024(), "valid_to", bad)),
              "ruleset: must be a real date YYYY-MM-DD (or null)");
    EXPECT_TRUE(RefusedAt(With(Doc2024(), "fees[2].from", bad), "fees[2].from"));
    EXPECT_TRUE(RefusedAt(With(Doc2024(), "fees[2].to", bad), "fees[2].to"));
    EXPECT_TRUE(RefusedAt(With(Doc2024(), "copay.young_free.from", bad), "copay.young_free.from"));
    EXPECT_TRUE(RefusedAt(With(Doc2024(), "copay.cpms_school_free_from", bad),
                          "copay.cpms_school_free_from"));
  }
  EXPECT_EQ(Parsed(With(Doc2024(), "valid_from", "2024-02-29")).valid_from, D("2024-02-29"));

  EXPECT_TRUE(RefusedAt(With(Doc2021(), "valid_to", "2021-08-31"), "valid_to"));
  EXPECT_EQ(MessageOf(With(Doc2021(), "valid_to", "2021-08-31")),
            "ruleset: lies before valid_from");
  EXPECT_EQ(*Parsed(With(Doc2021(), "valid_to", "2021-09-01")).valid_to, D("2021-09-01"));

  EXPECT_TRUE(RefusedAt(With(Doc2024(), "fees[3].to", "2024-03-31"), "fees[3].to"));
  EXPECT_EQ(MessageOf(With(Doc2024(), "fees[3].to", "2024-03-31")),
            "ruleset: lies before fees[3].from (2024-04-01)");
  EXPECT_EQ(*Parsed(With(Doc2024(), "fees[3].to", "2024-04-01")).fees[3].to, D("2024-04-01"));
}

TEST(RulesetRefusals, FeeRowsAreOneRowPerItemAndDate) {
  json::value doc = With(Doc2024(), "fees[0].to", "2024-12-31");
  json::array& fees = doc.as_object()["fees"].as_array();
  fees.push_back(json::object{
      {"item", "individual_session"}, {"cents", 8900}, {"from", "2025-01-01"}, {"to", nullptr}});
  EXPECT_TRUE(ParseRuleset(doc));  // adjacent rows
  // The last day of one row is the first of the next: two figures for 2024-12-31.
  fees[7].as_object()["from"] = "2024-12-31";
  EXPECT_TRUE(RefusedAt(doc, "fees[7]"));
  EXPECT_EQ(MessageOf(doc),
            "ruleset: overlaps fees[0] (individual_session from 2024-04-01): one row per item "
            "and date");
  // An open row overlaps every later row of its item (rows of different items never do: the
  // shipped document has seven items open from one date).
  fees[7].as_object()["from"] = "2030-01-01";
  fees[0].as_object()["to"] = nullptr;
  EXPECT_TRUE(RefusedAt(doc, "fees[7]"));
  fees[0].as_object()["to"] = "2024-12-31";
  EXPECT_TRUE(ParseRuleset(doc));
  fees[7].as_object()["item"] = "community_intervention_other";  // fees[4]'s item, open
  EXPECT_TRUE(RefusedAt(doc, "fees[7]"));
  EXPECT_NE(MessageOf(doc).find("overlaps fees[4]"), std::string::npos) << MessageOf(doc);

  const json::value unknown = With(Doc2024(), "fees[2].item", "home_visit");
  EXPECT_TRUE(RefusedAt(unknown, "fees[2].item"));
  EXPECT_EQ(MessageOf(unknown),
            "ruleset: unknown fee item \"home_visit\" (known: individual_session, "
            "group_session_psychologist, group_session_other, "
            "community_intervention_psychologist, community_intervention_other, "
            "support_mission_hour, concertation_unit)");
  EXPECT_TRUE(RefusedAt(With(Doc2024(), "fees[2]", json::array{}), "fees[2]"));
  EXPECT_TRUE(RefusedAt(With(Doc2024(), "fees", json::object{}), "fees"));
  EXPECT_EQ(MessageOf(With(Doc2024(), "fees", json::object{})), "ruleset: must be an array");
  // No fee row at all: nothing is paid, which is a ruleset an operator may publish.
  EXPECT_TRUE(Parsed(With(Doc2024(), "fees", json::array{})).fees.empty());
}

TEST(RulesetRefusals, FunctionListsNameTheValueAndWhatIsAllowed) {
  const json::value bad_function =
      With(Doc2024(), "billable_functions", json::array{"support", "missions"});
  EXPECT_TRUE(RefusedAt(bad_function, "billable_functions"));
  EXPECT_EQ(MessageOf(bad_function),
            "ruleset: has an unknown value \"missions\" (allowed: community, support, treatment)");
  // Exceptions exist for support and treatment only.
  const json::value community_exception =
      With(Doc2021(), "exceptions.functions", json::array{"community"});
  EXPECT_TRUE(RefusedAt(community_exception, "exceptions.functions"));
  EXPECT_EQ(MessageOf(community_exception),
            "ruleset: has an unknown value \"community\" (allowed: support, treatment)");
  const json::value number = With(Doc2024(), "billable_functions", json::array{"support", 2});
  EXPECT_TRUE(RefusedAt(number, "billable_functions"));
  EXPECT_EQ(MessageOf(number), "ruleset: must be an array of strings");
}

TEST(RulesetRefusals, ValuesTheLedgerDoesNotImplementSaySo) {
  const std::vector<std::pair<std::string, json::value>> cases = {
      {"trajectory.anchor", "calendar_year"},
      {"ages.reference", "birth_date"},
      {"copay.group_collected_by", "each_facilitator"},
      {"exceptions.enforced", true},
  };
  for (const auto& [path, value] : cases) {
    const json::value doc = With(Doc2024(), path, value);
    EXPECT_TRUE(RefusedAt(doc, path)) << path;
    EXPECT_NE(MessageOf(doc).find("implemented"), std::string::npos) << MessageOf(doc);
  }
  EXPECT_EQ(MessageOf(With(Doc2024(), "trajectory.anchor", "calendar_year")),
            "ruleset: only \"first_session\" is implemented");
  EXPECT_TRUE(ParseRuleset(With(Doc2024(), "exceptions.enforced", false)));
}

TEST(RulesetRefusals, YoungFreeIsAnObjectOrNull) {
  const json::value doc = With(Doc2024(), "copay.young_free", 23);
  EXPECT_TRUE(RefusedAt(doc, "copay.young_free"));
  EXPECT_EQ(MessageOf(doc), "ruleset: must be {\"max_age\", \"from\"} or null");
  EXPECT_TRUE(
      RefusedAt(With(Doc2024(), "copay.young_free", json::object{}), "copay.young_free.max_age"));
}

TEST(RulesetRefusals, TheFirstProblemInDocumentOrderIsTheOneReported) {
  json::value doc = With(Doc2024(), "version", 0);
  doc = With(doc, "copay.individual_cents", -1);
  EXPECT_TRUE(RefusedAt(doc, "version"));
  doc = With(doc, "version", 2);
  EXPECT_TRUE(RefusedAt(doc, "copay.individual_cents"));
}

TEST(RulesetText, MalformedRepeatedOrNotAnObjectIsRefused) {
  const std::string text = ReadRulesetFile("convention-2024.json");
  for (std::string_view bad : {std::string_view("{"), std::string_view(""),
                               std::string_view(text).substr(0, text.size() / 2)}) {
    auto r = ParseRulesetText(bad);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_TRUE(r.error().message.starts_with("ruleset: malformed JSON: ")) << r.error().message;
  }
  for (std::string_view not_object : {"[]", "12", "\"convention-2024\"", "null"}) {
    auto r = ParseRulesetText(not_object);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "ruleset: the document must be a JSON object") << not_object;
    EXPECT_EQ(r.error().field, "");
  }
  // A figure given twice: Boost.JSON would keep the last one silently.
  std::string twice = text;
  twice.insert(twice.find("\"version\""), "\"version\": 9,\n  ");
  auto r = ParseRulesetText(twice);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "version");
  EXPECT_EQ(r.error().message, "ruleset: a field given twice in one object");
  std::string nested = text;
  const size_t row = nested.find("\"cents\": 14565");
  ASSERT_NE(row, std::string::npos);
  nested.insert(row, "\"cents\": 14000, ");
  r = ParseRulesetText(nested);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "fees[2].cents");
}

// ---------------------------------------------------------------------------------------------
// Round trips: the document kept is what `rules show` prints and what `ruleset.published`
// stores; it parses back to the same ruleset.

TEST(RulesetRoundTrip, TheDocumentKeptParsesBackToTheSameRuleset) {
  std::vector<json::value> docs = {Doc2021(), Doc2024()};
  for (const FieldCase& c : FieldCases())
    docs.push_back(With(c.on_2021 ? Doc2021() : Doc2024(), c.path, c.value));
  for (const json::value& doc : docs) {
    const Ruleset first = Parsed(doc);
    EXPECT_EQ(json::value(first.document), doc);
    const std::string text = json::serialize(first.document);
    auto again = ParseRulesetText(text);
    ASSERT_TRUE(again) << again.error().ToString();
    EXPECT_EQ(Fields(*again), Fields(first)) << text;
    EXPECT_EQ(json::serialize(again->document), text);
    auto from_value = ParseRuleset(json::value(first.document));
    ASSERT_TRUE(from_value);
    EXPECT_EQ(Fields(*from_value), Fields(first));
  }
  // The shipped files as text, as the binaries parse them.
  auto shipped = ParseRulesetText(ReadRulesetFile("convention-2021.json"));
  ASSERT_TRUE(shipped);
  EXPECT_EQ(Fields(*shipped), Fields(ShippedRulesets()[0]));
}

// ---------------------------------------------------------------------------------------------
// The catalog.

TEST(RulesetCatalogTest, TheRulesetOfACareDate) {
  const RulesetCatalog catalog;
  EXPECT_EQ(catalog.All().size(), 2u);
  EXPECT_FALSE(catalog.InForce(D("2021-08-31")));
  EXPECT_EQ(catalog.InForce(D("2021-09-01"))->Label(), "convention-2021@1");
  EXPECT_EQ(catalog.InForce(D("2024-03-31"))->Label(), "convention-2021@1");
  EXPECT_EQ(catalog.InForce(D("2024-04-01"))->Label(), "convention-2024@1");
  EXPECT_EQ(catalog.InForce(D("2099-12-31"))->Label(), "convention-2024@1");
  EXPECT_EQ(catalog.Find("convention-2021")->version, 1);
  EXPECT_FALSE(catalog.Find("convention-2030"));
  EXPECT_TRUE(RulesetCatalog::Empty().All().empty());
  EXPECT_FALSE(RulesetCatalog::Empty().InForce(D("2025-01-01")));
}

TEST(RulesetCatalogTest, TheHighestVersionOfAnIdWins) {
  RulesetCatalog catalog;
  catalog.Add(Parsed(With(With(Doc2024(), "version", 3), "fees[0].cents", 9000)));
  EXPECT_EQ(catalog.InForce(D("2025-01-01"))->Label(), "convention-2024@3");
  catalog.Add(Parsed(With(With(Doc2024(), "version", 2), "fees[0].cents", 1)));  // lower: ignored
  catalog.Add(Parsed(With(With(Doc2024(), "version", 3), "fees[0].cents", 2)));  // equal: ignored
  const Ruleset* in_force = catalog.InForce(D("2025-01-01"));
  EXPECT_EQ(in_force->Label(), "convention-2024@3");
  EXPECT_EQ(in_force->Fee(FeeItem::kIndividualSession, D("2025-01-01"))->cents.value, 9000);
  // Another id from a later date takes over from that date; before, the older one prices.
  catalog.Add(Parsed(With(With(Doc2024(), "id", "convention-2026"), "valid_from", "2026-01-01")));
  EXPECT_EQ(catalog.InForce(D("2025-12-31"))->Label(), "convention-2024@3");
  EXPECT_EQ(catalog.InForce(D("2026-01-01"))->Label(), "convention-2026@1");
  EXPECT_EQ(catalog.All().size(), 3u);
}

}  // namespace
}  // namespace ledger
