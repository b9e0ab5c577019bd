// The network view over real HTTP (shared/domain/interfaces.md, "Network view"), on a generated
// history: the networks and their providers, the network's month against the per-provider
// invoices a coordinator sees, CSV against JSON, the balance's monthly series, a month's lines
// paged, answers as of an earlier seq, and the strictness of every route (unknown parameters,
// unknown ids, HEAD, 405, error codes).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "api/server/routes.h"
#include "tests/ledgerd_harness.h"

namespace ledger {
namespace {

using namespace ledgerd_testing;  // NOLINT: the harness

// `ledgerctl generate` output, one event a line.
std::vector<std::string> Generated(int seed, int events, const std::string& dir) {
  const std::string file = dir + "/generated.jsonl";
  const std::string cmd = std::string(LEDGERCTL_BINARY) + " generate --seed " +
                          std::to_string(seed) + " --events " + std::to_string(events) + " --out " +
                          file;
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream in(file);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

int64_t Cents(const json::value& v, const char* key) { return v.at(key).to_number<int64_t>(); }

// Splits CSV text into rows of fields (the ledger's CSV has no quoted fields).
std::vector<std::vector<std::string>> Csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> row;
    std::string field;
    std::istringstream fields(line);
    while (std::getline(fields, field, ',')) row.push_back(field);
    if (!line.empty() && line.back() == ',') row.push_back("");
    rows.push_back(std::move(row));
  }
  return rows;
}

class NetworkViewTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new TestServer(TestOptions(), nullptr, {"N-ADULT-01", "N-CHILD-01"});
    server_->Seed(Generated(7, 4000, server_->dir()));
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static TestServer& s() { return *server_; }
  static const Tokens& t() { return server_->tokens(); }
  static TestServer* server_;
};
TestServer* NetworkViewTest::server_ = nullptr;

TEST_F(NetworkViewTest, NetworksAndTheirProviders) {
  Client c(s().port());
  Reply all = c.Get("/v1/networks", t().auditor);
  ASSERT_EQ(all.status, 200) << all;
  const json::value all_body = all.Json();
  const json::array& networks = all_body.at("networks").as_array();
  EXPECT_EQ(networks.size(), 32u);
  std::set<std::string> ids;
  for (const json::value& n : networks) {
    ids.insert(std::string(n.at("network_id").as_string()));
    EXPECT_FALSE(n.at("name").as_string().empty());
    const std::string population(n.at("population").as_string());
    EXPECT_TRUE(population == "adults" || population == "children" || population == "mixed");
  }
  EXPECT_EQ(ids.size(), 32u);
  // A coordinator: theirs alone.
  Reply mine = c.Get("/v1/networks", t().coordinators.at("N-ADULT-01"));
  ASSERT_EQ(mine.status, 200) << mine;
  ASSERT_EQ(mine.Json().at("networks").as_array().size(), 1u);
  EXPECT_EQ(mine.Json().at("networks").at(0).at("network_id"), "N-ADULT-01");

  // Providers: ever enrolled, or on a date; each enrolled on a date before it and not left.
  Reply ever = c.Get("/v1/networks/N-ADULT-01/providers", t().coordinators.at("N-ADULT-01"));
  ASSERT_EQ(ever.status, 200) << ever;
  const json::value ever_body = ever.Json();
  const json::array& listed = ever_body.at("providers").as_array();
  ASSERT_GE(listed.size(), 2u);
  EXPECT_TRUE(ever.Json().at("on").is_null());
  EXPECT_TRUE(ever.Json().at("next_cursor").is_null());
  Reply on = c.Get("/v1/networks/N-ADULT-01/providers?on=2025-03-15", t().auditor);
  ASSERT_EQ(on.status, 200) << on;
  const json::value on_body = on.Json();
  for (const json::value& p : on_body.at("providers").as_array()) {
    EXPECT_LE(std::string(p.at("enrolled_on").as_string()), "2025-03-15");
    if (!p.at("left_on").is_null()) {
      EXPECT_GE(std::string(p.at("left_on").as_string()), "2025-03-15");
    }
  }
  // Paged: pages of one, following next_cursor, give the whole list in order.
  std::vector<std::string> paged;
  std::string cursor;
  for (int guard = 0; guard < 1000; ++guard) {
    Reply page = c.Get(
        "/v1/networks/N-ADULT-01/providers?limit=1" + (cursor.empty() ? "" : "&cursor=" + cursor),
        t().auditor);
    ASSERT_EQ(page.status, 200) << page;
    const json::value page_body = page.Json();
    for (const json::value& p : page_body.at("providers").as_array()) {
      paged.emplace_back(p.at("provider_id").as_string());
    }
    if (page.Json().at("next_cursor").is_null()) break;
    cursor = std::string(page.Json().at("next_cursor").as_string());
  }
  ASSERT_EQ(paged.size(), listed.size());
  for (size_t i = 0; i < paged.size(); ++i) {
    EXPECT_EQ(paged[i], std::string(listed[i].at("provider_id").as_string()));
  }
}

// The network's month equals the per-provider invoices as that network's coordinator sees them,
// to the cent, and its CSV adds up to its JSON.
TEST_F(NetworkViewTest, TheNetworkMonthIsTheSumOfItsProvidersInvoices) {
  Client c(s().port());
  int months_with_lines = 0;
  for (const char* network : {"N-ADULT-01", "N-CHILD-01"}) {
    const std::string coordinator = t().coordinators.at(network);
    for (const char* month : {"2023-03", "2024-05", "2025-03", "2025-11"}) {
      SCOPED_TRACE(std::string(network) + " " + month);
      const std::string path = std::string("/v1/networks/") + network + "/invoices/" + month;
      Reply r = c.Get(path, coordinator);
      ASSERT_EQ(r.status, 200) << r;
      const json::value m = r.Json();
      EXPECT_EQ(m.at("network_id"), network);
      EXPECT_EQ(m.at("month"), month);
      EXPECT_EQ(c.Get(path, t().auditor).body, r.body);  // the same for an auditor
      int64_t fee = 0, copay = 0, insurer = 0, billable = 0, unbillable = 0;
      std::map<std::string, int64_t> reasons;
      for (const json::value& p : m.at("providers").as_array()) {
        const std::string provider(p.at("provider_id").as_string());
        Reply inv = c.Get("/v1/providers/" + provider + "/invoices/" + month, coordinator);
        ASSERT_EQ(inv.status, 200) << inv;
        const json::value invoice = inv.Json();
        EXPECT_EQ(invoice.at("totals"), p.at("totals")) << provider;
        EXPECT_EQ(invoice.at("billable_lines"), p.at("billable_lines")) << provider;
        EXPECT_EQ(invoice.at("unbillable_lines"), p.at("unbillable_lines")) << provider;
        std::map<std::string, int64_t> provider_reasons;
        for (const json::value& l : invoice.at("lines").as_array()) {
          EXPECT_EQ(l.at("network_id"), network);
          if (!l.at("billable").as_bool())
            ++provider_reasons[std::string(l.at("reason").as_string())];
        }
        for (const auto& [reason, n] : provider_reasons) {
          EXPECT_EQ(p.at("unbillable_by_reason").at(reason), n) << provider << " " << reason;
          reasons[reason] += n;
        }
        EXPECT_EQ(p.at("unbillable_by_reason").as_object().size(), provider_reasons.size());
        fee += Cents(p.at("totals"), "fee_cents");
        copay += Cents(p.at("totals"), "copay_cents");
        insurer += Cents(p.at("totals"), "insurer_cents");
        billable += p.at("billable_lines").to_number<int64_t>();
        unbillable += p.at("unbillable_lines").to_number<int64_t>();
      }
      EXPECT_EQ(Cents(m.at("totals"), "fee_cents"), fee);
      EXPECT_EQ(Cents(m.at("totals"), "copay_cents"), copay);
      EXPECT_EQ(Cents(m.at("totals"), "insurer_cents"), insurer);
      EXPECT_EQ(fee, copay + insurer);
      EXPECT_EQ(m.at("billable_lines"), billable);
      EXPECT_EQ(m.at("unbillable_lines"), unbillable);
      for (const auto& [reason, n] : reasons) EXPECT_EQ(m.at("unbillable_by_reason").at(reason), n);
      if (billable + unbillable > 0) ++months_with_lines;

      // CSV: every line of every provider of that network-month, adding up to the JSON.
      Reply csv = c.Get(path + "?format=csv", coordinator);
      ASSERT_EQ(csv.status, 200) << csv;
      EXPECT_EQ(csv.Header("content-type").rfind("text/csv", 0), 0u) << csv.Header("content-type");
      const auto rows = Csv(csv.body);
      ASSERT_FALSE(rows.empty());
      EXPECT_EQ(rows[0][0], "provider_id");
      int64_t csv_fee = 0, csv_insurer = 0, csv_lines = 0;
      for (size_t i = 1; i < rows.size(); ++i) {
        ASSERT_EQ(rows[i].size(), 13u) << csv.body;
        EXPECT_EQ(rows[i][5], network);
        ++csv_lines;
        if (rows[i][10] == "true") {
          csv_fee += std::stoll(rows[i][7]);
          csv_insurer += std::stoll(rows[i][9]);
        }
      }
      EXPECT_EQ(csv_fee, fee);
      EXPECT_EQ(csv_insurer, insurer);
      EXPECT_EQ(csv_lines, billable + unbillable);
    }
  }
  EXPECT_GE(months_with_lines, 4);  // the figures above were not all zeros
}

TEST_F(NetworkViewTest, CsvByAcceptHeaderIsStreamedWhole) {
  Client c(s().port());
  const std::string path = "/v1/networks/N-ADULT-01/invoices/2025-03";
  // Accept: text/csv gives what ?format=csv gives, chunked.
  boost::asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), s().port()));
  http::request<http::string_body> req{http::verb::get, path, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::authorization, Bearer(t().auditor));
  req.set(http::field::accept, "text/csv");
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_TRUE(res.chunked());
  EXPECT_EQ(res.body(), c.Get(path + "?format=csv", t().auditor).body);
  // A month export as CSV is streamed too, and has every line of the month.
  Reply lines = c.Get("/v1/months/2025-03/lines?format=csv", t().auditor);
  ASSERT_EQ(lines.status, 200) << lines;
  Reply json_lines = c.Get("/v1/months/2025-03/lines?limit=1000", t().auditor);
  ASSERT_EQ(json_lines.status, 200) << json_lines;
  size_t count = 0;
  const json::value json_body = json_lines.Json();
  for (const json::value& inv : json_body.at("invoices").as_array()) {
    count += inv.at("lines").as_array().size();
  }
  EXPECT_EQ(Csv(lines.body).size(), count + 1);  // and the header
}

TEST_F(NetworkViewTest, MonthLinesArePagedByProvider) {
  Client c(s().port());
  Reply whole = c.Get("/v1/months/2025-03/lines?limit=1000", t().operator_);
  ASSERT_EQ(whole.status, 200) << whole;
  EXPECT_TRUE(whole.Json().at("next_cursor").is_null());
  const json::value whole_body = whole.Json();
  const json::array& all = whole_body.at("invoices").as_array();
  ASSERT_GE(all.size(), 3u);
  json::array paged;
  std::string cursor;
  for (int guard = 0; guard < 1000; ++guard) {
    Reply page =
        c.Get("/v1/months/2025-03/lines?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor),
              t().auditor);
    ASSERT_EQ(page.status, 200) << page;
    const json::value page_body = page.Json();
    for (const json::value& inv : page_body.at("invoices").as_array()) paged.push_back(inv);
    if (page.Json().at("next_cursor").is_null()) break;
    cursor = std::string(page.Json().at("next_cursor").as_string());
  }
  EXPECT_EQ(paged, all);
  // Coordinators may not export a whole month.
  EXPECT_EQ(c.Get("/v1/months/2025-03/lines", t().coordinators.at("N-ADULT-01")).status, 403);
}

TEST_F(NetworkViewTest, TheBalanceHasItsMonthlySeries) {
  Client c(s().port());
  Reply r = c.Get("/v1/networks/N-ADULT-01/balances/2025", t().coordinators.at("N-ADULT-01"));
  ASSERT_EQ(r.status, 200) << r;
  const json::value b = r.Json();
  const json::array& months = b.at("months").as_array();
  ASSERT_FALSE(months.empty());
  EXPECT_EQ(months.front().at("month"), "2025-01");
  EXPECT_EQ(std::string(months.back().at("month").as_string()),
            std::string(b.at("as_of_care_date").as_string()).substr(0, 7));
  int64_t cumulative = 0;
  for (const json::value& m : months) {
    const int64_t consumed = Cents(m, "consumed_cents");
    cumulative += consumed;
    EXPECT_EQ(Cents(m, "cumulative_cents"), cumulative);
    int64_t by_function = 0;
    for (const auto& [f, cents] : m.at("by_function").as_object()) {
      by_function += cents.to_number<int64_t>();
    }
    EXPECT_EQ(by_function, consumed) << m;
    EXPECT_EQ(m.at("by_function").as_object().size(), 5u);
    // Each month's consumption is the network month's insurer share.
    Reply month = c.Get(
        "/v1/networks/N-ADULT-01/invoices/" + std::string(m.at("month").as_string()), t().auditor);
    EXPECT_EQ(Cents(month.Json().at("totals"), "insurer_cents"), consumed);
  }
  EXPECT_EQ(cumulative, Cents(b, "consumed_cents"));
  EXPECT_EQ(Cents(b, "remaining_cents"), Cents(b, "allocated_cents") - cumulative);
}

// As of an earlier seq, the network view is folded from the events: at the head it equals the
// persisted projections byte for byte; as_of_time selects the same seq.
TEST_F(NetworkViewTest, AsOfAnswersFoldTheHistory) {
  Client c(s().port());
  const uint64_t head = s().LastSeq();
  for (const std::string& path :
       {std::string("/v1/networks/N-ADULT-01/invoices/2025-03"),
        std::string("/v1/networks/N-ADULT-01/balances/2025"), std::string("/v1/networks"),
        std::string("/v1/networks/N-ADULT-01/providers"),
        std::string("/v1/networks/N-ADULT-01/figures?on=2025-06-30")}) {
    Reply now = c.Get(path, t().auditor);
    ASSERT_EQ(now.status, 200) << now;
    const char sep = path.find('?') == std::string::npos ? '?' : '&';
    Reply folded = c.Get(path + sep + "as_of=" + std::to_string(head), t().auditor);
    ASSERT_EQ(folded.status, 200) << folded;
    EXPECT_EQ(folded.body, now.body) << path;
    EXPECT_EQ(folded.Header("ledger-seq"), std::to_string(head));
  }
  // as_of_time: the seq of the last event recorded at or before it.
  Reply events = c.Get("/v1/events?from=2000&limit=1", t().auditor);
  const std::string at(events.Json().at("events").at(0).at("recorded_at").as_string());
  Reply by_time = c.Get("/v1/networks/N-ADULT-01/balances/2025?as_of_time=" + at, t().auditor);
  ASSERT_EQ(by_time.status, 200) << by_time;
  const uint64_t seq = std::stoull(by_time.Header("ledger-seq"));
  EXPECT_GE(seq, 2000u);  // events recorded in the same microsecond come with it
  Reply by_seq =
      c.Get("/v1/networks/N-ADULT-01/balances/2025?as_of=" + std::to_string(seq), t().auditor);
  EXPECT_EQ(by_time.body, by_seq.body);
  // Both at once, and a mistyped one, are refused: never silently the head.
  EXPECT_EQ(c.Get("/v1/networks?as_of=1&as_of_time=" + at, t().auditor).status, 400);
  Reply typo = c.Get("/v1/networks/N-ADULT-01/balances/2025?asof=12000", t().auditor);
  EXPECT_EQ(typo.status, 400);
  EXPECT_EQ(typo.ErrorField("field"), "asof");
  EXPECT_EQ(c.Get("/v1/networks?as_of_time=yesterday", t().auditor).ErrorField("field"),
            "as_of_time");
}

TEST_F(NetworkViewTest, UnknownIdsAre404AndOtherNetworksAre403) {
  Client c(s().port());
  const std::string coordinator = t().coordinators.at("N-ADULT-01");
  for (const char* path :
       {"/v1/networks/N-NOWHERE/invoices/2025-03", "/v1/networks/N-NOWHERE/balances/2025",
        "/v1/networks/N-NOWHERE/providers", "/v1/networks/N-NOWHERE/figures",
        "/v1/providers/P-NOBODY/invoices/2025-03", "/v1/providers/P-NOBODY/regularisations",
        "/v1/events/no-such-event/explain", "/v1/beneficiaries/93051822361/quota?on=2025-01-01"}) {
    Reply r = c.Get(path, t().auditor);
    EXPECT_EQ(r.status, 404) << path << ": " << r;
    EXPECT_EQ(r.ErrorCode(), "not_found") << path;
  }
  for (const char* path :
       {"/v1/networks/N-CHILD-01/invoices/2025-03", "/v1/networks/N-CHILD-01/balances/2025",
        "/v1/networks/N-CHILD-01/providers", "/v1/networks/N-CHILD-01/figures",
        "/v1/networks/N-NOWHERE/invoices/2025-03"}) {
    Reply r = c.Get(path, coordinator);
    EXPECT_EQ(r.status, 403) << path << ": " << r;
    EXPECT_EQ(r.ErrorCode(), "forbidden") << path;
  }
}

TEST_F(NetworkViewTest, EveryRouteIsStrict) {
  Client c(s().port());
  // Unknown query parameters, on every route that takes a token.
  for (const Route& route : Routes()) {
    if (route.roles.empty() || route.method != Method::kGet) continue;
    std::string path = route.pattern;
    for (auto [from, to] : {std::pair{"{id}", "N-ADULT-01"}, std::pair{"{month}", "2025-03"},
                            std::pair{"{year}", "2025"}, std::pair{"{niss}", "90031210192"}}) {
      if (size_t at = path.find(from); at != std::string::npos) path.replace(at, strlen(from), to);
    }
    Reply r = c.Get(path + "?bogus=1", t().operator_);
    EXPECT_EQ(r.status, 400) << path << ": " << r;
    EXPECT_EQ(r.ErrorField("field"), "bogus") << path;
  }
  // Malformed numbers and years.
  for (const char* path :
       {"/v1/events?from=-1", "/v1/events?limit=1e3", "/v1/events?from=18446744073709551616",
        "/v1/networks/N-ADULT-01/balances/+2024", "/v1/networks/N-ADULT-01/balances/02024",
        "/v1/networks?as_of=-1", "/v1/networks/N-ADULT-01/providers?limit=0"}) {
    EXPECT_EQ(c.Get(path, t().auditor).status, 400) << path;
  }
  // 405 names the methods the path has.
  Reply wrong = c.Call(http::verb::delete_, "/v1/events", Bearer(t().operator_));
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.ErrorCode(), "method_not_allowed");
  EXPECT_EQ(wrong.Header("allow"), "GET, HEAD, POST");
  Reply post = c.Call(http::verb::post, "/v1/networks", Bearer(t().operator_), "{}");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.Header("allow"), "GET, HEAD");
  // HEAD: GET's status and headers, no body.
  Reply get = c.Get("/v1/networks/N-ADULT-01/balances/2025", t().auditor);
  Reply head =
      c.Call(http::verb::head, "/v1/networks/N-ADULT-01/balances/2025", Bearer(t().auditor));
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(head.Header("content-length"), std::to_string(get.body.size()));
  EXPECT_EQ(head.Header("ledger-seq"), get.Header("ledger-seq"));
  EXPECT_EQ(c.Get("/healthz").status, 200);  // the connection is still in step
  // Case-insensitive scheme (RFC 9110) and Content-Type.
  EXPECT_EQ(c.Call(http::verb::get, "/v1/me", "bearer " + t().auditor).status, 200);
  EXPECT_EQ(c.Call(http::verb::get, "/v1/me", "BEARER " + t().auditor).status, 200);
  Reply me = c.Get("/v1/me", t().coordinators.at("N-ADULT-01"));
  EXPECT_EQ(me.Json().at("role"), "coordinator");
  EXPECT_EQ(me.Json().at("network_id"), "N-ADULT-01");
}

}  // namespace
}  // namespace ledger
