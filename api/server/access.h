// Who may use which route: the one place that decides, role and network scope together. Every
// request goes through Authorize before its handler runs; handlers only apply the `scope` it
// returns (a coordinator's answers hold their network's lines, trajectories and providers only).
//
// The rules (shared/domain/interfaces.md):
//  - the route's roles (routes.h) come first: any other role is 403;
//  - recorders append; auditors and operators read everything; operators also replay, publish
//    and close;
//  - a coordinator reads one network: a network route for another network is 403; a provider's
//    invoice when the provider was ever enrolled in their network or has lines of their network
//    that month; a provider's regularisations only for a provider who never worked in another
//    network (an invoice, so its regularisation, is per provider, not per network); an explain
//    only of their network's events; quotas, the network list and the regularisation list are
//    filtered to their network.
// What a decision needs to know about the ledger comes through AccessFacts, so that the rules
// are tested on their own (api/server/access_test.cc: every route x role x own/other network).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/server/routes.h"
#include "api/server/tokens.h"
#include "schemas/result.h"

namespace ledger {

class AccessFacts {
 public:
  virtual ~AccessFacts() = default;
  // The networks the provider was ever enrolled in.
  virtual Result<std::vector<std::string>> ProviderNetworks(std::string_view provider) const = 0;
  // Whether the provider has lines of the network in that month (yyyymm).
  virtual Result<bool> ProviderHasLines(std::string_view provider, std::string_view network,
                                        int32_t month) const = 0;
  // The network of the event with that id; nullopt when there is no such event, "" when it is
  // about no network.
  virtual Result<std::optional<std::string>> EventNetwork(std::string_view event_id) const = 0;
};

struct Access {
  bool allowed = false;
  std::string why;  // when refused: the 403's message
  // Allowed to a coordinator: answers hold this network's data only.
  std::optional<std::string> scope;
};

// `who` is null when the request carries no token (only routes without roles allow that).
// `params` are the route's path parameters in pattern order. Errors: the facts' (storage).
Result<Access> Authorize(const Route& route, const Principal* who,
                         const std::vector<std::string>& params, const AccessFacts& facts);

}  // namespace ledger
