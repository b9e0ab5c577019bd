// explain.h: the state an event met, and arithmetic that adds up to the very line the
// projection produced (and the invoice prints).
#include "replay/explain.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "projections/views.h"
#include "replay/testing/test_ledger.h"

namespace ledger {
namespace {

using namespace testing_replay;  // NOLINT: test helpers

const Ben kB1 = MakeBen("1990-03-12", 1);
const Ben kB2 = MakeBen("1985-07-01", 2, true);
const Ben kB3 = MakeBen("2004-05-05", 3);
const Ben kB4 = MakeBen("1970-01-20", 4);
const Ben kB5 = MakeBen("1975-09-09", 5);

class ExplainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<std::string> e = {NetworkReg("N-A", "adults"), NetworkReg("N-C", "children"),
                                  Enrol("P1", "N-A"),          Enrol("P1", "N-C"),
                                  Enrol("P2", "N-A", "other"), Enrol("P3", "N-A")};
    for (int i = 0; i < 9; ++i) {  // the 9th is over the adults' support counter of 8
      e.push_back(Session("b1-" + std::to_string(i + 1), FormatDay(D("2025-01-06") + 7 * i), "P1",
                          "N-A", kB1));
    }
    e.push_back(Session("b2-1", "2025-01-10", "P3", "N-A", kB2));
    e.push_back(Session("b2-2", "2025-01-24", "P3", "N-A", kB2));
    e.push_back(Session("b2-t", "2025-01-25", "P3", "N-A", kB2, "treatment"));  // no assessment
    e.push_back(Assess("a-3", "2025-01-02", "P1", "N-C", kB3));
    e.push_back(Session("b3-1", "2025-02-03", "P1", "N-C", kB3, "treatment"));
    e.push_back(Session("b3-2", "2025-02-10", "P1", "N-C", kB3, "treatment"));
    e.push_back(Group("g-1", "2025-02-20", "N-A", {{"P1", "psychologist"}, {"P2", "other"}},
                      {kB1, kB2, kB4, kB5}));
    e.push_back(Mission("m-1", "2025-01-15", "P3", "N-A", 45));
    e.push_back(Session("x-1", "2025-03-03", "P3", "N-A", kB4));
    e.push_back(Void("v-1", "2025-03-04", "x-1"));
    ledger_.Append(e);
    Reload();
  }
  void Reload() {
    history_ = ledger_.Load();
    projection_ = Project(history_, RulesetCatalog());
  }
  Seq SeqOf(std::string_view id) {
    auto seq = ledger_.log().FindId(id);
    EXPECT_TRUE(seq && seq->has_value()) << id;
    return seq && seq->has_value() ? **seq : 0;
  }
  json::object Explain(std::string_view id) {
    auto r = ExplainEvent(history_, projection_, SeqOf(id));
    EXPECT_TRUE(r) << r.error().ToString();
    return r ? std::move(r).value() : json::object{};
  }
  // The invoice line of the event, as `ledgerctl invoice` prints it.
  json::object InvoiceLine(std::string_view provider, std::string_view month, std::string_view id) {
    const json::object inv = InvoiceJson(history_, projection_, provider, M(month));
    for (const json::value& v : inv.at("lines").as_array()) {
      if (v.as_object().at("event_id").as_string() == id) return v.as_object();
    }
    ADD_FAILURE() << "no line for " << id;
    return {};
  }
  static const json::object& Line0(const json::object& x) {
    return x.at("lines").as_array().at(0).as_object();
  }
  static const json::object& State(const json::object& x, std::string_view key) {
    return x.at("state_before").as_object().at(key).as_object();
  }

  TestLedger ledger_;
  History history_;
  Projection projection_;
};

TEST_F(ExplainTest, IndividualSessionArithmeticAddsUpToTheInvoiceLine) {
  const json::object x = Explain("b1-3");
  EXPECT_EQ(x.at("type").as_string(), "session.individual");
  EXPECT_EQ(x.at("ruleset").as_object().at("id").as_string(), "convention-2024");
  const json::object& t = State(x, "trajectory");
  EXPECT_EQ(t.at("started_on").as_string(), "2025-01-06");
  EXPECT_EQ(t.at("ends_on").as_string(), "2026-01-05");
  EXPECT_EQ(t.at("column").as_string(), "adults");
  EXPECT_EQ(t.at("individual_used_before").as_int64(), 2);
  EXPECT_EQ(t.at("individual_max").as_int64(), 8);
  EXPECT_FALSE(t.at("starts_here").as_bool());
  EXPECT_FALSE(x.at("state_before").as_object().at("first_session").as_bool());
  EXPECT_EQ(State(x, "beneficiary").at("age_on_care_date").as_int64(), 34);
  EXPECT_TRUE(State(x, "provider").at("enrolled_on_care_date").as_bool());

  ASSERT_EQ(x.at("lines").as_array().size(), 1u);
  json::object line = Line0(x);
  const json::object a = line.at("arithmetic").as_object();
  EXPECT_EQ(a.at("copay_rule").as_string(), "standard");
  EXPECT_EQ(a.at("fee").as_object().at("cents").as_int64(), 8669);
  EXPECT_EQ(a.at("fee_cents").as_int64(),
            a.at("copay_cents").as_int64() + a.at("insurer_cents").as_int64());
  EXPECT_EQ(a.at("sum").as_string(), "8669 = 1100 + 7569");
  EXPECT_TRUE(a.at("consistent").as_bool());
  // The line itself is the invoice's line, field for field.
  for (const char* extra : {"arithmetic", "provider_id", "part"}) line.erase(extra);
  EXPECT_EQ(json::serialize(line), json::serialize(InvoiceLine("P1", "2025-01", "b1-3")));
}

TEST_F(ExplainTest, CopayRules) {
  const json::object first = Explain("b1-1");
  EXPECT_TRUE(State(first, "trajectory").at("starts_here").as_bool());
  EXPECT_EQ(Line0(first).at("arithmetic").as_object().at("copay_rule").as_string(),
            "first_individual_session_free");
  EXPECT_EQ(Line0(first).at("insurer_cents").as_int64(), 8669);
  const json::object bim = Explain("b2-2");
  EXPECT_EQ(Line0(bim).at("arithmetic").as_object().at("copay_rule").as_string(), "bim");
  EXPECT_EQ(Line0(bim).at("copay_cents").as_int64(), 400);
  const json::object young = Explain("b3-2");  // 20 years old: no co-pay since 2024-02-01
  EXPECT_EQ(Line0(young).at("arithmetic").as_object().at("copay_rule").as_string(), "young_free");
  EXPECT_EQ(State(young, "trajectory").at("column").as_string(), "children");
  EXPECT_EQ(State(young, "assessment").at("first_on").as_string(), "2025-01-02");
  EXPECT_TRUE(State(young, "assessment").at("required").as_bool());
}

TEST_F(ExplainTest, UnbillableLinesShowTheStateThatRefusedThem) {
  const json::object over = Explain("b1-9");
  EXPECT_EQ(Line0(over).at("reason").as_string(), "counter_exhausted");
  EXPECT_EQ(State(over, "trajectory").at("individual_used_before").as_int64(), 8);
  EXPECT_EQ(State(over, "trajectory").at("individual_max").as_int64(), 8);
  EXPECT_TRUE(Line0(over).at("arithmetic").as_object().at("consistent").as_bool());
  const json::object unassessed = Explain("b2-t");
  EXPECT_EQ(Line0(unassessed).at("reason").as_string(), "no_assessment");
  EXPECT_TRUE(State(unassessed, "assessment").at("first_on").is_null());
}

TEST_F(ExplainTest, GroupCopaysAreCollectedByTheFirstPaidFacilitator) {
  const json::object x = Explain("g-1");
  const json::object& s = x.at("state_before").as_object();
  EXPECT_EQ(s.at("participants_in_age_range").as_int64(), 4);
  EXPECT_EQ(s.at("copays_collected_cents").as_int64(), 4 * 250);
  const json::array& lines = x.at("lines").as_array();
  ASSERT_EQ(lines.size(), 2u);
  const json::object& p1 = lines[0].as_object();
  EXPECT_EQ(p1.at("provider_id").as_string(), "P1");
  EXPECT_EQ(p1.at("fee_cents").as_int64(), 23118);
  EXPECT_EQ(p1.at("copay_cents").as_int64(), 1000);
  EXPECT_EQ(p1.at("insurer_cents").as_int64(), 22118);
  const json::object& p2 = lines[1].as_object();
  EXPECT_EQ(p2.at("arithmetic").as_object().at("role").as_string(), "other");
  EXPECT_EQ(p2.at("fee_cents").as_int64(), 14565);
  EXPECT_EQ(p2.at("copay_cents").as_int64(), 0);
}

TEST_F(ExplainTest, MissionsArePaidProRataHalfUp) {
  const json::object x = Explain("m-1");
  const json::object& a = Line0(x).at("arithmetic").as_object();
  EXPECT_EQ(a.at("fee_cents").as_int64(), 6502);  // 8669 * 45 / 60 = 6501.75
  EXPECT_EQ(a.at("pro_rata").as_string(), "8669 x 45 / 60, rounded half-up to the cent");
  EXPECT_TRUE(a.at("consistent").as_bool());
}

TEST_F(ExplainTest, AfterARevisionTheNewVersionAndRowAreNamed) {
  ledger_.Append(std::vector<std::string>{
      Publish("rs-v2", "2024-04-01", Revision2024(2, "2025-01-01", 8900))});
  Reload();
  const json::object x = Explain("b1-3");
  EXPECT_EQ(x.at("ruleset").as_object().at("version").as_int64(), 2);
  const json::object& fee = Line0(x).at("arithmetic").as_object().at("fee").as_object();
  EXPECT_EQ(fee.at("rule").as_string(), "convention-2024@2:individual_session");
  EXPECT_EQ(fee.at("from").as_string(), "2025-01-01");
  EXPECT_EQ(Line0(x).at("arithmetic").as_object().at("sum").as_string(), "8900 = 1100 + 7800");
}

TEST_F(ExplainTest, EveryLineOfEveryCareEventIsReproduced) {
  int lines = 0;
  for (const CareEvent& c : history_.care) {
    auto x = ExplainEvent(history_, projection_, c.seq);
    ASSERT_TRUE(x) << x.error().ToString();
    for (const json::value& l : x->at("lines").as_array()) {
      ++lines;
      EXPECT_TRUE(l.as_object().at("arithmetic").as_object().at("consistent").as_bool())
          << json::serialize(l);
    }
    // No NISS in what auditors read.
    const std::string text = json::serialize(*x);
    for (const Ben* b : {&kB1, &kB2, &kB3, &kB4, &kB5}) {
      EXPECT_EQ(text.find(b->niss), std::string::npos);
    }
  }
  EXPECT_EQ(lines, static_cast<int>(projection_.lines.size()));
}

TEST_F(ExplainTest, VoidedAndNonCareEvents) {
  const json::object voided = Explain("x-1");
  EXPECT_TRUE(voided.at("voided").as_bool());
  EXPECT_TRUE(voided.at("lines").as_array().empty());
  auto r = ExplainEvent(history_, projection_, SeqOf("enr-P1-N-A"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace ledger
