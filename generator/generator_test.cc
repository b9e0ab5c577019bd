#include "generator/generator.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "schemas/civil_date.h"
#include "schemas/json_codec.h"

namespace ledger {
namespace {

namespace json = boost::json;

struct History {
  std::vector<std::string> lines;
  GeneratorStats stats;
};

History Generate(GeneratorOptions o) {
  History h;
  auto stats = GenerateHistory(o, [&](std::string_view line) { h.lines.emplace_back(line); });
  EXPECT_TRUE(stats.ok()) << (stats.ok() ? "" : stats.error().ToString());
  if (stats.ok()) h.stats = *stats;
  return h;
}

GeneratorOptions Options(uint64_t seed, int64_t events) {
  GeneratorOptions o;
  o.seed = seed;
  o.events_target = events;
  return o;
}

// The demo history, generated once for the tests that inspect it.
const History& Demo() {
  static const History demo = Generate(Options(7, 20000));
  return demo;
}

TEST(GeneratorTest, DefaultDates) {
  EXPECT_EQ(GeneratorOptions{}.from, ToDay({2022, 1, 1}));
  EXPECT_EQ(GeneratorOptions{}.to, ToDay({2026, 6, 30}));
}

TEST(GeneratorTest, SameSeedGivesTheSameBytes) {
  const History a = Generate(Options(42, 5000));
  const History b = Generate(Options(42, 5000));
  ASSERT_FALSE(a.lines.empty());
  EXPECT_EQ(a.lines, b.lines);
}

TEST(GeneratorTest, DifferentSeedsGiveDifferentHistories) {
  const History a = Generate(Options(1, 5000));
  const History b = Generate(Options(2, 5000));
  EXPECT_NE(a.lines, b.lines);
}

TEST(GeneratorTest, EveryLineDecodesRoundTripsAndHasAUniqueId) {
  const GeneratorOptions o = Options(7, 20000);
  const CivilDay recording_day = o.to + 1;
  std::unordered_set<std::string> ids;
  int64_t index = 0;
  for (const std::string& line : Demo().lines) {
    auto decoded = DecodeEventJson(line, index++, recording_day);
    ASSERT_TRUE(decoded.ok()) << decoded.error().ToString() << "\n" << line;
    const auto event = decoded->event();
    // The generator writes the canonical form: decoding and encoding give the bytes back.
    EXPECT_EQ(json::serialize(EncodeEvent(event)), line);
    EXPECT_LE(event.getOccurredOn(), o.to) << line;
    EXPECT_TRUE(ids.insert(event.getId().cStr()).second) << "duplicate id: " << line;
  }
  EXPECT_EQ(static_cast<uint64_t>(index), Demo().stats.events);
}

TEST(GeneratorTest, MeetsTheTargetWithinFivePercent) {
  for (int64_t target : {1000, 3000, 20000, 150000}) {
    const History h = Generate(Options(3, target));
    const double ratio = static_cast<double>(h.lines.size()) / static_cast<double>(target);
    EXPECT_GT(ratio, 0.95) << target;
    EXPECT_LT(ratio, 1.05) << target;
  }
  // A short history too.
  GeneratorOptions o = Options(5, 10000);
  o.from = ToDay({2024, 3, 1});
  o.to = ToDay({2024, 8, 31});
  const History h = Generate(o);
  EXPECT_GT(h.lines.size(), 9500u);
  EXPECT_LT(h.lines.size(), 10500u);
}

TEST(GeneratorTest, HoldsEveryKindOfEvent) {
  std::map<std::string, int> types;
  int with_context = 0, school_cpms = 0, defined_groups = 0, late = 0;
  std::string latest_day;
  for (const std::string& line : Demo().lines) {
    const json::object o = json::parse(line).as_object();
    const std::string type(o.at("type").as_string());
    const std::string day(o.at("occurred_on").as_string());
    ++types[type];
    if (o.contains("with_context")) ++with_context;
    if (o.contains("organiser")) {
      EXPECT_EQ(o.at("location").as_string(), "school");
      ++school_cpms;
    }
    if (o.contains("defined_group")) ++defined_groups;
    if (type.rfind("session.", 0) == 0 && day < latest_day) ++late;
    if (day > latest_day) latest_day = day;
  }
  for (const char* type :
       {"network.registered", "provider.enrolled", "provider.left", "budget.allocated",
        "assessment.recorded", "exception.granted", "session.individual", "session.group",
        "community.intervention", "support.mission", "concertation.held", "event.voided"}) {
    EXPECT_GT(types[type], 0) << type;
  }
  EXPECT_EQ(types["network.registered"], 32);
  EXPECT_GT(types["session.individual"], types["session.group"]);
  EXPECT_GT(with_context, 0);
  EXPECT_GT(school_cpms, 0);
  EXPECT_GT(defined_groups, 0);
  EXPECT_GT(late, 0);  // some sessions are recorded after later-dated events
}

TEST(GeneratorTest, NetworksBudgetsAndPopulations) {
  std::map<std::string, std::string> populations;
  std::map<int64_t, int64_t> budget_events_by_year;
  for (const std::string& line : Demo().lines) {
    const json::object o = json::parse(line).as_object();
    if (o.at("type") == "network.registered") {
      populations[std::string(o.at("network_id").as_string())] =
          std::string(o.at("population").as_string());
      EXPECT_LE(std::string(o.at("occurred_on").as_string()), "2022-01-01");
    } else if (o.at("type") == "budget.allocated") {
      ++budget_events_by_year[o.at("year").as_int64()];
    }
  }
  std::map<std::string, int> counts;
  for (const auto& [id, population] : populations) ++counts[population];
  EXPECT_EQ(counts["adults"], 20);
  EXPECT_EQ(counts["children"], 11);
  EXPECT_EQ(counts["mixed"], 1);
  for (int64_t year = 2022; year <= 2026; ++year) {
    EXPECT_GE(budget_events_by_year[year], 32) << year;
  }
}

// One budget per network on 1 January, before any care of that year; from 2023 two revisions
// on 1 July, each 1-5% above the January figure it replaces.
TEST(GeneratorTest, BudgetsComeFirstAndRevisionsAreModest) {
  std::map<std::pair<std::string, int64_t>, int64_t> january;
  std::map<int64_t, int> revisions;
  std::string latest_care_day;
  for (const std::string& line : Demo().lines) {
    const json::object o = json::parse(line).as_object();
    const std::string day(o.at("occurred_on").as_string());
    if (o.at("type") != "budget.allocated") {
      if (o.at("type").as_string().starts_with("session."))
        latest_care_day = std::max(latest_care_day, day);
      continue;
    }
    const std::string network(o.at("network_id").as_string());
    const int64_t year = o.at("year").as_int64();
    const int64_t cents = o.at("care_budget_cents").as_int64();
    EXPECT_GT(cents, 0) << line;
    if (day.ends_with("-01-01")) {
      EXPECT_TRUE(january.emplace(std::pair(network, year), cents).second) << line;
      EXPECT_LT(latest_care_day, day) << line;  // written before that year's care
      continue;
    }
    EXPECT_TRUE(day.ends_with("-07-01")) << line;
    ++revisions[year];
    const int64_t before = january.at({network, year});
    EXPECT_GE(cents, before + before / 100) << line;
    EXPECT_LE(cents, before + before * 5 / 100) << line;
  }
  EXPECT_EQ(january.size(), 32u * 5);
  EXPECT_EQ(revisions, (std::map<int64_t, int>{{2023, 2}, {2024, 2}, {2025, 2}}));
}

TEST(GeneratorTest, VoidsNameEarlierEvents) {
  std::unordered_set<std::string> seen;
  int voids = 0;
  for (const std::string& line : Demo().lines) {
    const json::object o = json::parse(line).as_object();
    if (o.at("type") == "event.voided") {
      ++voids;
      EXPECT_TRUE(seen.count(std::string(o.at("target").as_string()))) << line;
    }
    seen.insert(std::string(o.at("id").as_string()));
  }
  EXPECT_GT(voids, 0);
}

// One NISS is one person: the same birth date and bim flag wherever it appears.
TEST(GeneratorTest, ANissIsOnePerson) {
  std::map<std::string, std::pair<std::string, bool>> people;
  auto check = [&](const json::value& b) {
    const json::object& p = b.as_object();
    const std::string niss(p.at("niss").as_string());
    const std::pair<std::string, bool> who(std::string(p.at("birth_date").as_string()),
                                           p.at("bim").as_bool());
    auto [it, inserted] = people.emplace(niss, who);
    EXPECT_EQ(it->second, who) << niss;
  };
  for (const std::string& line : Demo().lines) {
    const json::object o = json::parse(line).as_object();
    if (const json::value* b = o.if_contains("beneficiary")) check(*b);
    if (o.at("type") == "session.group") {
      for (const json::value& p : o.at("participants").as_array()) check(p);
    }
  }
  EXPECT_GT(people.size(), 1000u);
}

TEST(GeneratorTest, RefusesBadOptions) {
  GeneratorOptions o;
  o.from = ToDay({2025, 1, 1});
  o.to = ToDay({2024, 1, 1});
  auto r = GenerateHistory(o, [](std::string_view) { ADD_FAILURE() << "wrote an event"; });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  o = GeneratorOptions{};
  o.events_target = 0;
  EXPECT_FALSE(ValidateGeneratorOptions(o).ok());
}

}  // namespace
}  // namespace ledger
