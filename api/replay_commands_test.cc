// The operations behind `rules publish`, `replay`, `close`, `explain`, `export` and
// `verify --expect`, against a real log; and a revision replayed over a generated history.
#include "api/replay_commands.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "generator/generator.h"
#include "projections/fold.h"
#include "projections/packed_history.h"
#include "replay/testing/test_ledger.h"

namespace ledger {
namespace {

using namespace testing_replay;  // NOLINT: test helpers

const Ben kB1 = MakeBen("1990-03-12", 1);
const Ben kB2 = MakeBen("1985-07-01", 2, true);

std::vector<std::string> World() {
  return {NetworkReg("N-A", "adults"),
          Enrol("P1", "N-A"),
          Enrol("P3", "N-A"),
          Session("b1-1", "2024-12-02", "P1", "N-A", kB1),
          Session("b1-2", "2025-01-06", "P1", "N-A", kB1),
          Session("b2-1", "2025-01-10", "P3", "N-A", kB2),
          Session("b2-2", "2025-02-10", "P3", "N-A", kB2)};
}

class ReplayCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override { ledger_.Append(World()); }
  EventLog& log() { return ledger_.log(); }
  TestLedger ledger_;
};

TEST_F(ReplayCommandsTest, PublishAppendsARulesetThatPricesFromThen) {
  auto out =
      PublishRuleset(log(), Revision2024(2, "2025-01-01", 8900), "indexation 2025", RecordingDay());
  ASSERT_TRUE(out) << out.error().ToString();
  EXPECT_EQ(out->at("published").as_string(), "convention-2024@2");
  EXPECT_EQ(out->at("supersedes").as_string(), "convention-2024@1");
  EXPECT_EQ(out->at("id").as_string(), "ruleset-convention-2024-v2");
  EXPECT_EQ(out->at("occurred_on").as_string(), "2024-04-01");  // valid_from, before today
  const History h = ledger_.Load();
  ASSERT_EQ(h.published_rulesets.size(), 1u);
  const Projection p = Project(h, RulesetCatalog());
  EXPECT_EQ(p.rulesets->Find("convention-2024")->version, 2);
  for (const Line& l : p.lines) {
    if (l.billable() && l.day >= D("2025-01-01")) {
      EXPECT_EQ(l.fee.value, 8900);
    }
  }
}

TEST_F(ReplayCommandsTest, PublishIsDatedNoLaterThanToday) {
  json::object doc = Revision2024(1, "2030-01-01", 9500);
  doc["id"] = "convention-2030";
  doc["valid_from"] = "2030-01-01";
  auto out = PublishRuleset(log(), doc, "announced indexation", RecordingDay());
  ASSERT_TRUE(out) << out.error().ToString();
  EXPECT_EQ(out->at("occurred_on").as_string(), FormatDay(RecordingDay()));
  EXPECT_TRUE(out->at("supersedes").is_null());
}

TEST_F(ReplayCommandsTest, PublishRefusesAVersionNotHigherThanTheOneInForce) {
  const Seq head = log().head().seq;
  auto same = PublishRuleset(log(), ShippedDocument("convention-2024"), "again", RecordingDay());
  ASSERT_FALSE(same);
  EXPECT_EQ(same.error().code, ErrorCode::kConflict);
  EXPECT_NE(same.error().message.find("already in force"), std::string::npos);
  ASSERT_TRUE(PublishRuleset(log(), Revision2024(3, "2025-01-01", 8900), "v3", RecordingDay()));
  auto lower = PublishRuleset(log(), Revision2024(2, "2025-01-01", 8800), "v2", RecordingDay());
  ASSERT_FALSE(lower);
  EXPECT_EQ(lower.error().code, ErrorCode::kConflict);
  EXPECT_EQ(lower.error().field, "version");
  EXPECT_NE(lower.error().message.find("convention-2024@3"), std::string::npos);
  EXPECT_EQ(log().head().seq, head + 1);  // only v3 was stored
}

TEST_F(ReplayCommandsTest, PublishRefusesBadInput) {
  auto no_reason = PublishRuleset(log(), Revision2024(2, "2025-01-01", 8900), "", RecordingDay());
  ASSERT_FALSE(no_reason);
  EXPECT_EQ(no_reason.error().code, ErrorCode::kInvalidArgument);
  json::object bad = Revision2024(2, "2025-01-01", 8900);
  bad["copay"].as_object()["individual_cents"] = "eleven";
  auto invalid = PublishRuleset(log(), bad, "typo", RecordingDay());
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error().field, "copay.individual_cents");
}

TEST_F(ReplayCommandsTest, AVoidedPublicationIsNoLongerInForce) {
  ASSERT_TRUE(PublishRuleset(log(), Revision2024(2, "2025-01-01", 8900), "v2", RecordingDay()));
  ledger_.Append(
      std::vector<std::string>{Void("v-rs", "2025-01-01", "ruleset-convention-2024-v2")});
  // v2 is void: v1 is in force again, and v2 replays as a revision of it.
  auto r = ReplayRuleset(log(), Revision2024(2, "2025-01-01", 8900), std::nullopt);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->supersedes, "convention-2024@1");
  // Its event id stays taken, so it comes back as a higher version.
  auto again = PublishRuleset(log(), Revision2024(2, "2025-01-01", 8900), "v2", RecordingDay());
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("higher version"), std::string::npos);
  ASSERT_TRUE(PublishRuleset(log(), Revision2024(3, "2025-01-01", 8900), "v3", RecordingDay()));
}

// `rules show` reads the rules stream alone, as of any seq: a publication shows from its seq on,
// and no longer once voided.
TEST_F(ReplayCommandsTest, TheRulesetsAtASeqComeFromTheRulesStream) {
  auto version_at = [&](Seq at) {
    auto rules = RulesetsAt(log(), at);
    EXPECT_TRUE(rules) << rules.error().ToString();
    return rules ? (*rules)->Find("convention-2024")->version : -1;
  };
  const Seq before = log().head().seq;
  auto published = PublishRuleset(log(), Revision2024(2, "2025-01-01", 8900), "v2", RecordingDay());
  ASSERT_TRUE(published);
  const Seq at = (*published)["seq"].as_uint64();
  ledger_.Append(
      std::vector<std::string>{Void("v-rs", "2025-01-01", "ruleset-convention-2024-v2")});
  EXPECT_EQ(version_at(before), 1);
  EXPECT_EQ(version_at(at), 2);
  EXPECT_EQ(version_at(log().head().seq), 1);
  auto rules = RulesetsAt(log(), at);
  ASSERT_TRUE(rules);
  const FeeRow* fee =
      (*rules)->Find("convention-2024")->Fee(FeeItem::kIndividualSession, ToDay({2025, 2, 1}));
  ASSERT_NE(fee, nullptr);
  EXPECT_EQ(fee->cents, Cents{8900});
}

TEST_F(ReplayCommandsTest, CloseAppendsOneAtomicBatchOnce) {
  auto closed = CloseMonth(log(), M("2025-01"), RecordingDay());
  ASSERT_TRUE(closed) << closed.error().ToString();
  const json::object answer = CloseAnswerJson(*closed);
  const json::object* out = &answer;
  EXPECT_EQ(out->at("appended").to_number<int64_t>(), 2);
  EXPECT_EQ(out->at("last_seq").to_number<int64_t>(), static_cast<int64_t>(log().head().seq));
  EXPECT_EQ(out->at("invoices").as_array()[0].as_object().at("ruleset").as_string(),
            "convention-2024@1");
  EXPECT_EQ(out->at("totals").as_object().at("fee_cents").as_int64(), 2 * 8669);
  const Seq head = log().head().seq;
  auto again = CloseMonth(log(), M("2025-01"), RecordingDay());
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  EXPECT_EQ(log().head().seq, head);

  ASSERT_TRUE(PublishRuleset(log(), Revision2024(2, "2025-01-01", 8900), "v2", RecordingDay()));
  auto regs = RegularisationsAt(log(), std::nullopt, std::nullopt, kAtHead);
  ASSERT_TRUE(regs) << regs.error().ToString();
  EXPECT_EQ(json::serialize(regs->at("totals")),
            R"({"delta":{"fee_cents":462,"copay_cents":0,"insurer_cents":462}})");
  // As the ledger knew it before the revision: nothing to regularise.
  auto before = RegularisationsAt(log(), std::nullopt, std::nullopt, head);
  ASSERT_TRUE(before);
  EXPECT_TRUE(before->at("regularisations").as_array().empty());
}

TEST_F(ReplayCommandsTest, CheckpointsProveTheChainUpToThem) {
  const json::object cp = CheckpointJson(log());
  const std::string text =
      std::to_string(cp.at("seq").as_uint64()) + ":" + std::string(cp.at("head").as_string());
  auto parsed = ParseCheckpoint(text);
  ASSERT_TRUE(parsed);
  ledger_.Append(std::vector<std::string>{Session("later", "2025-03-03", "P1", "N-A", kB1)});
  auto checked = CheckCheckpoint(log(), *parsed);
  ASSERT_TRUE(checked);
  const json::object ok = CheckpointCheckJson(*checked);
  EXPECT_TRUE(ok.at("ok").as_bool()) << json::serialize(ok);

  Checkpoint wrong = *parsed;
  wrong.hash[0] ^= 1;
  auto bad_check = CheckCheckpoint(log(), wrong);
  ASSERT_TRUE(bad_check);
  const json::object bad = CheckpointCheckJson(*bad_check);
  EXPECT_FALSE(bad.at("ok").as_bool());
  EXPECT_EQ(bad.at("found").as_string(), cp.at("head").as_string());
  Checkpoint beyond = *parsed;
  beyond.seq = 1000;
  EXPECT_FALSE(CheckpointCheckJson(*CheckCheckpoint(log(), beyond)).at("ok").as_bool());

  for (const char* text : {"", "12", ":ab", "x:00", "5:abc", "0:" /* + 64 zeros below */}) {
    EXPECT_FALSE(ParseCheckpoint(text)) << text;
  }
  EXPECT_FALSE(ParseCheckpoint("0:" + std::string(64, '0')));
}

TEST_F(ReplayCommandsTest, ExplainNamesWhatItCannotExplain) {
  auto unknown = ExplainEventId(log(), "no-such-id", kAtHead);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
  auto enrolment = ExplainEventId(log(), "enr-P1-N-A", kAtHead);
  ASSERT_FALSE(enrolment);
  EXPECT_EQ(enrolment.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(enrolment.error().message.find("provider.enrolled"), std::string::npos);
  auto early = ExplainEventId(log(), "b2-2", 3);
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error().code, ErrorCode::kNotFound);
  auto x = ExplainEventId(log(), "b2-2", kAtHead);
  ASSERT_TRUE(x) << x.error().ToString();
  EXPECT_EQ(x->at("lines").as_array()[0].as_object().at("copay_cents").as_int64(), 400);
}

TEST_F(ReplayCommandsTest, ExportHasOneRowPerLineForAllProviders) {
  auto csv = ExportMonth(log(), M("2025-01"), ExportFormat::kCsv, kAtHead);
  ASSERT_TRUE(csv);
  EXPECT_EQ(*csv,
            "provider_id,month,event_id,seq,occurred_on,network_id,item,fee_cents,copay_cents,"
            "insurer_cents,billable,reason,rule\n"
            "P1,2025-01,b1-2,5,2025-01-06,N-A,individual_session,8669,1100,7569,true,,"
            "convention-2024@1:individual_session\n"
            "P3,2025-01,b2-1,6,2025-01-10,N-A,individual_session,8669,0,8669,true,,"
            "convention-2024@1:individual_session\n");
  auto js = ExportMonth(log(), M("2025-01"), ExportFormat::kJson, kAtHead);
  ASSERT_TRUE(js);
  const json::value v = json::parse(*js);
  EXPECT_EQ(v.at("invoices").as_array().size(), 2u);
  auto none = ExportMonth(log(), M("2020-01"), ExportFormat::kCsv, kAtHead);
  ASSERT_TRUE(none);
  EXPECT_EQ(std::count(none->begin(), none->end(), '\n'), 1);  // the header only
}

// On a generated national history (both conventions, groups, missions, concertations, voids),
// an indexation of the individual session from 2025-01-01 moves exactly the billable individual
// sessions dated from then, by 231 cents each, and nothing else.
TEST(ReplayGenerated, AnIndexationMovesExactlyTheLaterIndividualSessions) {
  TestLedger ledger;
  GeneratorOptions o;
  o.seed = 7;
  o.events_target = 15000;
  std::vector<std::string> lines;
  ASSERT_TRUE(GenerateHistory(o, [&](std::string_view l) { lines.emplace_back(l); }));
  ledger.Append(lines);
  const History h = ledger.Load();
  const Projection p = Project(h, RulesetCatalog());
  int64_t later = 0;
  Cents insurer;
  for (const Line& l : p.lines) {
    if (l.billable()) insurer += l.insurer;
    later += l.billable() && l.item == FeeItem::kIndividualSession && l.day >= D("2025-01-01");
  }
  ASSERT_GT(later, 100);
  auto r = ReplayRuleset(ledger.log(), Revision2024(2, "2025-01-01", 8900), std::nullopt);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->total_before.insurer, insurer);
  EXPECT_EQ((r->total_after - r->total_before).fee.value, 231 * later);
  EXPECT_EQ((r->total_after - r->total_before).copay.value, 0);
  EXPECT_EQ(r->lines_repriced, later);
  EXPECT_EQ(r->billability_changed, 0);
  Cents by_network;
  for (const NetworkYearDiff& d : r->network_years) {
    EXPECT_GE(d.year, 2025);
    by_network += d.after - d.before;
  }
  EXPECT_EQ(by_network.value, 231 * later);
  for (const ProviderMonthDiff& d : r->provider_months) {
    EXPECT_GE(d.month, M("2025-01"));
    EXPECT_EQ((d.after - d.before).fee.value, 231 * d.lines_repriced);
  }
  // And the ruleset in force replays to nothing.
  auto same = ReplayRuleset(ledger.log(), ShippedDocument("convention-2021"), std::nullopt);
  ASSERT_TRUE(same);
  EXPECT_TRUE(same->provider_months.empty());
}

// --- ReplayPacked against the reference -------------------------------------------------------

// Every fee row of `item` at `cents`.
json::object WithFee(json::object doc, std::string_view item, int64_t cents) {
  for (json::value& v : doc.at("fees").as_array()) {
    if (v.as_object().at("item").as_string() == item) v.as_object()["cents"] = cents;
  }
  return doc;
}

// A generated history (both conventions, groups, community interventions, missions,
// concertations, voids) with more voids on top: of an individual session, of a group session,
// and a void of a void (its target stands again); and a published revision of 2021 that the
// candidates of 2021 must supersede. Its middle third is appended without facts, as a version
// before facts wrote logs, so that the packed loads read facts chunks (of 997 events, split
// across readers) and events.
class ReplayPackedTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ledger_ = new TestLedger();
    GeneratorOptions o;
    o.seed = 11;
    o.events_target = 30000;
    std::vector<std::string> lines;
    ASSERT_TRUE(GenerateHistory(o, [&](std::string_view l) { lines.emplace_back(l); }));
    std::string individual, group;
    for (const std::string& l : lines) {
      const json::object e = json::parse(l).as_object();
      const std::string id(e.at("id").as_string());
      if (e.at("type") == "session.individual" && e.at("occurred_on").as_string() > "2025-02-01")
        individual = id;
      if (e.at("type") == "session.group" && e.at("occurred_on").as_string() > "2024-06-01" &&
          group.empty())
        group = id;
    }
    ASSERT_FALSE(individual.empty());
    ASSERT_FALSE(group.empty());
    lines.push_back(Void("t-void-1", "2026-07-01", individual));
    lines.push_back(Void("t-void-2", "2026-07-01", group));
    lines.push_back(Void("t-void-3", "2026-07-02", "t-void-1"));
    json::object v2021 = WithFee(ShippedDocument("convention-2021"), "individual_session", 7600);
    v2021["version"] = 2;
    lines.push_back(Publish("t-rs-2021-v2", "2021-09-01", v2021));
    const size_t third = lines.size() / 3;
    LogOptions chunked;
    chunked.chunk_events_max = 997;
    LogOptions no_facts;
    no_facts.write_facts = false;
    ledger_->Reopen(chunked);
    ledger_->Append(std::vector<std::string>(lines.begin(), lines.begin() + third));
    ledger_->Reopen(no_facts);
    ledger_->Append(std::vector<std::string>(lines.begin() + third, lines.begin() + 2 * third));
    ledger_->Reopen(chunked);
    ledger_->Append(std::vector<std::string>(lines.begin() + 2 * third, lines.end()));
    auto verified = ledger_->log().Verify();
    ASSERT_TRUE(verified && verified->ok);  // the facts written say what the events say
  }
  static void TearDownTestSuite() {
    delete ledger_;
    ledger_ = nullptr;
  }

  // The reference report and the packed ones (on 1 to 3 threads) serialised; returns how many
  // provider-months differ.
  size_t ExpectSameReports(const json::object& doc, std::optional<CivilDay> from) {
    const History h = ledger_->Load();
    auto reference = Replay(h, RulesetCatalog(), Parsed(doc), from);
    EXPECT_TRUE(reference) << reference.error().ToString();
    if (!reference) return 0;
    const std::string want = json::serialize(ReplayReportJson(*reference));
    for (int threads = 1; threads <= 3; ++threads) {
      auto packed = PackedHistory::Load(ledger_->log(), threads);
      EXPECT_TRUE(packed) << packed.error().ToString();
      if (!packed) return 0;
      EXPECT_EQ(packed->care_events(), h.care.size());
      EXPECT_EQ(packed->last_seq(), h.last_seq());
      auto r = ReplayPacked(*packed, RulesetCatalog(), Parsed(doc), from, threads);
      EXPECT_TRUE(r) << r.error().ToString();
      if (!r) return 0;
      EXPECT_EQ(json::serialize(ReplayReportJson(*r)), want) << threads << " threads";
      EXPECT_EQ(ReplayReportText(*r), ReplayReportText(*reference));
    }
    auto command = ReplayRuleset(ledger_->log(), doc, from);
    EXPECT_TRUE(command) << command.error().ToString();
    if (command) {
      EXPECT_EQ(json::serialize(ReplayReportJson(*command)), want);
    }
    return reference->provider_months.size();
  }

  static TestLedger* ledger_;
};
TestLedger* ReplayPackedTest::ledger_ = nullptr;

TEST_F(ReplayPackedTest, ARevisionOfEveryDate) {
  json::object doc = WithFee(ShippedDocument("convention-2024"), "individual_session", 8900);
  doc["version"] = 2;
  EXPECT_GT(ExpectSameReports(doc, std::nullopt), 100u);
}

TEST_F(ReplayPackedTest, ARevisionFromMidHistoryWithOtherCounters) {
  json::object doc = Revision2024(2, "2025-01-01", 8900);
  doc["counters"].as_object()["adults"].as_object()["support_individual"] = 6;
  doc["copay"].as_object()["group_participant_cents"] = 300;
  EXPECT_GT(ExpectSameReports(doc, std::nullopt), 100u);
  EXPECT_GT(ExpectSameReports(doc, D("2025-03-01")), 50u);
  EXPECT_EQ(ExpectSameReports(doc, D("2030-01-01")), 0u);  // nothing that late
}

TEST_F(ReplayPackedTest, ARevisionOfTheEarlierConventionSupersedesThePublishedOne) {
  json::object doc =
      WithFee(ShippedDocument("convention-2021"), "group_session_psychologist", 21000);
  doc = WithFee(std::move(doc), "individual_session", 7700);
  doc["version"] = 3;
  EXPECT_GT(ExpectSameReports(doc, std::nullopt), 100u);
  EXPECT_GT(ExpectSameReports(doc, D("2023-01-01")), 10u);
}

TEST_F(ReplayPackedTest, ANewRulesetIdAndTheRulesetInForce) {
  json::object doc = Revision2024(1, "2025-07-01", 9000);
  doc["id"] = "indexation-2025";
  doc["valid_from"] = "2025-07-01";
  json::array fees;
  for (const json::value& v : doc.at("fees").as_array()) {
    if (v.as_object().at("from").as_string() >= "2025-07-01") fees.push_back(v);
  }
  doc["fees"] = std::move(fees);  // groups, community and missions no longer paid from then
  EXPECT_GT(ExpectSameReports(doc, std::nullopt), 10u);
  EXPECT_EQ(ExpectSameReports(ShippedDocument("convention-2024"), std::nullopt), 0u);
  json::object published = WithFee(ShippedDocument("convention-2021"), "individual_session", 7600);
  published["version"] = 2;
  EXPECT_EQ(ExpectSameReports(published, D("2022-06-01")), 0u);
}

}  // namespace
}  // namespace ledger
