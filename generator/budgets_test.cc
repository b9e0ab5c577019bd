// The budgets the generator sizes, checked against the real fold (projections/, linked by this
// test only: the generator library imports schemas/ only):
// - its copy of the convention's figures (tariff.h) is the shipped rulesets', date by date;
// - on generated histories folded by Project(), most network-years of the full years consume
//   40-95% of their budget, two or three adult networks run out before 1 December in every full
//   year after the first (and have a projected exhaustion date), and a year the history covers
//   in part is consumed in proportion to the part elapsed.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "generator/generator.h"
#include "generator/tariff.h"
#include "ledger/event_log.h"
#include "ledger/testing/temp_dir.h"
#include "projections/money.h"
#include "projections/projector.h"
#include "projections/ruleset.h"
#include "projections/views.h"
#include "schemas/json_codec.h"

namespace ledger {
namespace {

CivilDay D(int32_t y, int32_t m, int32_t d) { return ToDay({y, m, d}); }

// --- the convention's figures ----------------------------------------------------------------

int64_t FeeOf(const Ruleset* r, FeeItem item, CivilDay day) {
  const FeeRow* row = r ? r->Fee(item, day) : nullptr;
  return row ? row->cents.value : 0;
}

int32_t Limit(const std::optional<int32_t>& v) { return v.value_or(gen::Tariff::kNoLimit); }

TEST(GeneratorTariff, IsTheShippedRulesetsFigureByFigure) {
  const RulesetCatalog catalog;
  const gen::Tariff t;
  for (CivilDay day :
       {D(2021, 8, 31), D(2021, 9, 1), D(2022, 6, 15), D(2023, 8, 31), D(2023, 9, 1),
        D(2024, 1, 31), D(2024, 2, 1), D(2024, 3, 31), D(2024, 4, 1), D(2026, 6, 30)}) {
    SCOPED_TRACE(FormatDay(day));
    const Ruleset* r = catalog.InForce(day);
    EXPECT_EQ(t.On(day) == gen::Tariff::Convention::kNone, r == nullptr);
    EXPECT_EQ(t.IndividualFee(day), FeeOf(r, FeeItem::kIndividualSession, day));
    EXPECT_EQ(t.GroupFee(day, false), FeeOf(r, FeeItem::kGroupSessionPsychologist, day));
    EXPECT_EQ(t.GroupFee(day, true), FeeOf(r, FeeItem::kGroupSessionOther, day));
    const bool community = r && r->community_billable;
    EXPECT_EQ(t.CommunityFee(day, false),
              community ? FeeOf(r, FeeItem::kCommunityPsychologist, day) : 0);
    EXPECT_EQ(t.CommunityFee(day, true), community ? FeeOf(r, FeeItem::kCommunityOther, day) : 0);
    const int64_t hour = FeeOf(r, FeeItem::kSupportMissionHour, day);
    for (int32_t minutes : {15, 50, 60, 125, 240}) {
      EXPECT_EQ(t.MissionFee(day, minutes), ProRataHalfUp(Cents{hour}, minutes, 60).value);
    }
    EXPECT_EQ(t.ConcertationUnitFee(day), FeeOf(r, FeeItem::kConcertationUnit, day));
    if (!r) continue;
    const bool young_free = r->young_free_from && day >= *r->young_free_from;
    const bool school_free = r->cpms_school_free_from && day >= *r->cpms_school_free_from;
    EXPECT_EQ(t.IndividualCopay(day, 40, false, false), r->copay_individual.value);
    EXPECT_EQ(t.IndividualCopay(day, 40, true, false), r->copay_individual_bim.value);
    EXPECT_EQ(t.IndividualCopay(day, 40, false, true), school_free ? 0 : r->copay_individual.value);
    EXPECT_EQ(t.IndividualCopay(day, *r->young_free_max_age, true, false),
              young_free ? 0 : r->copay_individual_bim.value);
    EXPECT_EQ(t.IndividualCopay(day, *r->young_free_max_age + 1, true, false),
              r->copay_individual_bim.value);
    EXPECT_EQ(t.GroupCopay(day, 40, false), r->copay_group_participant.value);
    EXPECT_EQ(t.GroupCopay(day, 18, false), young_free ? 0 : r->copay_group_participant.value);
    EXPECT_EQ(t.GroupCopay(day, 40, true), school_free ? 0 : r->copay_group_participant.value);
    EXPECT_TRUE(r->first_individual_free);  // CareCost's rule
    for (bool children : {true, false}) {
      const CounterTable& c =
          r->counters[static_cast<int>(children ? Column::kChildren : Column::kAdults)];
      EXPECT_EQ(t.IndividualMax(day, children, gen::Function::kSupport),
                Limit(c.support_individual));
      EXPECT_EQ(t.IndividualMax(day, children, gen::Function::kTreatment),
                Limit(c.treatment_individual));
      EXPECT_EQ(t.GroupMax(day, children, gen::Function::kSupport), Limit(c.support_group));
      EXPECT_EQ(t.GroupMax(day, children, gen::Function::kTreatment), Limit(c.treatment_group));
    }
    EXPECT_EQ(t.ExceptionExtra(day), r->exception_support ? r->exception_extra_sessions : 0);
    EXPECT_EQ(t.ConcertationsMaxPerTrajectory(day),
              Limit(r->concertation_count_max_per_trajectory));
    EXPECT_EQ(gen::Tariff::kDailyIndividualMax, r->daily_individual_max);
    EXPECT_EQ(gen::Tariff::kGroupMinParticipants, r->group_min_participants);
    EXPECT_EQ(gen::Tariff::kCommunityMinParticipants, r->community_min_participants);
    EXPECT_EQ(gen::Tariff::kCommunityMinMinutes, r->community_min_minutes);
    EXPECT_EQ(gen::Tariff::kCommunityMinInteractionMinutes, r->community_min_interaction_minutes);
    EXPECT_EQ(gen::Tariff::kCommunityMinFacilitators, r->community_min_facilitators);
    EXPECT_EQ(gen::Tariff::kConcertationUnitsMax, r->concertation_units_max);
    EXPECT_EQ(gen::Tariff::kConcertationUnitsMax, r->concertation_units_max_per_trajectory);
    EXPECT_EQ(gen::Tariff::kConcertationMinParticipants, r->concertation_min_participants);
    EXPECT_EQ(gen::Tariff::kConcertationMinCareProviders, r->concertation_min_care_providers);
    EXPECT_EQ(gen::Tariff::kWindowMonths, r->window_months);
    EXPECT_TRUE(gen::Tariff::AgeFits(gen::Population::kChildren, r->children_max_age));
    EXPECT_FALSE(gen::Tariff::AgeFits(gen::Population::kChildren, r->children_max_age + 1));
    EXPECT_TRUE(gen::Tariff::AgeFits(gen::Population::kAdults, r->adults_min_age));
    EXPECT_FALSE(gen::Tariff::AgeFits(gen::Population::kAdults, r->adults_min_age - 1));
    EXPECT_TRUE(gen::Tariff::ChildrenColumn(gen::Population::kMixed, r->mixed_children_max_age));
    EXPECT_FALSE(
        gen::Tariff::ChildrenColumn(gen::Population::kMixed, r->mixed_children_max_age + 1));
  }
}

// --- budgets on generated histories ----------------------------------------------------------

struct NetworkYear {
  std::string network;
  std::string population;
  int32_t year = 0;
  int64_t allocated = 0, consumed = 0;
  std::optional<CivilDay> ran_out;  // the care date consumption first exceeded the budget
  bool projected_exhaustion = false;
  int64_t percent() const { return allocated > 0 ? consumed * 100 / allocated : 0; }
};

// Every network-year of a generated history as the real fold sees it.
std::vector<NetworkYear> Fold(const GeneratorOptions& o) {
  std::vector<std::string> lines;
  EXPECT_TRUE(GenerateHistory(o, [&](std::string_view l) { lines.emplace_back(l); }).ok());
  TempDir dir{"budgets_test"};
  auto log = EventLog::Open(dir.path());
  EXPECT_TRUE(log.ok());
  if (!log.ok()) return {};
  auto append = (*log)->BeginAppend();
  std::map<std::string, std::string> populations;
  for (size_t i = 0; i < lines.size(); ++i) {
    auto ev = DecodeEventJson(lines[i], static_cast<int64_t>(i), o.to + 1);
    EXPECT_TRUE(ev.ok()) << ev.error().ToString();
    if (!ev.ok()) return {};
    const auto event = ev->event();
    if (event.getBody().isNetworkRegistered()) {
      const auto n = event.getBody().getNetworkRegistered();
      populations[n.getNetworkId().cStr()] =
          n.getPopulation() == schema::Population::ADULTS ? "adults" : "other";
    }
    EXPECT_TRUE(append->Add(*ev).ok());
  }
  EXPECT_TRUE(append->Commit().ok());
  auto h = History::Load(**log);
  EXPECT_TRUE(h.ok());
  if (!h.ok()) return {};
  const Projection p = Project(*h, RulesetCatalog());
  // Consumption by network-year and care date.
  std::map<std::pair<NetworkIdx, int32_t>, std::map<CivilDay, int64_t>> daily;
  for (const Line& l : p.lines) {
    if (l.billable()) daily[{l.network, FromDay(l.day).year}][l.day] += l.insurer.value;
  }
  std::vector<NetworkYear> out;
  for (const auto& [key, allocated] : p.allocated) {
    NetworkYear ny;
    ny.network = h->networks.Name(key.first);
    ny.population = populations[ny.network];
    ny.year = key.second;
    ny.allocated = allocated.value;
    for (const auto& [day, cents] : daily[key]) {
      ny.consumed += cents;
      if (!ny.ran_out && ny.consumed > ny.allocated) ny.ran_out = day;
    }
    ny.projected_exhaustion =
        !BalanceJson(*h, p, ny.network, ny.year).at("projected_exhaustion").is_null();
    out.push_back(ny);
  }
  return out;
}

std::string Describe(const std::vector<NetworkYear>& all) {
  std::string s;
  for (const NetworkYear& ny : all) {
    s += ny.network + " " + std::to_string(ny.year) + " " + std::to_string(ny.percent()) + "%" +
         (ny.ran_out ? " ran out " + FormatDay(*ny.ran_out) : "") + "\n";
  }
  return s;
}

// The property of the demo: checked for the full years of a history and its partial last year.
void ExpectRealisticBudgets(const GeneratorOptions& o) {
  const std::vector<NetworkYear> all = Fold(o);
  ASSERT_FALSE(all.empty());
  const int32_t first_full = FromDay(o.from).month == 1 && FromDay(o.from).day == 1
                                 ? FromDay(o.from).year
                                 : FromDay(o.from).year + 1;
  const int32_t last_full = FromDay(o.to + 1).year - 1;
  ASSERT_LE(first_full + 1, last_full) << "a history of at least two full years";
  int in_range = 0, full = 0;
  for (int32_t year = first_full; year <= last_full; ++year) {
    std::set<std::string> ran_out;
    for (const NetworkYear& ny : all) {
      if (ny.year != year) continue;
      ++full;
      in_range += ny.percent() >= 40 && ny.percent() <= 95;
      if (ny.ran_out && *ny.ran_out < D(year, 12, 1) && ny.population == "adults") {
        ran_out.insert(ny.network);
        EXPECT_TRUE(ny.projected_exhaustion) << ny.network << " " << year;
      }
    }
    if (year > FromDay(o.from).year) {  // saturation starts in the second year
      EXPECT_GE(ran_out.size(), 2u) << year << "\n" << Describe(all);
      EXPECT_LE(ran_out.size(), 3u) << year << "\n" << Describe(all);
    }
  }
  EXPECT_EQ(full, 32 * (last_full - first_full + 1));
  EXPECT_GE(in_range * 4, full * 3) << in_range << " of " << full << "\n" << Describe(all);
  // The last year, covered in part, budgeted whole: consumed in proportion to the part elapsed
  // (the days are weighted: fewer in summer, more in later years), and the saturating networks
  // already on course to run out.
  const int32_t last = FromDay(o.to).year;
  if (last > last_full) {
    const int64_t elapsed = (o.to - D(last, 1, 1) + 1) * 100 / 365;
    std::vector<int64_t> percents;
    int on_course = 0;
    for (const NetworkYear& ny : all) {
      if (ny.year != last) continue;
      percents.push_back(ny.percent());
      on_course += ny.projected_exhaustion && ny.population == "adults";
    }
    std::sort(percents.begin(), percents.end());
    const int64_t median = percents[percents.size() / 2];
    EXPECT_GE(median, elapsed * 40 / 100) << Describe(all);
    EXPECT_LE(median, elapsed * 95 / 100) << Describe(all);
    EXPECT_GE(on_course, 2) << Describe(all);
  }
}

GeneratorOptions Options(uint64_t seed, int64_t events) {
  GeneratorOptions o;
  o.seed = seed;
  o.events_target = events;
  return o;
}

TEST(GeneratorBudgets, TheDemoConsumesItsBudgetsRealistically) {
  ExpectRealisticBudgets(Options(1, 20000));  // ops/run.sh's demo
}

TEST(GeneratorBudgets, OtherSeedsSizesAndDatesToo) {
  ExpectRealisticBudgets(Options(8, 60000));
  GeneratorOptions o = Options(9, 30000);
  o.from = D(2022, 5, 16);  // the first year in part too
  o.to = D(2025, 9, 30);
  ExpectRealisticBudgets(o);
}

}  // namespace
}  // namespace ledger
