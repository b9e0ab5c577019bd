// The route table's matching and the strict parsing of query strings and values.
#include "api/server/routes.h"

#include <gtest/gtest.h>

namespace ledger {
namespace {

TEST(RoutesTest, MatchesPathsAndTellsWhichMethodsAPathHas) {
  RouteMatch m = MatchRoute("GET", "/v1/providers/P-1/invoices/2024-05");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->id, RouteId::kInvoice);
  EXPECT_EQ(m.params, (std::vector<std::string>{"P-1", "2024-05"}));
  m = MatchRoute("HEAD", "/v1/networks");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->id, RouteId::kNetworks);
  // /v1/events has both methods; DELETE none.
  m = MatchRoute("DELETE", "/v1/events");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(AllowHeader(m.path_methods), "GET, HEAD, POST");
  m = MatchRoute("POST", "/v1/networks");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(AllowHeader(m.path_methods), "GET, HEAD");
  m = MatchRoute("GET", "/v1/nothing");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_TRUE(m.path_methods.empty());
  // An empty path parameter matches nothing.
  EXPECT_EQ(MatchRoute("GET", "/v1/providers//invoices/2024-05").route, nullptr);
  // The dashboard: its page, assets in folders, and the bare addresses.
  m = MatchRoute("GET", "/ui/vendor/lib/chart.js");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.params, (std::vector<std::string>{"vendor/lib/chart.js"}));
  EXPECT_EQ(MatchRoute("GET", "/ui/").params, (std::vector<std::string>{""}));
  EXPECT_EQ(MatchRoute("GET", "/ui").route->id, RouteId::kUiRoot);
  EXPECT_EQ(MatchRoute("GET", "/").route->id, RouteId::kUiRoot);
}

TEST(RoutesTest, QueryParametersAreStrict) {
  const Route& invoice = RouteOf(RouteId::kInvoice);
  auto q = ParseQuery("as_of=12&format=csv", invoice);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->at("as_of"), "12");
  EXPECT_EQ(q->at("format"), "csv");
  // A typo never silently answers the head.
  for (const char* bad : {"asof=12", "as_of_tim=2024-01-01T00:00:00Z", "on=2024-01-01"}) {
    auto r = ParseQuery(bad, invoice);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(r.error().field, std::string(bad).substr(0, std::string(bad).find('=')));
  }
  auto twice = ParseQuery("as_of=1&as_of=2", invoice);
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().field, "as_of");
  EXPECT_FALSE(ParseQuery("as_of=%zz", invoice).ok());
  EXPECT_FALSE(ParseQuery("x=1", RouteOf(RouteId::kHealth)).ok());
  auto decoded = ParseQuery("reason=tariff+revision%202025", RouteOf(RouteId::kPublish));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->at("reason"), "tariff revision 2025");
}

TEST(RoutesTest, NumbersAreWholeDecimalsInRange) {
  EXPECT_EQ(*ParseCount("42", "limit", 1, 100), 42u);
  EXPECT_EQ(*ParseCount("1", "limit", 1, 100), 1u);
  for (const char* bad : {"-1", "0", "101", "1e3", "+5", " 5", "5 ", "0x10", "",
                          "18446744073709551616", "99999999999999999999999"}) {
    auto r = ParseCount(bad, "limit", 1, 100);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().field, "limit");
  }
  EXPECT_EQ(*ParseCount("18446744073709551615", "from", 1, UINT64_MAX), UINT64_MAX);
  EXPECT_FALSE(ParseCount("18446744073709551616", "from", 1, UINT64_MAX).ok());
}

TEST(RoutesTest, YearsMonthsAndDaysAreStrict) {
  EXPECT_EQ(*ParseYear("2024", "year"), 2024);
  for (const char* bad : {"+2024", "02024", "224", "20x4", "1899", " 2024"}) {
    EXPECT_FALSE(ParseYear(bad, "year").ok()) << bad;
  }
  EXPECT_EQ(*ParseMonthParam("2024-05", "month"), 202405);
  for (const char* bad : {"2024-5", "2024-13", "202405", "2024-05-01"}) {
    EXPECT_FALSE(ParseMonthParam(bad, "month").ok()) << bad;
  }
  EXPECT_TRUE(ParseDayParam("2024-02-29", "on").ok());
  EXPECT_FALSE(ParseDayParam("2023-02-29", "on").ok());
}

TEST(RoutesTest, FormatFromTheQueryOrTheAcceptHeader) {
  const Route& r = RouteOf(RouteId::kInvoice);
  EXPECT_EQ(*FormatParam(*ParseQuery("", r), "text/csv"), Format::kCsv);
  EXPECT_EQ(*FormatParam(*ParseQuery("", r), "Text/CSV, application/json;q=0.5"), Format::kCsv);
  // q-values (RFC 9110): JSON when preferred or as liked, CSV refused with q=0.
  EXPECT_EQ(*FormatParam(*ParseQuery("", r), "text/csv;q=0.9, */*"), Format::kJson);
  EXPECT_EQ(*FormatParam(*ParseQuery("", r), "application/json, text/csv;q=0.1"), Format::kJson);
  EXPECT_EQ(*FormatParam(*ParseQuery("", r), "text/csv;q=0"), Format::kJson);
  EXPECT_EQ(*FormatParam(*ParseQuery("", r), "text/*"), Format::kCsv);
  EXPECT_EQ(*FormatParam(*ParseQuery("", r), "application/json"), Format::kJson);
  EXPECT_EQ(*FormatParam(*ParseQuery("format=json", r), "text/csv"), Format::kJson);
  EXPECT_EQ(*FormatParam(*ParseQuery("format=csv", r), ""), Format::kCsv);
  EXPECT_FALSE(FormatParam(*ParseQuery("format=xml", r), "").ok());
}

}  // namespace
}  // namespace ledger
