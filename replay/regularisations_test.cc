// Closed months (invoices.h) and regularisations (regularisations.h): what `close` issues, and
// after a tariff revision or a void, regularisation = current - issued, billed in the next open
// month.
#include "replay/regularisations.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "ledger/sha256.h"
#include "projections/records.h"
#include "projections/views.h"
#include "replay/invoices.h"
#include "replay/testing/test_ledger.h"

namespace ledger {
namespace {

using namespace testing_replay;  // NOLINT: test helpers

const Ben kB1 = MakeBen("1990-03-12", 1);
const Ben kB2 = MakeBen("1985-07-01", 2, true);
const Ben kB4 = MakeBen("1970-01-20", 4);
const Ben kB5 = MakeBen("1975-09-09", 5);

std::vector<std::string> World() {
  return {NetworkReg("N-A", "adults"),
          Enrol("P1", "N-A"),
          Enrol("P2", "N-A", "other"),
          Enrol("P3", "N-A"),
          Session("b1-1", "2024-12-02", "P1", "N-A", kB1),
          Session("b1-2", "2025-01-06", "P1", "N-A", kB1),
          Session("b1-3", "2025-01-20", "P1", "N-A", kB1),
          Session("b1-4", "2025-02-03", "P1", "N-A", kB1),
          Session("b1-5", "2025-02-17", "P1", "N-A", kB1),
          Session("b2-1", "2025-01-10", "P3", "N-A", kB2),
          Session("b2-2", "2025-01-24", "P3", "N-A", kB2),
          Mission("m-1", "2025-01-15", "P3", "N-A", 45),
          Group("g-1", "2025-02-20", "N-A", {{"P1", "psychologist"}, {"P2", "other"}},
                {kB1, kB2, kB4, kB5})};
}

class ClosedMonthsTest : public ::testing::Test {
 protected:
  void SetUp() override { ledger_.Append(World()); }

  // Closes `month` as `ledgerctl close` does, minus the log plumbing.
  Result<std::vector<json::object>> Close(std::string_view month) {
    const History h = ledger_.Load();
    const Projection p = Project(h, RulesetCatalog());
    auto events = CloseMonthEvents(h, p, M(month), RecordingDay());
    if (events) ledger_.Append(*events);
    return events;
  }
  RegularisationReport Regs(std::optional<int32_t> month = std::nullopt) {
    const History h = ledger_.Load();
    return Regularisations(h, Project(h, RulesetCatalog()), month);
  }
  // The month's invoice of each provider as the ledger computes it now.
  std::map<std::string, MonthInvoice> Now(std::string_view month) {
    const History h = ledger_.Load();
    std::map<std::string, MonthInvoice> out;
    for (MonthInvoice& inv : MonthInvoices(h, Project(h, RulesetCatalog()), M(month))) {
      out[inv.provider_id] = std::move(inv);
    }
    return out;
  }

  TestLedger ledger_;
};

TEST_F(ClosedMonthsTest, CloseIssuesOneInvoicePerProviderWithTheTotalsAsBilled) {
  const std::map<std::string, MonthInvoice> now = Now("2025-01");
  auto events = Close("2025-01");
  ASSERT_TRUE(events) << events.error().ToString();
  ASSERT_EQ(events->size(), 2u);  // P1 and P3; P2 has no line in January
  const json::object& p1 = (*events)[0];
  EXPECT_EQ(p1.at("id").as_string(), "inv-P1-2025-01");
  EXPECT_EQ(p1.at("type").as_string(), "invoice.issued");
  EXPECT_EQ(p1.at("occurred_on").as_string(), "2025-01-31");
  EXPECT_EQ(json::serialize(p1.at("ruleset")), R"({"id":"convention-2024","version":1})");
  EXPECT_EQ(p1.at("fee_cents").as_int64(), 2 * 8669);
  EXPECT_EQ(p1.at("copay_cents").as_int64(), 2 * 1100);
  EXPECT_EQ(p1.at("insurer_cents").as_int64(), 2 * 7569);
  EXPECT_EQ(p1.at("lines").as_int64(), 2);
  EXPECT_EQ(p1.at("lines_sha256").as_string(), now.at("P1").lines_sha256);
  const json::object& p3 = (*events)[1];
  EXPECT_EQ(p3.at("id").as_string(), "inv-P3-2025-01");
  // B2's first session is free, the second pays the bim co-pay; the mission is 45/60 of 86.69.
  EXPECT_EQ(p3.at("fee_cents").as_int64(), 8669 + 8669 + 6502);
  EXPECT_EQ(p3.at("copay_cents").as_int64(), 400);
  EXPECT_EQ(p3.at("lines").as_int64(), 3);

  const History h = ledger_.Load();
  ASSERT_EQ(h.issued_invoices.size(), 2u);
  EXPECT_EQ(h.issued_invoices[0].provider_id, "P1");
  EXPECT_EQ(h.issued_invoices[0].month, M("2025-01"));
  EXPECT_EQ(h.issued_invoices[0].fee.value, 2 * 8669);
  EXPECT_EQ(ClosedMonths(h), std::set<int32_t>{M("2025-01")});
}

TEST_F(ClosedMonthsTest, TheLinesDigestIsThatOfTheInvoiceLines) {
  const History h = ledger_.Load();
  const Projection p = Project(h, RulesetCatalog());
  const std::vector<LineRecord> lines = MemoryLines(h, p, "P3", M("2025-01"));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(LinesSha256("P3", M("2025-01"), lines),
            ToHex(Sha256::Of(json::serialize(InvoiceJson(h, p, "P3", M("2025-01")).at("lines")))));
}

TEST_F(ClosedMonthsTest, AMonthIsClosedOnceAndOnlyWhenOver) {
  ASSERT_TRUE(Close("2025-01"));
  auto again = Close("2025-01");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  EXPECT_NE(again.error().message.find("already closed"), std::string::npos);

  const History h = ledger_.Load();
  const Projection p = Project(h, RulesetCatalog());
  auto early = CloseMonthEvents(h, p, M("2025-02"), D("2025-02-28"));
  ASSERT_FALSE(early);
  EXPECT_NE(early.error().message.find("not over"), std::string::npos);
  EXPECT_TRUE(CloseMonthEvents(h, p, M("2025-02"), D("2025-03-01")));
  auto empty = CloseMonthEvents(h, p, M("2023-05"), RecordingDay());
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, ErrorCode::kNotFound);
}

TEST_F(ClosedMonthsTest, AVoidedMonthCanBeClosedAgainUnderNewIds) {
  ASSERT_TRUE(Close("2025-01"));
  ledger_.Append(std::vector<std::string>{Void("v-1", "2025-02-01", "inv-P1-2025-01"),
                                          Void("v-2", "2025-02-01", "inv-P3-2025-01")});
  auto events = Close("2025-01");
  ASSERT_TRUE(events) << events.error().ToString();
  EXPECT_EQ((*events)[0].at("id").as_string(), "inv-P1-2025-01.2");
}

TEST_F(ClosedMonthsTest, NoRegularisationWhileNothingChanged) {
  ASSERT_TRUE(Close("2025-01"));
  ASSERT_TRUE(Close("2025-02"));
  const RegularisationReport r = Regs();
  EXPECT_EQ(r.invoices_checked, 2 + 2);  // January P1 P3; February P1 P2
  EXPECT_TRUE(r.items.empty()) << json::serialize(RegularisationReportJson(r));
  EXPECT_EQ(r.closed_months, (std::vector<int32_t>{M("2025-01"), M("2025-02")}));
}

// Close, publish a revision, and the regularisation of every closed provider-month is the
// difference between the totals now and the totals issued.
TEST_F(ClosedMonthsTest, RegularisationsAfterARevisionAreTheDifferenceInTotals) {
  ASSERT_TRUE(Close("2025-01"));
  ASSERT_TRUE(Close("2025-02"));
  const std::map<std::string, MonthInvoice> jan = Now("2025-01"), feb = Now("2025-02");
  ledger_.Append(std::vector<std::string>{
      Publish("rs-v2", "2024-04-01", Revision2024(2, "2025-01-01", 8900))});
  const std::map<std::string, MonthInvoice> jan2 = Now("2025-01"), feb2 = Now("2025-02");
  const RegularisationReport r = Regs();
  ASSERT_EQ(r.items.size(), 3u) << json::serialize(RegularisationReportJson(r));
  Amounts total;
  for (const Regularisation& g : r.items) {
    const auto& before = g.month == M("2025-01") ? jan : feb;
    const auto& after = g.month == M("2025-01") ? jan2 : feb2;
    EXPECT_EQ(g.issued, before.at(g.provider_id).totals);
    EXPECT_EQ(g.current, after.at(g.provider_id).totals);
    EXPECT_EQ(g.issued_ruleset, "convention-2024@1");
    EXPECT_TRUE(g.lines_changed);
    EXPECT_EQ(g.billed_in, M("2025-03"));  // February is closed too
    total += g.current - g.issued;
  }
  // P1: 2 sessions in January, 2 in February; P3: 2 in January (the mission is unchanged);
  // P2 (group only) has nothing to regularise.
  EXPECT_EQ(r.items[0].provider_id, "P1");
  EXPECT_EQ((r.items[0].current - r.items[0].issued).fee.value, 2 * 231);
  EXPECT_EQ(r.items[1].provider_id, "P3");
  EXPECT_EQ((r.items[1].current - r.items[1].issued).insurer.value, 2 * 231);
  EXPECT_EQ((r.items[2].current - r.items[2].issued).copay.value, 0);
  EXPECT_EQ(total, r.total_delta);
  EXPECT_EQ(r.total_delta.fee.value, 6 * 231);

  const RegularisationReport feb_only = Regs(M("2025-02"));
  ASSERT_EQ(feb_only.items.size(), 1u);
  EXPECT_EQ(feb_only.items[0].month, M("2025-02"));
  EXPECT_EQ(feb_only.invoices_checked, 2);
}

// Closing the next month bills what is due for earlier closed months, in the invoice's
// `regularisations`; it is then no longer due. Voiding that invoice makes it due again.
TEST_F(ClosedMonthsTest, TheNextCloseBillsWhatIsDueOnce) {
  ASSERT_TRUE(Close("2025-01"));
  ledger_.Append(std::vector<std::string>{
      Publish("rs-v2", "2024-04-01", Revision2024(2, "2025-01-01", 8900))});
  ASSERT_EQ(Regs().items.size(), 2u);  // P1 and P3 in January

  const std::map<std::string, MonthInvoice> feb = Now("2025-02");
  auto events = Close("2025-02");
  ASSERT_TRUE(events) << events.error().ToString();
  // P1 (lines and January due), P2 (lines), P3 (January due only: an invoice for it alone).
  ASSERT_EQ(events->size(), 3u);
  const json::object& p1 = (*events)[0];
  EXPECT_EQ(p1.at("provider_id").as_string(), "P1");
  EXPECT_EQ(p1.at("fee_cents").as_int64(), feb.at("P1").totals.fee.value);  // own lines only
  ASSERT_TRUE(p1.contains("regularisations"));
  EXPECT_EQ(json::serialize(p1.at("regularisations")),
            R"([{"month":"2025-01","fee_cents":462,"copay_cents":0,"insurer_cents":462}])");
  EXPECT_FALSE((*events)[1].contains("regularisations"));  // P2: nothing due
  const json::object& p3 = (*events)[2];
  EXPECT_EQ(p3.at("provider_id").as_string(), "P3");
  EXPECT_EQ(p3.at("lines").as_int64(), 0);
  EXPECT_EQ(p3.at("fee_cents").as_int64(), 0);
  EXPECT_EQ(p3.at("regularisations").at(0).at("fee_cents").as_int64(), 2 * 231);

  // Billed: nothing is due any more; the report says where it was billed.
  RegularisationReport r = Regs();
  EXPECT_TRUE(r.items.empty()) << json::serialize(RegularisationReportJson(r));
  EXPECT_EQ(r.total_delta, Amounts{});

  // A further change to January is due again, net of what was billed.
  ledger_.Append(std::vector<std::string>{Void("v-1", "2025-03-05", "b1-3")});
  r = Regs(M("2025-01"));
  ASSERT_EQ(r.items.size(), 1u) << json::serialize(RegularisationReportJson(r));
  EXPECT_EQ(r.items[0].provider_id, "P1");
  EXPECT_EQ(r.items[0].billed.fee.value, 2 * 231);
  EXPECT_EQ(r.items[0].billed_with, std::vector<std::string>{"inv-P1-2025-02"});
  EXPECT_EQ(r.items[0].due().fee.value, -8900);  // one session less, at the revised fee
  EXPECT_EQ(r.items[0].due(), r.items[0].current - r.items[0].issued - r.items[0].billed);
  EXPECT_EQ(r.items[0].billed_in, M("2025-03"));

  // Voiding February's invoice of P3 un-bills its regularisation.
  ledger_.Append(std::vector<std::string>{Void("v-2", "2025-03-05", "inv-P3-2025-02")});
  r = Regs(M("2025-01"));
  ASSERT_EQ(r.items.size(), 2u) << json::serialize(RegularisationReportJson(r));
  EXPECT_EQ(r.items[1].provider_id, "P3");
  EXPECT_EQ(r.items[1].due().fee.value, 2 * 231);
}

TEST_F(ClosedMonthsTest, RegularisationsAfterAVoidAndALateSession) {
  ASSERT_TRUE(Close("2025-01"));
  const std::map<std::string, MonthInvoice> jan = Now("2025-01");
  // B1's session of 6 January was a mistake; P2 records a mission for January after the close.
  ledger_.Append(std::vector<std::string>{Void("v-1", "2025-02-10", "b1-2"),
                                          Mission("m-late", "2025-01-30", "P2", "N-A", 60)});
  const RegularisationReport r = Regs();
  ASSERT_EQ(r.items.size(), 2u) << json::serialize(RegularisationReportJson(r));
  const Regularisation& p1 = r.items[0];
  EXPECT_EQ(p1.provider_id, "P1");
  EXPECT_EQ(p1.issued, jan.at("P1").totals);
  // One session less; the one of 20 January is now the second of the trajectory (same co-pay).
  EXPECT_EQ((p1.current - p1.issued).fee.value, -8669);
  EXPECT_EQ((p1.current - p1.issued).copay.value, -1100);
  EXPECT_EQ(p1.billed_in, M("2025-02"));
  const Regularisation& p2 = r.items[1];
  EXPECT_EQ(p2.provider_id, "P2");
  EXPECT_TRUE(p2.invoice_ids.empty());  // not invoiced in January: compared with zero
  EXPECT_EQ(p2.issued, Amounts{});
  EXPECT_EQ(p2.current.fee.value, 8669);
  EXPECT_TRUE(p2.lines_changed);
  const json::object j = RegularisationReportJson(r);
  EXPECT_TRUE(j.at("regularisations").as_array()[1].as_object().at("issued_ruleset").is_null());
}

TEST_F(ClosedMonthsTest, AVoidedInvoiceIsNotCompared) {
  ASSERT_TRUE(Close("2025-01"));
  ledger_.Append(std::vector<std::string>{Void("v-1", "2025-02-01", "inv-P3-2025-01"),
                                          Void("v-2", "2025-02-10", "b2-2")});
  const RegularisationReport r = Regs();
  EXPECT_EQ(r.invoices_checked, 1);
  // January is still closed (P1's invoice), so P3's lines there are compared with zero.
  ASSERT_EQ(r.items.size(), 1u);
  EXPECT_EQ(r.items[0].provider_id, "P3");
  EXPECT_TRUE(r.items[0].invoice_ids.empty());
}

TEST(Months, NextOpenMonthSkipsClosedOnes) {
  EXPECT_EQ(AddMonths(202412, 1), 202501);
  EXPECT_EQ(AddMonths(202501, -1), 202412);
  EXPECT_EQ(AddMonths(202403, 22), 202601);
  EXPECT_EQ(NextOpenMonth({202501, 202502, 202504}, 202501), 202503);
  EXPECT_EQ(NextOpenMonth({}, 202412), 202501);
}

}  // namespace
}  // namespace ledger
