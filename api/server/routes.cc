#include "api/server/routes.h"

#include <algorithm>
#include <cassert>
#include <charconv>

#include "ledger/log_time.h"

namespace ledger {

namespace {

using enum AccessRole;

const std::vector<AccessRole> kReaders = {kCoordinator, kAuditor, kOperator};
const std::vector<AccessRole> kAuditors = {kAuditor, kOperator};
const std::vector<AccessRole> kAnyRole = {kRecorder, kCoordinator, kAuditor, kOperator};

}  // namespace

const std::vector<Route>& Routes() {
  static const std::vector<Route> routes = {
      {RouteId::kAppend, Method::kPost, "/v1/events", {kRecorder, kOperator}, {}, Work::kAppend},
      {RouteId::kEvents, Method::kGet, "/v1/events", kAuditors, {"from", "limit"}},
      {RouteId::kInvoice,
       Method::kGet,
       "/v1/providers/{id}/invoices/{month}",
       kReaders,
       {"as_of", "as_of_time", "format"},
       Work::kRead,
       true},
      {RouteId::kQuota,
       Method::kGet,
       "/v1/beneficiaries/{niss}/quota",
       kReaders,
       {"on", "as_of", "as_of_time"}},
      {RouteId::kBalance,
       Method::kGet,
       "/v1/networks/{id}/balances/{year}",
       kReaders,
       {"as_of", "as_of_time"}},
      {RouteId::kVerify, Method::kGet, "/v1/audit/verify", kAuditors, {}, Work::kAudit},
      {RouteId::kReplay, Method::kPost, "/v1/replays", {kOperator}, {"from"}, Work::kAudit},
      {RouteId::kRegularisations,
       Method::kGet,
       "/v1/providers/{id}/regularisations",
       kReaders,
       {"month", "as_of", "as_of_time"},
       Work::kAudit},
      {RouteId::kExplain,
       Method::kGet,
       "/v1/events/{id}/explain",
       kReaders,
       {"as_of", "as_of_time"},
       Work::kAudit},
      {RouteId::kPublish, Method::kPost, "/v1/rulesets", {kOperator}, {"reason"}, Work::kAudit},
      {RouteId::kClose, Method::kPost, "/v1/months/{month}/close", {kOperator}, {}, Work::kAudit},
      {RouteId::kHealth, Method::kGet, "/healthz", {}, {}},
      {RouteId::kMetrics, Method::kGet, "/metrics", {}, {}},
      {RouteId::kMe, Method::kGet, "/v1/me", kAnyRole, {}},
      {RouteId::kNetworks, Method::kGet, "/v1/networks", kReaders, {"as_of", "as_of_time"}},
      {RouteId::kNetworkProviders,
       Method::kGet,
       "/v1/networks/{id}/providers",
       kReaders,
       {"on", "limit", "cursor", "as_of", "as_of_time"}},
      {RouteId::kNetworkInvoice,
       Method::kGet,
       "/v1/networks/{id}/invoices/{month}",
       kReaders,
       {"as_of", "as_of_time", "format"},
       Work::kRead,
       true},
      {RouteId::kNetworkFigures,
       Method::kGet,
       "/v1/networks/{id}/figures",
       kReaders,
       {"on", "as_of", "as_of_time"}},
      {RouteId::kAllRegularisations,
       Method::kGet,
       "/v1/regularisations",
       kReaders,
       {"month", "as_of", "as_of_time"},
       Work::kAudit},
      {RouteId::kMonthLines,
       Method::kGet,
       "/v1/months/{month}/lines",
       kAuditors,
       {"limit", "cursor", "as_of", "as_of_time", "format"},
       Work::kRead,
       true},
      {RouteId::kUi, Method::kGet, "/ui/{file}", {}, {}},
      {RouteId::kUiRoot, Method::kGet, "/ui", {}, {}},
      {RouteId::kBackup, Method::kPost, "/v1/admin/backups", {kOperator}, {}, Work::kAudit},
  };
  return routes;
}

const Route& RouteOf(RouteId id) {
  for (const Route& r : Routes()) {
    if (r.id == id) return r;
  }
  assert(false && "every RouteId is in the table");
  return Routes().front();
}

const char* MethodName(Method m) {
  switch (m) {
    case Method::kGet:
      return "GET";
    case Method::kPost:
      return "POST";
  }
  return "GET";
}

namespace {

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t i = s.find(sep, start);
    out.push_back(
        s.substr(start, i == std::string_view::npos ? std::string_view::npos : i - start));
    if (i == std::string_view::npos) return out;
    start = i + 1;
  }
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded: %XX and '+' for a space; nullopt for a malformed escape.
std::optional<std::string> FormDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%') {
      if (i + 2 >= s.size() || HexDigit(s[i + 1]) < 0 || HexDigit(s[i + 2]) < 0) {
        return std::nullopt;
      }
      out.push_back(static_cast<char>(HexDigit(s[i + 1]) * 16 + HexDigit(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// A path segment's %XX escapes ('+' is a plus in a path); nullopt when malformed.
std::optional<std::string> PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size() || HexDigit(s[i + 1]) < 0 || HexDigit(s[i + 2]) < 0) return std::nullopt;
    out.push_back(static_cast<char>(HexDigit(s[i + 1]) * 16 + HexDigit(s[i + 2])));
    i += 2;
  }
  return out;
}

constexpr std::string_view kUiPrefix = "/ui/";

// Matches a path against a pattern; fills the {params} in order. "/ui/{file}" takes the whole
// rest of the path (assets in folders; "" for the page itself).
bool Match(std::string_view pattern, std::string_view path, std::vector<std::string>* params) {
  params->clear();
  if (pattern == "/ui/{file}") {
    if (!path.starts_with(kUiPrefix)) return false;
    params->emplace_back(path.substr(kUiPrefix.size()));
    return true;
  }
  const auto p = Split(pattern, '/'), s = Split(path, '/');
  if (p.size() != s.size()) return false;
  for (size_t i = 0; i < p.size(); ++i) {
    if (!p[i].empty() && p[i].front() == '{') {
      if (s[i].empty()) return false;
      auto decoded = PercentDecode(s[i]);
      if (!decoded || decoded->empty()) return false;
      params->push_back(std::move(*decoded));
    } else if (p[i] != s[i]) {
      return false;
    }
  }
  return true;
}

Error Bad(std::string message, std::string field) {
  return Error{ErrorCode::kInvalidArgument, std::move(message), -1, "", std::move(field)};
}

}  // namespace

RouteMatch MatchRoute(std::string_view method, std::string_view path) {
  RouteMatch m;
  const Method wanted =
      method == "POST" ? Method::kPost : Method::kGet;  // HEAD is a GET without its body
  const bool known = method == "GET" || method == "HEAD" || method == "POST";
  std::vector<std::string> params;
  for (const Route& r : Routes()) {
    if (!Match(r.pattern, path, &params)) continue;
    if (std::find(m.path_methods.begin(), m.path_methods.end(), r.method) == m.path_methods.end()) {
      m.path_methods.push_back(r.method);
    }
    if (known && r.method == wanted && !m.route) {
      m.route = &r;
      m.params = params;
    }
  }
  if (path == "/") {  // the dashboard's address without its folder
    m.route = method == "GET" || method == "HEAD" ? &RouteOf(RouteId::kUiRoot) : nullptr;
    m.path_methods = {Method::kGet};
  }
  return m;
}

std::string AllowHeader(const std::vector<Method>& methods) {
  std::string out;
  auto add = [&](const char* m) {
    if (!out.empty()) out += ", ";
    out += m;
  };
  if (std::find(methods.begin(), methods.end(), Method::kGet) != methods.end()) {
    add("GET");
    add("HEAD");
  }
  if (std::find(methods.begin(), methods.end(), Method::kPost) != methods.end()) add("POST");
  return out;
}

Result<QueryParams> ParseQuery(std::string_view query, const Route& route) {
  QueryParams out;
  if (query.empty()) return out;
  for (std::string_view kv : Split(query, '&')) {
    if (kv.empty()) continue;  // "a=1&&b=2"
    const size_t eq = kv.find('=');
    auto name = FormDecode(kv.substr(0, eq));
    auto value = FormDecode(eq == std::string_view::npos ? "" : kv.substr(eq + 1));
    if (!name || !value) return Bad("a malformed %-escape in the query string", "");
    const bool known = std::any_of(route.query.begin(), route.query.end(),
                                   [&](const char* q) { return *name == q; });
    if (!known) {
      std::string list;
      for (const char* q : route.query) list += std::string(list.empty() ? "" : ", ") + q;
      return Bad("unknown query parameter '" + *name + "' for " + route.pattern +
                     (list.empty() ? " (it takes none)" : " (it takes " + list + ")"),
                 *name);
    }
    if (!out.emplace(*name, *value).second) {
      return Bad("query parameter '" + *name + "' given twice", *name);
    }
  }
  return out;
}

Result<uint64_t> ParseCount(std::string_view text, const char* name, uint64_t min, uint64_t max) {
  uint64_t v = 0;
  const bool digits =
      !text.empty() && text.size() <= 20 &&
      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (!digits || ec != std::errc() || end != text.data() + text.size() || v < min || v > max) {
    return Bad(std::string(name) + " must be a whole number from " + std::to_string(min) + " to " +
                   std::to_string(max),
               name);
  }
  return v;
}

Result<int32_t> ParseYear(std::string_view text, const char* name) {
  const bool four = text.size() == 4 && std::all_of(text.begin(), text.end(),
                                                    [](char c) { return c >= '0' && c <= '9'; });
  const int32_t y = four ? std::stoi(std::string(text)) : 0;
  if (!four || y < 1900) return Bad(std::string(name) + " must be a year YYYY (1900..9999)", name);
  return y;
}

Result<int32_t> ParseMonthParam(std::string_view text, const char* name) {
  auto m = ParseMonth(text);
  if (!m) return Bad(std::string(name) + " must be a month YYYY-MM", name);
  return *m;
}

Result<CivilDay> ParseDayParam(std::string_view text, const char* name) {
  auto d = ParseDate(text);
  if (!d) return Bad(std::string(name) + " must be a real date YYYY-MM-DD", name);
  return ToDay(*d);
}

Result<std::optional<Seq>> AsOfParam(const QueryParams& query, const EventLog& log) {
  auto seq = query.find("as_of");
  auto time = query.find("as_of_time");
  if (seq != query.end() && time != query.end()) {
    return Bad("give as_of or as_of_time, not both", "as_of_time");
  }
  const Seq head = log.head().seq;
  if (seq != query.end()) {
    auto v = ParseCount(seq->second, "as_of", 0, head);
    if (!v) {
      return Bad("as_of must be a seq from 0 to the head (" + std::to_string(head) + ")", "as_of");
    }
    return std::optional<Seq>(*v);
  }
  if (time != query.end()) {
    auto us = ParseTimestampUs(time->second);
    if (!us) {
      return Bad("as_of_time must be RFC 3339 UTC, e.g. 2024-05-01T12:00:00Z", "as_of_time");
    }
    auto at = LastSeqRecordedBy(log, *us);
    if (!at) return at.error();
    return std::optional<Seq>(*at);
  }
  return std::optional<Seq>();
}

namespace {

// The q-value an Accept header gives `type` ("text/csv"), from its own range, "text/*" or
// "*/*" (the most specific range wins); 0 when none names it.
double AcceptQ(std::string_view accept, std::string_view type) {
  const std::string_view group = type.substr(0, type.find('/') + 1);  // "text/"
  double best_q = 0;
  int best_rank = -1;  // 2: the type itself, 1: its group, 0: */*
  for (std::string_view range : Split(accept, ',')) {
    std::string media;
    double q = 1;
    bool first = true;
    for (std::string_view part : Split(range, ';')) {
      std::string p(part);
      p.erase(0, p.find_first_not_of(" \t"));
      p.erase(p.find_last_not_of(" \t") + 1);
      for (char& c : p) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (first) {
        media = p;
        first = false;
      } else if (p.rfind("q=", 0) == 0) {
        q = std::strtod(p.c_str() + 2, nullptr);
      }
    }
    const int rank = media == type                       ? 2
                     : media == std::string(group) + "*" ? 1
                     : media == "*/*"                    ? 0
                                                         : -1;
    if (rank > best_rank) {
      best_rank = rank;
      best_q = q;
    }
  }
  return best_q;
}

}  // namespace

Result<Format> FormatParam(const QueryParams& query, std::string_view accept) {
  if (auto f = query.find("format"); f != query.end()) {
    if (f->second == "json") return Format::kJson;
    if (f->second == "csv") return Format::kCsv;
    return Bad("format must be json or csv", "format");
  }
  // CSV when the client prefers it to JSON (RFC 9110 content negotiation, q-values included).
  const double csv = AcceptQ(accept, "text/csv"), json = AcceptQ(accept, "application/json");
  return csv > 0 && csv > json ? Format::kCsv : Format::kJson;
}

}  // namespace ledger
