// The dry run of a tariff revision (replay.h), on a small history whose every figure is known:
// a revision from a date mid-history changes exactly the lines after it; the ruleset in force
// replays to no difference; a version that is not higher is refused.
#include "replay/replay.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "projections/fold.h"
#include "replay/testing/test_ledger.h"

namespace ledger {
namespace {

using namespace testing_replay;  // NOLINT: test helpers

const Ben kB1 = MakeBen("1990-03-12", 1);        // adult, 9 support sessions with P1
const Ben kB2 = MakeBen("1985-07-01", 2, true);  // adult, bim, with P3
const Ben kB3 = MakeBen("2004-05-05", 3);        // 20 in 2025: no co-pay (children network)
const Ben kB4 = MakeBen("1970-01-20", 4);
const Ben kB5 = MakeBen("1975-09-09", 5);

// Two networks, three providers. Individual sessions in 2024 and 2025 (the 9th of B1's support
// trajectory is over the adults' counter of 8), a group session and a support mission in 2025.
std::vector<std::string> History2024To2025() {
  std::vector<std::string> e = {
      NetworkReg("N-A", "adults"), NetworkReg("N-C", "children"), Enrol("P1", "N-A"),
      Enrol("P1", "N-C"),          Enrol("P2", "N-A", "other"),   Enrol("P3", "N-A"),
  };
  const char* b1_days[] = {"2024-11-04", "2024-12-02", "2025-01-06", "2025-01-20", "2025-02-03",
                           "2025-02-17", "2025-03-03", "2025-03-17", "2025-03-31"};
  int n = 0;
  for (const char* day : b1_days)
    e.push_back(Session("b1-" + std::to_string(++n), day, "P1", "N-A", kB1));
  e.push_back(Session("b2-1", "2024-12-15", "P3", "N-A", kB2));
  e.push_back(Session("b2-2", "2025-01-10", "P3", "N-A", kB2));
  e.push_back(Session("b2-3", "2025-01-11", "P3", "N-A", kB2));
  e.push_back(Session("b3-1", "2025-02-10", "P1", "N-C", kB3));
  e.push_back(Group("g-1", "2025-02-20", "N-A", {{"P1", "psychologist"}, {"P2", "other"}},
                    {kB1, kB2, kB4, kB5}));
  e.push_back(Mission("m-1", "2025-01-15", "P3", "N-A", 45));
  return e;
}

class ReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ledger_.Append(History2024To2025());
    history_ = ledger_.Load();
  }
  ReplayReport Run(const json::object& doc, std::optional<CivilDay> from = std::nullopt,
                   int threads = 2) {
    auto r = Replay(history_, RulesetCatalog(), Parsed(doc), from, threads);
    EXPECT_TRUE(r) << r.error().ToString();
    return r ? std::move(r).value() : ReplayReport{};
  }
  const ProviderMonthDiff* Row(const ReplayReport& r, std::string_view provider,
                               std::string_view month) {
    for (const ProviderMonthDiff& d : r.provider_months) {
      if (d.provider_id == provider && d.month == M(month)) return &d;
    }
    return nullptr;
  }

  TestLedger ledger_;
  History history_;
};

// Every line before the revision date is untouched; from it, a billable individual session
// costs 231 cents more (co-pay unchanged), everything else is untouched.
TEST_F(ReplayTest, RevisionFromMidHistoryChangesExactlyTheLinesAfterIt) {
  RulesetCatalog with = RulesetCatalog();
  with.Add(Parsed(Revision2024(2, "2025-01-01", 8900)));
  const Projection before = Project(history_, RulesetCatalog());
  const Projection after = Project(history_, with);
  ASSERT_EQ(before.lines.size(), after.lines.size());
  int changed = 0;
  for (size_t i = 0; i < before.lines.size(); ++i) {
    const Line& b = before.lines[i];
    const Line& a = after.lines[i];
    ASSERT_EQ(std::tie(b.provider, b.day, b.seq, b.part),
              std::tie(a.provider, a.day, a.seq, a.part));
    EXPECT_EQ(a.reason, b.reason);
    EXPECT_EQ(a.copay, b.copay);
    const bool revised =
        b.item == FeeItem::kIndividualSession && b.billable() && b.day >= D("2025-01-01");
    EXPECT_EQ(a.fee.value - b.fee.value, revised ? 231 : 0) << history_.EventId(b.seq);
    EXPECT_EQ(a.insurer.value - b.insurer.value, revised ? 231 : 0) << history_.EventId(b.seq);
    changed += revised;
  }
  EXPECT_EQ(changed, 9);  // P1: 6 of B1 (the 9th is over the counter) and B3's; P3: 2 of B2
}

TEST_F(ReplayTest, ReportPerProviderMonthAndNetworkYear) {
  const ReplayReport r = Run(Revision2024(2, "2025-01-01", 8900));
  EXPECT_EQ(r.candidate, "convention-2024@2");
  EXPECT_EQ(r.supersedes, "convention-2024@1");
  EXPECT_EQ(r.standing, CandidateStanding::kSupersedes);
  ASSERT_EQ(r.provider_months.size(), 4u) << json::serialize(ReplayReportJson(r));
  struct Want {
    const char* provider;
    const char* month;
    int sessions;
  };
  for (const Want& w : {Want{"P1", "2025-01", 2}, Want{"P1", "2025-02", 3},
                        Want{"P1", "2025-03", 2}, Want{"P3", "2025-01", 2}}) {
    const ProviderMonthDiff* d = Row(r, w.provider, w.month);
    ASSERT_NE(d, nullptr) << w.provider << " " << w.month;
    const Amounts delta = d->after - d->before;
    EXPECT_EQ(delta.fee.value, 231 * w.sessions) << w.provider << " " << w.month;
    EXPECT_EQ(delta.copay.value, 0);
    EXPECT_EQ(delta.insurer.value, 231 * w.sessions);
    EXPECT_EQ(d->lines_repriced, w.sessions);
    EXPECT_EQ(d->billability_changed, 0);
  }
  ASSERT_EQ(r.network_years.size(), 2u);
  EXPECT_EQ(r.network_years[0].network_id, "N-A");
  EXPECT_EQ(r.network_years[0].year, 2025);
  EXPECT_EQ((r.network_years[0].after - r.network_years[0].before).value, 231 * 8);
  EXPECT_EQ(r.network_years[1].network_id, "N-C");
  EXPECT_EQ((r.network_years[1].after - r.network_years[1].before).value, 231);
  EXPECT_EQ((r.total_after - r.total_before).fee.value, 231 * 9);
  EXPECT_EQ(r.lines_repriced, 9);
  EXPECT_EQ(r.total_before.fee, r.total_before.copay + r.total_before.insurer);
}

TEST_F(ReplayTest, FromRestrictsTheReportToLaterCareDates) {
  const ReplayReport all = Run(Revision2024(2, "2025-01-01", 8900));
  const ReplayReport r = Run(Revision2024(2, "2025-01-01", 8900), D("2025-02-01"));
  EXPECT_EQ(r.provider_months.size(), 2u);  // P1 2025-02 and 2025-03
  EXPECT_EQ(Row(r, "P3", "2025-01"), nullptr);
  EXPECT_EQ((r.total_after - r.total_before).fee.value, 231 * 5);
  EXPECT_LT(r.lines_compared, all.lines_compared);
  EXPECT_EQ(json::serialize(ReplayReportJson(r).at("from")), "\"2025-02-01\"");
}

TEST_F(ReplayTest, TheRulesetInForceReplaysToNoDifference) {
  for (const char* id : {"convention-2021", "convention-2024"}) {
    const ReplayReport r = Run(ShippedDocument(id));
    EXPECT_EQ(r.standing, CandidateStanding::kInForce);
    EXPECT_TRUE(r.provider_months.empty()) << json::serialize(ReplayReportJson(r));
    EXPECT_TRUE(r.network_years.empty());
    EXPECT_EQ(r.total_before, r.total_after);
    EXPECT_EQ(r.lines_repriced, 0);
    EXPECT_GT(r.lines_compared, 0u);
    EXPECT_NE(ReplayReportText(r).find("no difference"), std::string::npos);
  }
}

TEST_F(ReplayTest, APublishedRevisionIsInForceAndReplaysToNoDifference) {
  const json::object v2 = Revision2024(2, "2025-01-01", 8900);
  ledger_.Append(std::vector<std::string>{Publish("rs-v2", "2024-04-01", v2)});
  history_ = ledger_.Load();
  const ReplayReport r = Run(v2);
  EXPECT_EQ(r.standing, CandidateStanding::kInForce);
  EXPECT_TRUE(r.provider_months.empty());
  // And v3 is compared with v2, not with the shipped v1.
  const ReplayReport r3 = Run(Revision2024(3, "2025-01-01", 9000));
  EXPECT_EQ(r3.supersedes, "convention-2024@2");
  EXPECT_EQ((r3.total_after - r3.total_before).fee.value, 100 * 9);
}

TEST_F(ReplayTest, ACounterChangeIsReportedAsChangedBillability) {
  json::object doc = Revision2024(2, "2025-01-01", 8669);  // same fees
  doc["counters"].as_object()["adults"].as_object()["support_individual"] = 10;
  const ReplayReport r = Run(doc);
  ASSERT_EQ(r.provider_months.size(), 1u) << json::serialize(ReplayReportJson(r));
  const ProviderMonthDiff& d = r.provider_months[0];
  EXPECT_EQ(d.provider_id, "P1");
  EXPECT_EQ(d.month, M("2025-03"));
  EXPECT_EQ(d.billability_changed, 1);  // B1's 9th session
  EXPECT_EQ((d.after - d.before).fee.value, 8669);
  EXPECT_EQ((d.after - d.before).copay.value, 1100);
}

TEST_F(ReplayTest, OneOrTwoThreadsGiveTheSameReport) {
  const json::object doc = Revision2024(2, "2024-12-01", 8800);
  EXPECT_EQ(json::serialize(ReplayReportJson(Run(doc, std::nullopt, 1))),
            json::serialize(ReplayReportJson(Run(doc, std::nullopt, 2))));
}

TEST_F(ReplayTest, AVersionNotHigherThanTheOneInForceIsRefused) {
  json::object same_version = Revision2024(1, "2025-01-01", 8900);  // v1 with other content
  auto r = Replay(history_, RulesetCatalog(), Parsed(same_version), std::nullopt);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kConflict);
  EXPECT_EQ(r.error().field, "version");
  EXPECT_NE(r.error().message.find("convention-2024@1"), std::string::npos) << r.error().message;

  ledger_.Append(std::vector<std::string>{
      Publish("rs-v3", "2024-04-01", Revision2024(3, "2025-01-01", 8900))});
  history_ = ledger_.Load();
  auto lower =
      Replay(history_, RulesetCatalog(), Parsed(Revision2024(2, "2025-01-01", 8800)), std::nullopt);
  ASSERT_FALSE(lower);
  EXPECT_NE(lower.error().message.find("version 4 or more"), std::string::npos)
      << lower.error().message;
}

TEST_F(ReplayTest, ANewRulesetIdIsAccepted) {
  json::object doc = Revision2024(1, "2025-01-01", 8669);
  doc["id"] = "indexation-2025";
  doc["valid_from"] = "2025-01-01";
  json::array fees;
  for (const json::value& v : doc.at("fees").as_array()) {
    json::object row = v.as_object();
    if (row.at("from").as_string() < "2025-01-01") continue;
    fees.push_back(row);
  }
  doc["fees"] = std::move(fees);
  const ReplayReport r = Run(doc);
  EXPECT_EQ(r.standing, CandidateStanding::kNewId);
  EXPECT_TRUE(r.supersedes.empty());
  // In force from 2025-01-01 (the latest valid_from wins) with the individual fee only: groups
  // and missions are no longer paid then.
  EXPECT_FALSE(r.provider_months.empty());
  EXPECT_NE(Row(r, "P2", "2025-02"), nullptr);
}

// A report built by hand: several provider-months and network-years, a from date, negative
// differences, and ids that need escaping (a quote, a backslash, control characters and a NUL,
// bytes above ASCII).
ReplayReport HandMadeReport() {
  ReplayReport r;
  r.candidate = "convention-2024@2";
  r.supersedes = "convention-2024@1";
  r.standing = CandidateStanding::kSupersedes;
  r.from = ToDay(CivilDate{2025, 2, 1});
  r.last_seq = 18446744073709551615u;
  r.care_events = 947408;
  r.lines_compared = 976318;
  r.provider_months = {
      {"P-100001",
       202404,
       {Cents{182049}, Cents{7100}, Cents{174949}},
       {Cents{186900}, Cents{7100}, Cents{179800}},
       21,
       0},
      {"P-100001",
       202405,
       {Cents{151708}, Cents{3000}, Cents{148708}},
       {Cents{-5}, Cents{0}, Cents{-5}},
       17,
       -3},
      {"P-\"quoted\"\\back", 202501, {}, {Cents{100}, Cents{20}, Cents{80}}, 1, 1},
      {std::string("P-\x00\x01\b\f\n\r\t\x1f\x7f-\xc3\xa9", 14),
       202512,
       {Cents{INT64_MIN + 1}, Cents{0}, Cents{INT64_MIN + 1}},
       {},
       0,
       0},
  };
  r.network_years = {{"N-ADULT-01", 2024, Cents{1000}, Cents{-250}},
                     {"N-\"C\"\\", 2025, Cents{0}, Cents{INT64_MAX}},
                     {"N-ADULT-02", -1, Cents{7}, Cents{7}}};
  r.total_before = {Cents{333757}, Cents{10100}, Cents{323657}};
  r.total_after = {Cents{186995}, Cents{7120}, Cents{179875}};
  r.lines_repriced = 39;
  r.billability_changed = -2;
  return r;
}

TEST(ReplayReportJsonText, TheSameBytesAsTheSerialisedValue) {
  ReplayReport r = HandMadeReport();
  EXPECT_EQ(ReplayReportJsonText(r), json::serialize(ReplayReportJson(r)));
  // null supersedes and from, another standing, no provider-month nor network-year.
  r.supersedes.clear();
  r.from.reset();
  r.standing = CandidateStanding::kNewId;
  r.candidate = "new\u2028id\"@1";
  EXPECT_EQ(ReplayReportJsonText(r), json::serialize(ReplayReportJson(r)));
  r.provider_months.clear();
  r.network_years.clear();
  r.standing = CandidateStanding::kInForce;
  EXPECT_EQ(ReplayReportJsonText(r), json::serialize(ReplayReportJson(r)));
  EXPECT_EQ(ReplayReportJsonText(ReplayReport{}), json::serialize(ReplayReportJson({})));
}

TEST_F(ReplayTest, TheJsonTextOfAReplayIsTheSerialisedValue) {
  const ReplayReport r = Run(Revision2024(2, "2024-12-01", 8800), ToDay(CivilDate{2025, 1, 1}));
  ASSERT_FALSE(r.provider_months.empty());
  EXPECT_EQ(ReplayReportJsonText(r), json::serialize(ReplayReportJson(r)));
}

TEST(FormatEuros, IntegerArithmetic) {
  EXPECT_EQ(FormatEuros(Cents{8669}), "86.69");
  EXPECT_EQ(FormatEuros(Cents{-5}), "-0.05");
  EXPECT_EQ(FormatEuros(Cents{0}), "0.00");
  EXPECT_EQ(FormatEuros(Cents{-123456}), "-1234.56");
}

}  // namespace
}  // namespace ledger
