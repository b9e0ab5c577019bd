// api/openapi.yaml and the routes ledgerd registers (ServerRoutes()) agree both ways: every
// route is documented, every documented path and method is served.
//
// The YAML is read line by line, which is all its layout needs: under `paths:`, a path is a
// line indented by two spaces ending in `:` ("  /v1/events:"), a method a line indented by four
// ("    get:").
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <string>
#include <utility>

#include "api/server/server.h"

namespace ledger {
namespace {

using Route = std::pair<std::string, std::string>;  // {"GET", "/v1/events"}

// The (METHOD, path) pairs under `paths:`.
std::set<Route> DocumentedRoutes(const std::string& file) {
  std::ifstream in(file);
  EXPECT_TRUE(in) << "cannot read " << file;
  static const std::set<std::string> kMethods = {"get",     "put",  "post",  "delete",
                                                 "options", "head", "patch", "trace"};
  std::set<Route> out;
  bool in_paths = false;
  std::string path;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line.find_first_not_of(' ') == std::string::npos) continue;
    const size_t indent = line.find_first_not_of(' ');
    if (line[indent] == '#') continue;
    if (indent == 0) {
      in_paths = line == "paths:";
      continue;
    }
    if (!in_paths || line.back() != ':') continue;
    const std::string key = line.substr(indent, line.size() - indent - 1);
    if (indent == 2) {
      path = key;
      EXPECT_EQ(path.front(), '/') << "a path that does not start with /: " << line;
    } else if (indent == 4 && kMethods.count(key)) {
      std::string method = key;
      for (char& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      EXPECT_FALSE(path.empty()) << "a method before any path: " << line;
      EXPECT_TRUE(out.insert({method, path}).second)
          << "documented twice: " << method << " " << path;
    }
  }
  return out;
}

TEST(OpenApiRoutesTest, EveryServedRouteIsDocumentedAndEveryDocumentedRouteServed) {
  const std::set<Route> documented = DocumentedRoutes(LEDGER_OPENAPI_FILE);
  std::set<Route> served;
  for (const RouteSpec& r : ServerRoutes()) {
    EXPECT_TRUE(served.insert({r.method, r.pattern}).second)
        << "registered twice: " << r.method << " " << r.pattern;
  }
  ASSERT_FALSE(served.empty());
  for (const Route& r : served) {
    EXPECT_TRUE(documented.count(r))
        << r.first << " " << r.second << " is served but not in api/openapi.yaml";
  }
  for (const Route& r : documented) {
    EXPECT_TRUE(served.count(r)) << r.first << " " << r.second
                                 << " is in api/openapi.yaml but not served";
  }
}

// The parser itself: it must not pass by reading nothing.
TEST(OpenApiRoutesTest, TheFileDocumentsTheInterfacesTable) {
  const std::set<Route> documented = DocumentedRoutes(LEDGER_OPENAPI_FILE);
  for (const Route& r :
       {Route{"POST", "/v1/events"}, Route{"GET", "/v1/events"},
        Route{"GET", "/v1/providers/{id}/invoices/{month}"},
        Route{"GET", "/v1/beneficiaries/{niss}/quota"},
        Route{"GET", "/v1/networks/{id}/balances/{year}"}, Route{"GET", "/v1/audit/verify"},
        Route{"POST", "/v1/replays"}, Route{"GET", "/v1/providers/{id}/regularisations"},
        Route{"GET", "/v1/events/{id}/explain"}, Route{"GET", "/healthz"},
        Route{"GET", "/metrics"}}) {
    EXPECT_TRUE(documented.count(r)) << r.first << " " << r.second;
  }
}

}  // namespace
}  // namespace ledger
