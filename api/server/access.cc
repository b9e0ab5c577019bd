#include "api/server/access.h"

#include <algorithm>

namespace ledger {

namespace {

Access Allow(std::optional<std::string> scope = std::nullopt) {
  return Access{true, "", std::move(scope)};
}
Access Deny(std::string why) { return Access{false, std::move(why), std::nullopt}; }

// A coordinator on a route that names a provider, a network or an event.
Result<Access> CoordinatorScope(RouteId route, const std::string& network,
                                const std::vector<std::string>& params, const AccessFacts& facts) {
  switch (route) {
    case RouteId::kBalance:
    case RouteId::kNetworkProviders:
    case RouteId::kNetworkInvoice:
    case RouteId::kNetworkFigures:
      if (params.at(0) != network) return Deny("not your network");
      return Allow(network);
    case RouteId::kInvoice: {
      auto networks = facts.ProviderNetworks(params.at(0));
      if (!networks) return networks.error();
      if (std::find(networks->begin(), networks->end(), network) != networks->end()) {
        return Allow(network);
      }
      auto month = ParseMonth(params.at(1));
      if (month) {
        auto lines = facts.ProviderHasLines(params.at(0), network, *month);
        if (!lines) return lines.error();
        if (*lines) return Allow(network);
      }
      return Deny("provider not in your network");
    }
    case RouteId::kRegularisations: {
      auto networks = facts.ProviderNetworks(params.at(0));
      if (!networks) return networks.error();
      if (*networks == std::vector<std::string>{network}) return Allow(network);
      return Deny(std::find(networks->begin(), networks->end(), network) != networks->end()
                      ? "provider also works in another network; ask an auditor"
                      : "provider not in your network");
    }
    case RouteId::kExplain: {
      auto of = facts.EventNetwork(params.at(0));
      if (!of) return of.error();
      if (!of->has_value()) return Allow(network);  // unknown: the handler answers 404
      if (**of != network) return Deny("event not in your network");
      return Allow(network);
    }
    case RouteId::kQuota:
    case RouteId::kNetworks:
    case RouteId::kAllRegularisations:
    case RouteId::kMe:
      return Allow(network);  // answers filtered to the network
    case RouteId::kAppend:
    case RouteId::kEvents:
    case RouteId::kVerify:
    case RouteId::kReplay:
    case RouteId::kPublish:
    case RouteId::kClose:
    case RouteId::kMonthLines:
    case RouteId::kHealth:
    case RouteId::kMetrics:
    case RouteId::kUi:
    case RouteId::kUiRoot:
    case RouteId::kBackup:
      break;  // not a coordinator's route (the role check refused it before)
  }
  return Deny("role coordinator may not use this route");
}

}  // namespace

Result<Access> Authorize(const Route& route, const Principal* who,
                         const std::vector<std::string>& params, const AccessFacts& facts) {
  if (route.roles.empty()) return Allow();
  if (!who) return Deny("a bearer token is needed");  // the caller answers 401 before this
  if (std::find(route.roles.begin(), route.roles.end(), who->role) == route.roles.end()) {
    return Deny(std::string("role ") + RoleName(who->role) + " may not use " + route.pattern);
  }
  if (who->role != AccessRole::kCoordinator) return Allow();
  if (who->network.empty()) return Deny("a coordinator token without a network");
  return CoordinatorScope(route.id, who->network, params, facts);
}

}  // namespace ledger
