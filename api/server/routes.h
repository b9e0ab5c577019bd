// ledgerd's routes: the one table of what is served (method, path pattern, roles, the query
// parameters each route knows, how it is answered), path matching, and the strict parsing of
// query strings and parameter values. api/openapi.yaml documents the same table
// (tests/openapi_routes_test.cc holds them together); access.h decides who may use a route.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/server/tokens.h"
#include "ledger/event_log.h"
#include "schemas/civil_date.h"
#include "schemas/result.h"

namespace ledger {

enum class RouteId {
  kAppend,
  kEvents,
  kInvoice,
  kQuota,
  kBalance,
  kVerify,
  kReplay,
  kRegularisations,  // one provider's
  kExplain,
  kPublish,
  kClose,
  kHealth,
  kMetrics,
  kMe,
  kNetworks,
  kNetworkProviders,
  kNetworkInvoice,
  kNetworkFigures,
  kAllRegularisations,
  kMonthLines,
  kUi,      // the dashboard's page and assets
  kUiRoot,  // "/" and "/ui": a redirect to /ui/
  kBackup,  // POST /v1/admin/backups: an online backup into --backup-dir
};

enum class Method { kGet, kPost };  // GET routes also answer HEAD

// How a route is answered: on an I/O thread from the persisted projections or the log, on the
// audit thread (work that folds or walks history), or by the group committer.
enum class Work { kRead, kAudit, kAppend };

struct Route {
  RouteId id;
  Method method;
  const char* pattern;             // "/v1/providers/{id}/invoices/{month}"
  std::vector<AccessRole> roles;   // empty: no token needed
  std::vector<const char*> query;  // the query parameters it knows
  Work work = Work::kRead;
  bool csv = false;  // has a CSV form (?format=csv or Accept: text/csv)
};

// Every route, in the order matching tries them.
const std::vector<Route>& Routes();
const Route& RouteOf(RouteId id);
const char* MethodName(Method m);

struct RouteMatch {
  const Route* route = nullptr;      // null: no route for this path and method
  std::vector<std::string> params;   // the {params} of the pattern, in order
  std::vector<Method> path_methods;  // methods the path has (for 405 and Allow)
};
// `method` is the request's ("HEAD" counts as GET).
RouteMatch MatchRoute(std::string_view method, std::string_view path);
// "GET, HEAD, POST" for an Allow header.
std::string AllowHeader(const std::vector<Method>& methods);

// A parsed query string: every parameter once. kInvalidArgument names the parameter that the
// route does not know, that is given twice, or that is malformed.
using QueryParams = std::map<std::string, std::string, std::less<>>;
Result<QueryParams> ParseQuery(std::string_view query, const Route& route);

// Strict values (kInvalidArgument naming `name` otherwise).
// A decimal integer in [min, max]: digits only (no sign, no exponent, no spaces).
Result<uint64_t> ParseCount(std::string_view text, const char* name, uint64_t min, uint64_t max);
// A year YYYY (four digits, 1900..9999).
Result<int32_t> ParseYear(std::string_view text, const char* name);
Result<int32_t> ParseMonthParam(std::string_view text, const char* name);
Result<CivilDay> ParseDayParam(std::string_view text, const char* name);

// The seq an answer is read at: ?as_of=SEQ (1..head; 0 is the empty ledger) or
// ?as_of_time=RFC3339 (the last event recorded at or before it); nullopt when neither is given
// (the head). Both at once is refused.
Result<std::optional<Seq>> AsOfParam(const QueryParams& query, const EventLog& log);

enum class Format { kJson, kCsv };
// ?format=json|csv, else the Accept header (text/csv asks for CSV).
Result<Format> FormatParam(const QueryParams& query, std::string_view accept);

}  // namespace ledger
