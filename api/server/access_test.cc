// Authorize over every route x every role x own / other network: the one place that decides.
#include "api/server/access.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace ledger {
namespace {

// A ledger of two networks: provider P-OWN only ever in N-OWN, P-BOTH in both, P-OTHER only in
// N-OTHER, P-VISITOR in N-OTHER but with lines of N-OWN in 2024-05; events e-own and e-other.
class FakeFacts : public AccessFacts {
 public:
  Result<std::vector<std::string>> ProviderNetworks(std::string_view p) const override {
    static const std::map<std::string, std::vector<std::string>, std::less<>> k = {
        {"P-OWN", {"N-OWN"}},
        {"P-BOTH", {"N-OTHER", "N-OWN"}},
        {"P-OTHER", {"N-OTHER"}},
        {"P-VISITOR", {"N-OTHER"}}};
    auto it = k.find(p);
    return it == k.end() ? std::vector<std::string>{} : it->second;
  }
  Result<bool> ProviderHasLines(std::string_view p, std::string_view n, int32_t m) const override {
    return p == "P-VISITOR" && n == "N-OWN" && m == 202405;
  }
  Result<std::optional<std::string>> EventNetwork(std::string_view id) const override {
    if (id == "e-own") return std::optional<std::string>("N-OWN");
    if (id == "e-other") return std::optional<std::string>("N-OTHER");
    if (id == "e-none") return std::optional<std::string>("");
    return std::optional<std::string>();
  }
};

// Path parameters for a route, about the coordinator's own network (or another's).
std::vector<std::string> Params(RouteId id, bool own) {
  const std::string network = own ? "N-OWN" : "N-OTHER";
  const std::string provider = own ? "P-OWN" : "P-OTHER";
  switch (id) {
    case RouteId::kInvoice:
      return {provider, "2024-05"};
    case RouteId::kQuota:
      return {"90031210192"};
    case RouteId::kBalance:
      return {network, "2024"};
    case RouteId::kRegularisations:
      return {provider};
    case RouteId::kExplain:
      return {own ? "e-own" : "e-other"};
    case RouteId::kClose:
    case RouteId::kMonthLines:
      return {"2024-05"};
    case RouteId::kNetworkProviders:
    case RouteId::kNetworkFigures:
      return {network};
    case RouteId::kNetworkInvoice:
      return {network, "2024-05"};
    case RouteId::kUi:
      return {"app.js"};
    case RouteId::kAppend:
    case RouteId::kEvents:
    case RouteId::kVerify:
    case RouteId::kReplay:
    case RouteId::kPublish:
    case RouteId::kHealth:
    case RouteId::kMetrics:
    case RouteId::kMe:
    case RouteId::kNetworks:
    case RouteId::kAllRegularisations:
    case RouteId::kUiRoot:
    case RouteId::kBackup:
      return {};
  }
  return {};
}

Principal Who(AccessRole role) {
  Principal p;
  p.role = role;
  if (role == AccessRole::kCoordinator) p.network = "N-OWN";
  return p;
}

// The expected decision: who may use what (interfaces.md), written out route by route.
struct Expected {
  std::set<AccessRole> roles;  // empty: no token needed
  bool coordinator_own = false, coordinator_other = false;
};

Expected ExpectedFor(RouteId id) {
  using enum AccessRole;
  switch (id) {
    case RouteId::kAppend:
      return {{kRecorder, kOperator}};
    case RouteId::kEvents:
    case RouteId::kVerify:
    case RouteId::kMonthLines:
      return {{kAuditor, kOperator}};
    case RouteId::kReplay:
    case RouteId::kPublish:
    case RouteId::kClose:
    case RouteId::kBackup:
      return {{kOperator}};
    case RouteId::kInvoice:
    case RouteId::kBalance:
    case RouteId::kRegularisations:
    case RouteId::kExplain:
    case RouteId::kNetworkProviders:
    case RouteId::kNetworkInvoice:
    case RouteId::kNetworkFigures:
      return {{kCoordinator, kAuditor, kOperator}, true, false};
    case RouteId::kQuota:
    case RouteId::kNetworks:
    case RouteId::kAllRegularisations:
      return {{kCoordinator, kAuditor, kOperator}, true, true};  // filtered, not refused
    case RouteId::kMe:
      return {{kRecorder, kCoordinator, kAuditor, kOperator}, true, true};
    case RouteId::kHealth:
    case RouteId::kMetrics:
    case RouteId::kUi:
    case RouteId::kUiRoot:
      return {};
  }
  return {};
}

TEST(AccessTest, EveryRouteByRoleAndNetwork) {
  const FakeFacts facts;
  int decisions = 0;
  for (const Route& route : Routes()) {
    const Expected want = ExpectedFor(route.id);
    EXPECT_EQ(std::set<AccessRole>(route.roles.begin(), route.roles.end()), want.roles)
        << route.pattern;
    for (AccessRole role : {AccessRole::kRecorder, AccessRole::kCoordinator, AccessRole::kAuditor,
                            AccessRole::kOperator}) {
      for (bool own : {true, false}) {
        const Principal who = Who(role);
        auto got = Authorize(route, &who, Params(route.id, own), facts);
        ASSERT_TRUE(got.ok()) << route.pattern;
        bool allowed = want.roles.empty() || want.roles.count(role) > 0;
        if (allowed && role == AccessRole::kCoordinator && !want.roles.empty()) {
          allowed = own ? want.coordinator_own : want.coordinator_other;
        }
        EXPECT_EQ(got->allowed, allowed)
            << MethodName(route.method) << " " << route.pattern << " role " << RoleName(role)
            << (own ? " own" : " other") << " network: " << got->why;
        if (got->allowed && role == AccessRole::kCoordinator && !want.roles.empty()) {
          EXPECT_EQ(got->scope, std::optional<std::string>("N-OWN")) << route.pattern;
        }
        if (got->allowed && role != AccessRole::kCoordinator) {
          EXPECT_FALSE(got->scope.has_value()) << route.pattern;
        }
        if (!got->allowed) {
          EXPECT_FALSE(got->why.empty()) << route.pattern;
        }
        ++decisions;
      }
    }
    // No token: only the routes without roles.
    auto anonymous = Authorize(route, nullptr, Params(route.id, true), facts);
    ASSERT_TRUE(anonymous.ok());
    EXPECT_EQ(anonymous->allowed, want.roles.empty()) << route.pattern;
  }
  EXPECT_EQ(decisions, static_cast<int>(Routes().size()) * 8);
}

TEST(AccessTest, ACoordinatorsProviderRules) {
  const FakeFacts facts;
  const Principal c = Who(AccessRole::kCoordinator);
  auto decide = [&](RouteId id, std::vector<std::string> params) {
    auto a = Authorize(RouteOf(id), &c, params, facts);
    EXPECT_TRUE(a.ok());
    return a->allowed;
  };
  // An invoice: ever enrolled in the network, or lines of the network that month.
  EXPECT_TRUE(decide(RouteId::kInvoice, {"P-BOTH", "2024-05"}));
  EXPECT_TRUE(decide(RouteId::kInvoice, {"P-VISITOR", "2024-05"}));
  EXPECT_FALSE(decide(RouteId::kInvoice, {"P-VISITOR", "2024-06"}));
  EXPECT_FALSE(decide(RouteId::kInvoice, {"P-UNKNOWN", "2024-05"}));
  // Regularisations: a provider who never worked elsewhere only.
  EXPECT_TRUE(decide(RouteId::kRegularisations, {"P-OWN"}));
  EXPECT_FALSE(decide(RouteId::kRegularisations, {"P-BOTH"}));
  // Explain: the event's network; an event about no network is not theirs; an unknown id is
  // left to the handler's 404.
  EXPECT_FALSE(decide(RouteId::kExplain, {"e-none"}));
  EXPECT_TRUE(decide(RouteId::kExplain, {"e-unknown"}));
  // A coordinator token without a network reads nothing.
  Principal lost = c;
  lost.network.clear();
  auto a = Authorize(RouteOf(RouteId::kNetworks), &lost, {}, facts);
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->allowed);
}

}  // namespace
}  // namespace ledger
