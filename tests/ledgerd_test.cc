// ledgerd over real HTTP on an ephemeral loopback port: roles and network scope on every route,
// every bad-input class of shared/domain/events.md, limits and timeouts, malformed requests,
// group commit under concurrency and under a failing or slow disk, consistent reads, and (with
// the ledgerd binary) SIGTERM, restart, what the logs and metrics may hold, and a real full disk
// (a small tmpfs: needs root, skipped and reported as skipped without it).
//
// Most tests run the Server in-process (the wiring of api/ledgerd.cc) with a minimal client on
// Boost.Beast; the process tests spawn LEDGERD_BINARY.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <barrier>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <shared_mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/replay_commands.h"
#include "api/server/committer.h"
#include "api/server/metrics.h"
#include "api/server/server.h"
#include "api/server/tokens.h"
#include "ledger/event_log.h"
#include "ledger/testing/temp_dir.h"
#include "projections/shipped_rulesets.h"
#include "projections/store.h"
#include "tests/ledgerd_harness.h"

extern char** environ;

namespace ledger {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace json = boost::json;
using tcp = net::ip::tcp;
using Ms = std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using namespace ledgerd_testing;  // NOLINT: the harness
using ledgerd_testing::History;   // the test history, not projections/history.h

// ---------------------------------------------------------------------------------------------
// Health, routes, roles and network scope.

TEST(LedgerdTest, HealthzNeedsNoTokenAndReportsLastSeq) {
  TestServer s;
  Client c(s.port());
  Reply r = c.Get("/healthz");
  ASSERT_EQ(r.status, 200) << r;
  EXPECT_EQ(r.Json().at("last_seq"), 0);
  EXPECT_EQ(r.Header("ledger-seq"), "0");
  s.Seed(History());
  r = c.Get("/healthz");
  ASSERT_EQ(r.status, 200) << r;
  EXPECT_EQ(r.Json().at("last_seq"), History().size());
  EXPECT_EQ(r.Json().at("ok"), true);
  EXPECT_EQ(r.Header("ledger-seq"), std::to_string(History().size()));
  EXPECT_TRUE(r.keep_alive);
}

TEST(LedgerdTest, UnknownRouteIs404AndWrongMethodIs405) {
  TestServer s;
  Client c(s.port());
  Reply r = c.Get("/v2/nothing", s.tokens().operator_);
  EXPECT_EQ(r.status, 404) << r;
  EXPECT_EQ(r.ErrorCode(), "not_found");
  r = c.Call(http::verb::delete_, "/v1/events", Bearer(s.tokens().operator_));
  EXPECT_EQ(r.status, 405) << r;
  r = c.Call(http::verb::put, "/healthz");
  EXPECT_EQ(r.status, 405) << r;
  // The connection survives all of that.
  EXPECT_EQ(c.Get("/healthz").status, 200);
}

// Every route against every kind of caller: no token, an unknown or malformed one, and each
// role. A coordinator's probes name its own network here (scope is tested below).
// GET /ui/: the dashboard's page.
constexpr int kUiStatus = 200;

TEST(LedgerdTest, EveryRouteAnswers401And403ByRole) {
  TestServer s;
  s.Seed(History());
  const Tokens& t = s.tokens();
  int unique = 0;
  struct Probe {
    const char* method;
    const char* pattern;
    http::verb verb;
    std::string target;
    std::function<std::string()> body;
    std::set<std::string> roles;  // empty: no token needed
    int allowed_status;
  };
  const std::vector<Probe> probes = {
      {"POST",
       "/v1/events",
       http::verb::post,
       "/v1/events",
       [&] { return Mission("m-" + std::to_string(++unique)); },
       {"recorder", "operator"},
       200},
      {"GET",
       "/v1/events",
       http::verb::get,
       "/v1/events?from=1&limit=5",
       nullptr,
       {"auditor", "operator"},
       200},
      {"GET",
       "/v1/providers/{id}/invoices/{month}",
       http::verb::get,
       "/v1/providers/P-A/invoices/2024-04",
       nullptr,
       {"coordinator", "auditor", "operator"},
       200},
      {"GET",
       "/v1/beneficiaries/{niss}/quota",
       http::verb::get,
       std::string("/v1/beneficiaries/") + kNissA + "/quota?on=2024-05-31",
       nullptr,
       {"coordinator", "auditor", "operator"},
       200},
      {"GET",
       "/v1/networks/{id}/balances/{year}",
       http::verb::get,
       "/v1/networks/N-A/balances/2024",
       nullptr,
       {"coordinator", "auditor", "operator"},
       200},
      {"GET",
       "/v1/audit/verify",
       http::verb::get,
       "/v1/audit/verify",
       nullptr,
       {"auditor", "operator"},
       200},
      // The ruleset in force: a replay with no difference.
      {"POST",
       "/v1/replays",
       http::verb::post,
       "/v1/replays",
       [] { return json::serialize(RulesetInForce()); },
       {"operator"},
       200},
      {"GET",
       "/v1/providers/{id}/regularisations",
       http::verb::get,
       "/v1/providers/P-A/regularisations",
       nullptr,
       {"coordinator", "auditor", "operator"},
       200},
      {"GET",
       "/v1/events/{id}/explain",
       http::verb::get,
       "/v1/events/a2/explain",
       nullptr,
       {"coordinator", "auditor", "operator"},
       200},
      // A ruleset that is not valid: refused (400) to those allowed; nothing published.
      {"POST",
       "/v1/rulesets",
       http::verb::post,
       "/v1/rulesets?reason=probe",
       [] { return std::string("{}"); },
       {"operator"},
       400},
      // A month that is not over yet: refused (400) to those allowed; nothing closed.
      {"POST",
       "/v1/months/{month}/close",
       http::verb::post,
       "/v1/months/9999-12/close",
       [] { return std::string(); },
       {"operator"},
       400},
      // Online backups: this server has no --backup-dir, so 409 not_configured to those allowed.
      {"POST",
       "/v1/admin/backups",
       http::verb::post,
       "/v1/admin/backups",
       [] { return std::string(); },
       {"operator"},
       409},
      {"GET", "/healthz", http::verb::get, "/healthz", nullptr, {}, 200},
      {"GET", "/metrics", http::verb::get, "/metrics", nullptr, {}, 200},
      {"GET",
       "/v1/me",
       http::verb::get,
       "/v1/me",
       nullptr,
       {"recorder", "coordinator", "auditor", "operator"},
       200},
      {"GET",
       "/v1/networks",
       http::verb::get,
       "/v1/networks",
       nullptr,
       {"coordinator", "auditor", "operator"},
       200},
      {"GET",
       "/v1/networks/{id}/providers",
       http::verb::get,
       "/v1/networks/N-A/providers?on=2024-04-02",
       nullptr,
       {"coordinator", "auditor", "operator"},
       200},
      {"GET",
       "/v1/networks/{id}/invoices/{month}",
       http::verb::get,
       "/v1/networks/N-A/invoices/2024-04",
       nullptr,
       {"coordinator", "auditor", "operator"},
       200},
      {"GET",
       "/v1/networks/{id}/figures",
       http::verb::get,
       "/v1/networks/N-A/figures?on=2024-12-31",
       nullptr,
       {"coordinator", "auditor", "operator"},
       200},
      {"GET",
       "/v1/regularisations",
       http::verb::get,
       "/v1/regularisations",
       nullptr,
       {"coordinator", "auditor", "operator"},
       200},
      {"GET",
       "/v1/months/{month}/lines",
       http::verb::get,
       "/v1/months/2024-04/lines",
       nullptr,
       {"auditor", "operator"},
       200},
      {"GET", "/ui/{file}", http::verb::get, "/ui/", nullptr, {}, kUiStatus},
      {"GET", "/ui", http::verb::get, "/ui", nullptr, {}, 308},
  };
  // The probes cover every route the server registers.
  std::set<std::pair<std::string, std::string>> registered, probed;
  for (const RouteSpec& r : ServerRoutes()) registered.insert({r.method, r.pattern});
  for (const Probe& p : probes) probed.insert({p.method, p.pattern});
  EXPECT_EQ(registered, probed);

  struct Caller {
    std::string label, role, authorization;
  };
  const std::vector<Caller> callers = {
      {"no token", "", ""},
      {"unknown token", "", Bearer("lt_" + std::string(64, '0'))},
      {"token of another scheme", "", "Basic " + t.operator_},
      {"bearer without token", "", "Bearer "},
      {"hash of a token as token", "", Bearer(ToHex(Sha256::Of(t.operator_)))},
      {"recorder", "recorder", Bearer(t.recorder)},
      {"coordinator", "coordinator", Bearer(t.coordinator_a)},
      {"auditor", "auditor", Bearer(t.auditor)},
      {"operator", "operator", Bearer(t.operator_)},
  };
  Client c(s.port());
  for (const Probe& p : probes) {
    for (const Caller& who : callers) {
      SCOPED_TRACE(std::string(p.method) + " " + p.target + " as " + who.label);
      const std::string body = p.body ? p.body() : "";
      Reply r = c.Call(p.verb, p.target, who.authorization, body);
      int want;
      if (p.roles.empty() || p.roles.count(who.role)) {
        want = p.allowed_status;
      } else {
        want = who.role.empty() ? 401 : 403;
      }
      EXPECT_EQ(r.status, want) << r;
      if (want == 401 || want == 403) {
        EXPECT_EQ(r.Header("content-type"), "application/json");
        EXPECT_EQ(r.ErrorCode(), want == 401 ? "unauthenticated" : "forbidden") << r;
        EXPECT_FALSE(r.ErrorField("message").empty()) << r;
      }
      if (want == 401) {
        EXPECT_EQ(r.Header("www-authenticate"), "Bearer");
      }
    }
  }
}

TEST(LedgerdTest, CoordinatorReadsOwnNetworkOnly) {
  TestServer s;
  s.Seed(History());
  const Tokens& t = s.tokens();
  Client c(s.port());

  // Own network: the invoice and the balance, as an auditor sees them.
  Reply invoice = c.Get("/v1/providers/P-A/invoices/2024-04", t.coordinator_a);
  ASSERT_EQ(invoice.status, 200) << invoice;
  const json::value inv = invoice.Json();
  EXPECT_EQ(inv.at("provider_id"), "P-A");
  EXPECT_EQ(inv.at("month"), "2024-04");
  EXPECT_EQ(inv.at("billable_lines"), 3);
  EXPECT_EQ(inv.at("totals").at("fee_cents"), 26007);
  EXPECT_EQ(inv.at("totals").at("copay_cents"), 2200);  // the first session has no co-pay
  EXPECT_EQ(inv.at("totals").at("insurer_cents"), 23807);
  EXPECT_EQ(inv.at("lines").as_array().size(), 3u);
  EXPECT_EQ(c.Get("/v1/providers/P-A/invoices/2024-04", t.auditor).body, invoice.body);

  Reply balance = c.Get("/v1/networks/N-A/balances/2024", t.coordinator_a);
  ASSERT_EQ(balance.status, 200) << balance;
  EXPECT_EQ(balance.Json().at("network_id"), "N-A");
  EXPECT_EQ(balance.Json().at("allocated_cents"), 100000000);
  EXPECT_EQ(balance.Json().at("consumed_cents"), 23807);
  EXPECT_EQ(balance.Json().at("remaining_cents"), 100000000 - 23807);
  EXPECT_EQ(c.Get("/v1/networks/N-A/balances/2024", t.operator_).body, balance.body);

  Reply quota =
      c.Get(std::string("/v1/beneficiaries/") + kNissA + "/quota?on=2024-05-31", t.coordinator_a);
  ASSERT_EQ(quota.status, 200) << quota;
  ASSERT_EQ(quota.Json().at("trajectories").as_array().size(), 1u) << quota;
  EXPECT_EQ(quota.Json().at("trajectories").at(0).at("network_id"), "N-A");
  EXPECT_EQ(quota.Json().at("trajectories").at(0).at("used"), 3);

  // Another network's provider and balance: 403, as for both coordinators crosswise.
  for (const auto& [token, provider, network] :
       {std::tuple{t.coordinator_a, "P-B", "N-B"}, std::tuple{t.coordinator_b, "P-A", "N-A"}}) {
    Reply r = c.Get(std::string("/v1/providers/") + provider + "/invoices/2024-04", token);
    EXPECT_EQ(r.status, 403) << r;
    EXPECT_EQ(r.Json().at("error").as_object().count("code"), 1u);
    r = c.Get(std::string("/v1/networks/") + network + "/balances/2024", token);
    EXPECT_EQ(r.status, 403) << r;
  }
  // A provider that was never enrolled anywhere is not the coordinator's either.
  EXPECT_EQ(c.Get("/v1/providers/P-NOBODY/invoices/2024-04", t.coordinator_a).status, 403);
  // The other network's beneficiary: unknown in this network (404, as a NISS never seen is),
  // so that nothing of the other network is shown, not even that the person exists there.
  quota =
      c.Get(std::string("/v1/beneficiaries/") + kNissB + "/quota?on=2024-05-31", t.coordinator_a);
  ASSERT_EQ(quota.status, 404) << quota;
  EXPECT_EQ(quota.ErrorCode(), "not_found") << quota;
  EXPECT_EQ(c.Get("/v1/beneficiaries/93051822361/quota?on=2024-05-31", t.coordinator_a).status,
            404);
  quota =
      c.Get(std::string("/v1/beneficiaries/") + kNissB + "/quota?on=2024-05-31", t.coordinator_b);
  EXPECT_EQ(quota.Json().at("trajectories").as_array().size(), 1u) << quota;
  // as_of does not widen the scope.
  EXPECT_EQ(c.Get("/v1/networks/N-B/balances/2024?as_of=6", t.coordinator_a).status, 403);
}

// ---------------------------------------------------------------------------------------------
// Bad input: every class of shared/domain/events.md, over HTTP; nothing of a refused batch is
// stored.

struct BadCase {
  const char* name;
  std::string body;
  const char* content_type;
  int status;
  const char* code;
  const char* field;  // nullptr: not checked
  int index;          // -1: not checked
};

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  if (at == std::string::npos) {
    std::fprintf(stderr, "Replace: '%s' not found\n", from.c_str());
    std::abort();
  }
  return s.replace(at, from.size(), to);
}

TEST(LedgerdTest, EveryBadInputClassIsRefusedAndStoresNothing) {
  TestServer s;
  s.Seed(History());
  const std::string nd = "application/x-ndjson";
  const std::string good = Session("new-1", "P-A", "N-A", kNissA, "2024-04-23");
  const std::string group =
      R"({"id": "g1", "type": "session.group", "occurred_on": "2024-04-05", "facilitators": [], )"
      R"("network_id": "N-A", "function": "support", "minutes": 90, "location": "practice", )"
      R"("participants": [)" +
      Beneficiary(kNissA) + "]}";
  const std::vector<BadCase> cases = {
      {"malformed JSON line", Lines({good, R"({"id": "x", "type": )"}), "application/x-ndjson", 400,
       "invalid_event", nullptr, 1},
      {"malformed JSON array", "[" + good + ",", "application/json", 400, "invalid_event", nullptr,
       -1},
      {"an array of non-objects", "[1, 2]", "application/json", 400, "invalid_event", nullptr, 0},
      {"unknown type", Replace(good, "session.individual", "session.telepathic"),
       "application/json", 400, "invalid_event", "type", 0},
      {"unknown field", Replace(good, R"("minutes": 60)", R"("minutes": 60, "colour": "red")"),
       "application/json", 400, "invalid_event", "colour", 0},
      {"ledger field set by the client",
       Replace(good, R"("minutes": 60)", R"("minutes": 60, "seq": 4)"), "application/json", 400,
       "invalid_event", "seq", 0},
      {"missing field", Replace(good, R"(, "minutes": 60)", ""), "application/json", 400,
       "invalid_event", "minutes", 0},
      {"wrong type", Replace(good, R"("minutes": 60)", R"("minutes": "sixty")"), "application/json",
       400, "invalid_event", "minutes", 0},
      {"invalid NISS", Replace(good, kNissA, "90031210193"), "application/json", 400,
       "invalid_event", "beneficiary.niss", 0},
      {"impossible date", Replace(good, "2024-04-23", "2024-02-30"), "application/json", 400,
       "invalid_event", "occurred_on", 0},
      {"date after the recording day", Replace(good, "2024-04-23", "2999-01-01"),
       "application/json", 400, "invalid_event", "occurred_on", 0},
      {"minutes zero", Replace(good, R"("minutes": 60)", R"("minutes": 0)"), "application/json",
       400, "invalid_event", "minutes", 0},
      {"minutes negative", Replace(good, R"("minutes": 60)", R"("minutes": -5)"),
       "application/json", 400, "invalid_event", "minutes", 0},
      {"empty facilitators", group, "application/json", 400, "invalid_event", "facilitators", 0},
      {"one NISS twice in a group",
       Replace(Replace(group, R"("facilitators": [])",
                       R"("facilitators": [{"provider_id": "P-A", "role": "psychologist"}])"),
               "]}", "," + Beneficiary(kNissB) + "," + Beneficiary(kNissA) + "]}"),
       "application/json", 400, "invalid_event", "participants[2].niss", 0},
      {"one facilitator twice",
       Replace(group, R"("facilitators": [])",
               R"("facilitators": [{"provider_id": "P-A", "role": "psychologist"}, )"
               R"({"provider_id": "P-A", "role": "other"}])"),
       "application/json", 400, "invalid_event", "facilitators[1].provider_id", 0},
      {"more facilitators than the bound",
       Replace(group, R"("facilitators": [])",
               [] {
                 std::string list = R"("facilitators": [)";
                 for (int i = 0; i < 11; ++i) {
                   list += std::string(i ? ", " : "") + R"({"provider_id": "P-)" +
                           std::to_string(i) + R"(", "role": "psychologist"})";
                 }
                 return list + "]";
               }()),
       "application/json", 400, "invalid_event", "facilitators", 0},
      {"a birth date that contradicts the NISS", Replace(good, "1990-03-12", "1990-03-21"),
       "application/json", 400, "invalid_event", "beneficiary.birth_date", 0},
      {"void of a missing event", Array({good, Void("v1", "no-such-event")}), "application/json",
       400, "invalid_event", "target", 1},
      {"id conflict", Array({good, Replace(Session("a1"), R"("minutes": 60)", R"("minutes": 45)")}),
       "application/json", 409, "conflict", "id", 1},
      {"expected_version mismatch",
       Array({good, Replace(Mission("m-ev"), R"("minutes": 90)",
                            R"("minutes": 90, "expected_version": 7)")}),
       "application/json", 409, "conflict", "expected_version", 1},
      {"one bad event at the end of a batch",
       Lines({good, Mission("m-ok"), Replace(Mission("m-bad"), "co_consultation", "gossip")}),
       "application/x-ndjson", 400, "invalid_event", "kind", 2},
      {"empty body", "", "application/json", 400, "invalid_event", nullptr, -1},
      {"blank lines only", "\n\n  \n", "application/x-ndjson", 400, "invalid_event", nullptr, -1},
      {"a JSON object, not an array", "  " + good, "application/json", -1, nullptr, nullptr, -1},
  };
  (void)nd;
  Client c(s.port());
  const uint64_t before = s.LastSeq();
  for (const BadCase& bad : cases) {
    SCOPED_TRACE(bad.name);
    Reply r = c.Post("/v1/events", s.tokens().recorder, bad.body, bad.content_type);
    if (bad.status < 0) {
      // A bare object is one JSON Lines line: accepted. Undo nothing; checked below.
      EXPECT_EQ(r.status, 200) << r;
      continue;
    }
    EXPECT_EQ(r.status, bad.status) << r;
    EXPECT_EQ(r.ErrorCode(), bad.code) << r;
    EXPECT_FALSE(r.ErrorField("message").empty()) << r;
    if (bad.field) {
      EXPECT_EQ(r.ErrorField("field"), bad.field) << r;
    }
    if (bad.index >= 0) {
      EXPECT_EQ(r.ErrorField("index"), std::to_string(bad.index)) << r;
    }
    EXPECT_EQ(r.Header("content-type"), "application/json");
    EXPECT_TRUE(r.keep_alive) << "bad input does not cost the connection";
  }
  // Only the last case's single event was stored.
  EXPECT_EQ(s.LastSeq(), before + 1);
  const std::set<std::string> ids = IdsOf(s.StoredIds());
  for (const char* id : {"v1", "m-ev", "m-ok", "m-bad", "g1"}) EXPECT_EQ(ids.count(id), 0u) << id;
  EXPECT_EQ(ids.count("new-1"), 1u);
}

// ---------------------------------------------------------------------------------------------
// Audit routes: replays, regularisations, explain. They answer what ledgerctl prints.

TEST(LedgerdTest, ReplayShowsARevisionsEffectAndStoresNothing) {
  TestServer s;
  s.Seed(History());
  const Tokens& t = s.tokens();
  Client c(s.port());
  const uint64_t head = s.LastSeq();

  // The ruleset in force: no difference.
  Reply same = c.Post("/v1/replays", t.operator_, json::serialize(RulesetInForce()));
  ASSERT_EQ(same.status, 200) << same;
  EXPECT_EQ(same.Json().at("standing"), "in_force");
  EXPECT_TRUE(same.Json().at("provider_months").as_array().empty()) << same;
  EXPECT_EQ(same.Json().at("totals").at("delta").at("fee_cents"), 0);
  EXPECT_EQ(same.Header("ledger-seq"), std::to_string(head));

  // +2.31 per individual session: P-A's three April sessions, P-B's one.
  Reply revised = c.Post("/v1/replays", t.operator_, json::serialize(RevisedRuleset()));
  ASSERT_EQ(revised.status, 200) << revised;
  const json::value r = revised.Json();
  EXPECT_EQ(r.at("candidate"), "convention-2024@2");
  EXPECT_EQ(r.at("supersedes"), "convention-2024@1");
  EXPECT_EQ(r.at("last_seq"), head);
  const json::array& months = r.at("provider_months").as_array();
  ASSERT_EQ(months.size(), 2u) << revised;
  EXPECT_EQ(months[0].at("provider_id"), "P-A");
  EXPECT_EQ(months[0].at("month"), "2024-04");
  EXPECT_EQ(months[0].at("delta").at("fee_cents"), 3 * 231);
  EXPECT_EQ(months[0].at("delta").at("copay_cents"), 0);
  EXPECT_EQ(months[0].at("delta").at("insurer_cents"), 3 * 231);
  EXPECT_EQ(months[0].at("lines_repriced"), 3);
  EXPECT_EQ(months[1].at("provider_id"), "P-B");
  EXPECT_EQ(months[1].at("delta").at("fee_cents"), 231);
  EXPECT_EQ(r.at("totals").at("delta").at("insurer_cents"), 4 * 231);
  const json::array& years = r.at("network_years").as_array();
  ASSERT_EQ(years.size(), 2u) << revised;
  EXPECT_EQ(years[0].at("network_id"), "N-A");
  EXPECT_EQ(years[0].at("consumed_delta_cents"), 3 * 231);
  // As ledgerctl replay prints it.
  auto direct = ReplayRuleset(s.log(), RevisedRuleset(), std::nullopt);
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(r, json::value(ReplayReportJson(*direct)));

  // ?from after April: nothing compared differs.
  Reply later =
      c.Post("/v1/replays?from=2024-05-01", t.operator_, json::serialize(RevisedRuleset()));
  ASSERT_EQ(later.status, 200) << later;
  EXPECT_TRUE(later.Json().at("provider_months").as_array().empty()) << later;
  EXPECT_EQ(later.Json().at("from"), "2024-05-01");

  // Refusals.
  Reply r400 = c.Post("/v1/replays", t.operator_, "{not json");
  EXPECT_EQ(r400.status, 400) << r400;
  json::value bad = RevisedRuleset();
  bad.as_object()["fees"].as_array()[0].as_object()["cents"] = "89.00";
  r400 = c.Post("/v1/replays", t.operator_, json::serialize(bad));
  EXPECT_EQ(r400.status, 400) << r400;
  EXPECT_NE(r400.ErrorField("field").find("fees"), std::string::npos) << r400;
  r400 = c.Post("/v1/replays?from=2024-02-30", t.operator_, json::serialize(RevisedRuleset()));
  EXPECT_EQ(r400.status, 400) << r400;
  EXPECT_EQ(r400.ErrorField("field"), "from");
  Reply r415 = c.Post("/v1/replays", t.operator_, json::serialize(RevisedRuleset()), "text/plain");
  EXPECT_EQ(r415.status, 415) << r415;
  json::value older = RulesetInForce();  // version 1 with other content: not a revision
  older.as_object()["title"] = "something else";
  Reply r409 = c.Post("/v1/replays", t.operator_, json::serialize(older));
  EXPECT_EQ(r409.status, 409) << r409;

  EXPECT_EQ(s.LastSeq(), head);  // a dry run stores nothing
}

TEST(LedgerdTest, RegularisationsOfAProviderAfterAPublish) {
  TestServer s;
  s.Seed(History());
  const Tokens& t = s.tokens();
  Client c(s.port());
  const CivilDay today = DayOfTimestampUs(std::chrono::duration_cast<std::chrono::microseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count());
  // Nothing closed: nothing to regularise.
  Reply none = c.Get("/v1/providers/P-A/regularisations", t.auditor);
  ASSERT_EQ(none.status, 200) << none;
  EXPECT_TRUE(none.Json().at("regularisations").as_array().empty()) << none;
  EXPECT_EQ(none.Json().at("provider_id"), "P-A");

  // April is closed under version 1, then version 2 is published (as ledgerctl would).
  ASSERT_TRUE(CloseMonth(s.log(), 202404, today).ok());
  const uint64_t closed_at = s.log().head().seq;
  ASSERT_TRUE(PublishRuleset(s.log(), RevisedRuleset(), "indexation", today).ok());
  s.CatchUp();  // answers at the head come from the projections (Ledger-Seq)

  Reply regs = c.Get("/v1/providers/P-A/regularisations", t.coordinator_a);
  ASSERT_EQ(regs.status, 200) << regs;
  const json::value v = regs.Json();
  EXPECT_EQ(v.at("closed_months").as_array().size(), 1u);
  EXPECT_EQ(v.at("invoices_checked"), 1);  // P-A's invoice only, not P-B's
  ASSERT_EQ(v.at("regularisations").as_array().size(), 1u) << regs;
  const json::value& item = v.at("regularisations").at(0);
  EXPECT_EQ(item.at("provider_id"), "P-A");
  EXPECT_EQ(item.at("month"), "2024-04");
  EXPECT_EQ(item.at("issued").at("fee_cents"), 3 * 8669);
  EXPECT_EQ(item.at("current").at("fee_cents"), 3 * 8900);
  EXPECT_EQ(item.at("delta").at("insurer_cents"), 3 * 231);
  EXPECT_EQ(item.at("issued_ruleset"), "convention-2024@1");
  EXPECT_EQ(v.at("totals").at("delta").at("fee_cents"), 3 * 231);
  EXPECT_EQ(regs.Header("ledger-seq"), std::to_string(s.log().head().seq));
  // As ledgerctl regularisations --provider P-A prints it.
  auto direct = RegularisationsAt(s.log(), std::nullopt, "P-A", kAtHead);
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(v, json::value(*direct));

  // Before the publish, the invoice matched.
  Reply before =
      c.Get("/v1/providers/P-A/regularisations?as_of=" + std::to_string(closed_at), t.auditor);
  ASSERT_EQ(before.status, 200) << before;
  EXPECT_TRUE(before.Json().at("regularisations").as_array().empty()) << before;
  // Another month filter: nothing there.
  Reply may = c.Get("/v1/providers/P-A/regularisations?month=2024-05", t.operator_);
  ASSERT_EQ(may.status, 200) << may;
  EXPECT_EQ(may.Json().at("invoices_checked"), 0);
  EXPECT_EQ(c.Get("/v1/providers/P-A/regularisations?month=2024-13", t.operator_).status, 400);
  EXPECT_EQ(c.Get("/v1/providers/P-A/regularisations?as_of=x", t.operator_).status, 400);

  // Scope: another network's coordinator; a provider never enrolled.
  EXPECT_EQ(c.Get("/v1/providers/P-A/regularisations", t.coordinator_b).status, 403);
  EXPECT_EQ(c.Get("/v1/providers/P-B/regularisations", t.coordinator_a).status, 403);
  EXPECT_EQ(c.Get("/v1/providers/P-NOBODY/regularisations", t.coordinator_a).status, 403);
  // A provider who also works in the other network: its invoice would show that network's
  // lines, so only auditors and operators see it.
  s.Seed({R"({"id": "prov-P-A-2", "type": "provider.enrolled", "occurred_on": "2024-05-01", )"
          R"("provider_id": "P-A", "network_id": "N-B", "profession": "psychologist"})"});
  Reply both = c.Get("/v1/providers/P-A/regularisations", t.coordinator_a);
  EXPECT_EQ(both.status, 403) << both;
  EXPECT_NE(both.ErrorField("message").find("another network"), std::string::npos) << both;
  EXPECT_EQ(c.Get("/v1/providers/P-A/regularisations", t.auditor).status, 200);
}

TEST(LedgerdTest, ExplainAnEventsPricing) {
  TestServer s;
  s.Seed(History());
  const Tokens& t = s.tokens();
  Client c(s.port());

  Reply r = c.Get("/v1/events/a2/explain", t.coordinator_a);
  ASSERT_EQ(r.status, 200) << r;
  const json::value v = r.Json();
  EXPECT_EQ(v.at("event_id"), "a2");
  EXPECT_EQ(v.at("network_id"), "N-A");
  EXPECT_EQ(r.body.find(kNissA), std::string::npos) << "a NISS in an explanation";
  auto direct = ExplainEventId(s.log(), "a2", kAtHead);
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(v, json::value(*direct));
  EXPECT_EQ(r.Header("ledger-seq"), std::to_string(s.LastSeq()));

  EXPECT_EQ(c.Get("/v1/events/a2/explain", t.coordinator_b).status, 403);
  EXPECT_EQ(c.Get("/v1/events/b1/explain", t.coordinator_b).status, 200);
  Reply missing = c.Get("/v1/events/no-such-event/explain", t.auditor);
  EXPECT_EQ(missing.status, 404) << missing;
  EXPECT_EQ(missing.ErrorCode(), "not_found");
  // a1 is seq 7: not known at seq 6.
  EXPECT_EQ(c.Get("/v1/events/a1/explain?as_of=6", t.auditor).status, 404);
  EXPECT_EQ(c.Get("/v1/events/a1/explain?as_of=7", t.auditor).status, 200);
  Reply not_care = c.Get("/v1/events/net-N-A/explain", t.auditor);
  EXPECT_EQ(not_care.status, 400) << not_care;
  EXPECT_NE(not_care.ErrorField("message").find("network.registered"), std::string::npos);
}

TEST(LedgerdTest, PublishAndCloseOverHttpThenRegularise) {
  TestServer s;
  s.Seed(History());
  const Tokens& t = s.tokens();
  Client c(s.port());

  // Close April under version 1: one invoice per provider.
  Reply closed = c.Post("/v1/months/2024-04/close", t.operator_, "");
  ASSERT_EQ(closed.status, 200) << closed;
  const json::value cv = closed.Json();
  EXPECT_EQ(cv.at("month"), "2024-04");
  EXPECT_EQ(cv.at("appended"), 2);
  EXPECT_EQ(closed.Header("ledger-seq"), std::to_string(s.LastSeq()));
  EXPECT_EQ(cv.at("totals").at("fee_cents"), 4 * 8669);
  Reply twice = c.Post("/v1/months/2024-04/close", t.operator_, "");
  EXPECT_EQ(twice.status, 409) << twice;
  EXPECT_EQ(c.Post("/v1/months/2024-4/close", t.operator_, "").status, 400);

  // Publish version 2; the reason is form-decoded.
  const uint64_t before = s.LastSeq();
  Reply no_reason = c.Post("/v1/rulesets", t.operator_, json::serialize(RevisedRuleset()));
  EXPECT_EQ(no_reason.status, 400) << no_reason;
  EXPECT_EQ(no_reason.ErrorField("field"), "reason");
  EXPECT_EQ(
      c.Post("/v1/rulesets?reason=x", t.operator_, json::serialize(RevisedRuleset()), "text/plain")
          .status,
      415);
  EXPECT_EQ(s.LastSeq(), before);
  Reply published = c.Post("/v1/rulesets?reason=indexation%202025+%28test%29", t.operator_,
                           json::serialize(RevisedRuleset()));
  ASSERT_EQ(published.status, 200) << published;
  EXPECT_EQ(published.Json().at("published"), "convention-2024@2");
  EXPECT_EQ(published.Json().at("supersedes"), "convention-2024@1");
  EXPECT_EQ(s.LastSeq(), before + 1);
  Reply events = c.Get("/v1/events?from=" + std::to_string(before + 1) + "&limit=1", t.auditor);
  EXPECT_NE(events.body.find("indexation 2025 (test)"), std::string::npos) << events;
  // The same version again: a conflict, nothing stored.
  Reply again = c.Post("/v1/rulesets?reason=again", t.operator_, json::serialize(RevisedRuleset()));
  EXPECT_EQ(again.status, 409) << again;
  EXPECT_EQ(s.LastSeq(), before + 1);

  // The projections follow the publish: the invoice is priced with version 2.
  s.WaitProjected();
  Reply invoice = c.Get("/v1/providers/P-A/invoices/2024-04", t.auditor);
  EXPECT_EQ(invoice.Json().at("totals").at("fee_cents"), 3 * 8900) << invoice;
  // And the closed month is regularised by the difference.
  Reply regs = c.Get("/v1/providers/P-A/regularisations?month=2024-04", t.auditor);
  ASSERT_EQ(regs.status, 200) << regs;
  ASSERT_EQ(regs.Json().at("regularisations").as_array().size(), 1u) << regs;
  EXPECT_EQ(regs.Json().at("regularisations").at(0).at("delta").at("fee_cents"), 3 * 231);
}

TEST(LedgerdTest, AuditWorkOverTheQueueLimitIsBusy) {
  ServerOptions o = TestOptions();
  o.audit_queue_max = 0;  // no room: every audit request is over the limit
  TestServer s(o);
  s.Seed(History());
  Client c(s.port());
  Reply r = c.Post("/v1/replays", s.tokens().operator_, json::serialize(RevisedRuleset()));
  EXPECT_EQ(r.status, 503) << r;
  EXPECT_EQ(r.ErrorCode(), "busy");
  EXPECT_EQ(r.Header("retry-after"), "5");
  EXPECT_EQ(c.Get("/v1/events/a2/explain", s.tokens().auditor).status, 503);
  // A read ?as_of folds history too: it waits its turn with the audit work.
  EXPECT_EQ(c.Get("/v1/providers/P-A/invoices/2024-04?as_of=3", s.tokens().auditor).status, 503);
  // Other reads are not held up.
  EXPECT_EQ(c.Get("/v1/providers/P-A/invoices/2024-04", s.tokens().auditor).status, 200);
}

TEST(LedgerdTest, DuplicatesAreAnsweredWithTheOriginalSeq) {
  TestServer s;
  s.Seed(History());
  Client c(s.port());
  Reply first = c.Post("/v1/events", s.tokens().recorder, Array({Mission("m1"), Mission("m2")}));
  ASSERT_EQ(first.status, 200) << first;
  EXPECT_EQ(first.Json().at("appended"), 2);
  EXPECT_EQ(first.Json().at("duplicates"), 0);
  EXPECT_EQ(first.Header("ledger-seq"), std::to_string(History().size() + 2));
  Reply again = c.Post("/v1/events", s.tokens().operator_, Array({Mission("m2"), Mission("m3")}));
  ASSERT_EQ(again.status, 200) << again;
  const json::value v = again.Json();
  EXPECT_EQ(v.at("appended"), 1);
  EXPECT_EQ(v.at("duplicates"), 1);
  EXPECT_EQ(v.at("results").at(0).at("id"), "m2");
  EXPECT_EQ(v.at("results").at(0).at("status"), "duplicate");
  EXPECT_EQ(v.at("results").at(0).at("seq"), first.Json().at("results").at(1).at("seq"));
  EXPECT_EQ(v.at("results").at(1).at("status"), "appended");
  EXPECT_EQ(v.at("results").at(1).at("seq"), History().size() + 3);
}

TEST(LedgerdTest, QueryArgumentsAreChecked) {
  TestServer s;
  s.Seed(History());
  const std::string a = s.tokens().auditor;
  Client c(s.port());
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"/v1/events?from=0", "from"},
      {"/v1/events?from=abc", "from"},
      {"/v1/events?limit=0", "limit"},
      {"/v1/events?limit=100000000", "limit"},
      {"/v1/providers/P-A/invoices/2024-13", "month"},
      {"/v1/providers/P-A/invoices/May", "month"},
      {std::string("/v1/beneficiaries/") + kNissA + "/quota", "on"},
      {std::string("/v1/beneficiaries/") + kNissA + "/quota?on=2024-02-30", "on"},
      {"/v1/beneficiaries/12345678901/quota?on=2024-05-31", "niss"},
      {"/v1/networks/N-A/balances/twenty", "year"},
      {"/v1/networks/N-A/balances/2024?as_of=x", "as_of"},
      {"/v1/networks/N-A/balances/2024?as_of=", "as_of"},
  };
  for (const auto& [target, field] : bad) {
    Reply r = c.Get(target, a);
    EXPECT_EQ(r.status, 400) << target << ": " << r;
    EXPECT_EQ(r.ErrorField("field"), field) << target << ": " << r;
  }
  // Paging.
  Reply page = c.Get("/v1/events?from=2&limit=3", a);
  ASSERT_EQ(page.status, 200) << page;
  const json::value body = page.Json();
  const json::array& events = body.at("events").as_array();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].at("seq"), 2);
  EXPECT_EQ(events[0].at("id"), "net-N-B");
  EXPECT_EQ(events[0].at("hash").as_string().size(), 64u);
  EXPECT_FALSE(events[0].at("recorded_at").as_string().empty());
  EXPECT_EQ(page.Json().at("next_from"), 5);
  page = c.Get("/v1/events?from=1000", a);
  EXPECT_EQ(page.status, 200) << page;
  EXPECT_TRUE(page.Json().at("events").as_array().empty());
  // A huge `from` near the top of the seq range does not wrap around.
  page = c.Get("/v1/events?from=18446744073709551615&limit=10", a);
  EXPECT_EQ(page.status, 200) << page;
  EXPECT_TRUE(page.Json().at("events").as_array().empty()) << page;
  Reply verify = c.Get("/v1/audit/verify", a);
  ASSERT_EQ(verify.status, 200) << verify;
  EXPECT_EQ(verify.Json().at("ok"), true);
  EXPECT_EQ(verify.Json().at("events"), History().size());
  EXPECT_EQ(verify.Json().at("head").as_string().size(), 64u);
}

// Reads name the seq they reflect; as_of answers as the ledger knew it then.
TEST(LedgerdTest, ReadsCarryLedgerSeqAndAnswerAsOf) {
  TestServer s;
  s.Seed(History());
  const uint64_t first = s.LastSeq();
  s.Seed({Session("a4", "P-A", "N-A", kNissA, "2024-04-23")});
  const std::string a = s.tokens().auditor;
  Client c(s.port());
  Reply now = c.Get("/v1/providers/P-A/invoices/2024-04", a);
  ASSERT_EQ(now.status, 200) << now;
  EXPECT_EQ(now.Header("ledger-seq"), std::to_string(first + 1));
  EXPECT_EQ(now.Json().at("billable_lines"), 4);
  Reply then = c.Get("/v1/providers/P-A/invoices/2024-04?as_of=" + std::to_string(first), a);
  ASSERT_EQ(then.status, 200) << then;
  EXPECT_EQ(then.Header("ledger-seq"), std::to_string(first));
  EXPECT_EQ(then.Json().at("billable_lines"), 3);
  // The in-memory fold at the head equals the persisted projections.
  Reply head = c.Get("/v1/providers/P-A/invoices/2024-04?as_of=" + std::to_string(first + 1), a);
  EXPECT_EQ(head.body, now.body);
  // Beyond the head: refused, never clamped (a typo must not answer another seq).
  Reply beyond = c.Get("/v1/networks/N-A/balances/2024?as_of=999999", a);
  ASSERT_EQ(beyond.status, 400) << beyond;
  EXPECT_EQ(beyond.ErrorField("field"), "as_of");
  // At seq 0 the network did not exist yet: unknown then, 404 (never an answer of zeros).
  Reply zero = c.Get("/v1/networks/N-A/balances/2024?as_of=0", a);
  ASSERT_EQ(zero.status, 404) << zero;
  EXPECT_EQ(zero.ErrorCode(), "not_found");
  Reply quota = c.Get(std::string("/v1/beneficiaries/") + kNissA +
                          "/quota?on=2024-05-31&as_of=" + std::to_string(first),
                      a);
  EXPECT_EQ(quota.Json().at("trajectories").at(0).at("used"), 3) << quota;
}

// Reads are answered from a cache of rendered bodies while the projections stay at one seq; an
// append retires them, and a coordinator's filtered answer is never given to another reader.
TEST(LedgerdTest, CachedAnswersFollowTheProjections) {
  TestServer s;
  s.Seed(History());
  const Tokens& t = s.tokens();
  Client c(s.port());
  auto hits = [&] {
    const std::string m = c.Get("/metrics").body;
    const size_t at = m.find("\nledgerd_answer_cache_hits_total ");
    EXPECT_NE(at, std::string::npos) << m;
    return std::stoull(m.substr(m.find(' ', at + 1) + 1));
  };
  const std::string invoice = "/v1/providers/P-A/invoices/2024-04";
  const std::string balance = "/v1/networks/N-A/balances/2024";
  const std::string quota = std::string("/v1/beneficiaries/") + kNissA + "/quota?on=2024-05-31";
  Reply inv = c.Get(invoice, t.auditor), bal = c.Get(balance, t.auditor),
        quo = c.Get(quota, t.auditor);
  ASSERT_EQ(inv.status, 200) << inv;
  ASSERT_EQ(bal.status, 200) << bal;
  ASSERT_EQ(quo.status, 200) << quo;
  const uint64_t before = hits();
  // The same requests again: the same bytes and seq, from the cache.
  for (const auto& [target, first] : {std::pair{invoice, inv}, {balance, bal}, {quota, quo}}) {
    Reply again = c.Get(target, t.auditor);
    EXPECT_EQ(again.body, first.body) << target;
    EXPECT_EQ(again.Header("ledger-seq"), first.Header("ledger-seq")) << target;
  }
  EXPECT_EQ(hits(), before + 3);

  // Scope is part of the key: coordinator A's quota of a person cared for in both networks never
  // reaches coordinator B, nor the auditor's whole answer a coordinator.
  s.Seed({Session("a9", "P-A", "N-A", kNissB, "2024-04-25")});
  const std::string quota_b = std::string("/v1/beneficiaries/") + kNissB + "/quota?on=2024-05-31";
  Reply whole = c.Get(quota_b, t.auditor);
  ASSERT_EQ(whole.Json().at("trajectories").as_array().size(), 2u) << whole;
  for (const auto& [token, network] :
       {std::pair{t.coordinator_a, "N-A"}, {t.coordinator_b, "N-B"}, {t.coordinator_a, "N-A"}}) {
    Reply r = c.Get(quota_b, token);
    ASSERT_EQ(r.Json().at("trajectories").as_array().size(), 1u) << r;
    EXPECT_EQ(r.Json().at("trajectories").at(0).at("network_id"), network) << r;
  }
  EXPECT_EQ(c.Get(quota_b, t.auditor).body, whole.body);
  // Checks run before the cache: a cached answer does not open another network's balance.
  EXPECT_EQ(c.Get(balance, t.coordinator_b).status, 403);

  // An append moves the projections: the next answers are rendered afresh at the new seq.
  s.Seed({Session("a5", "P-A", "N-A", kNissA, "2024-04-26")});
  Reply after = c.Get(invoice, t.auditor);
  ASSERT_EQ(after.status, 200) << after;
  EXPECT_EQ(after.Header("ledger-seq"), std::to_string(s.LastSeq()));
  // a9 (for the other person) and a5, both P-A's in April.
  EXPECT_EQ(after.Json().at("billable_lines").as_int64(),
            inv.Json().at("billable_lines").as_int64() + 2);
  Reply bal_after = c.Get(balance, t.auditor);
  EXPECT_GT(bal_after.Json().at("consumed_cents").as_int64(),
            bal.Json().at("consumed_cents").as_int64());
  EXPECT_EQ(c.Get(quota, t.auditor).Json().at("trajectories").at(0).at("used").as_int64(),
            quo.Json().at("trajectories").at(0).at("used").as_int64() + 1);
}

// ---------------------------------------------------------------------------------------------
// Limits, timeouts and malformed requests.

TEST(LedgerdTest, ContentTypeOtherThanJsonIs415) {
  TestServer s;
  Client c(s.port());
  for (const std::string type : {"text/plain", "", "application/xml", "multipart/form-data"}) {
    Reply r = c.Post("/v1/events", s.tokens().recorder, Mission("m1"), type);
    EXPECT_EQ(r.status, 415) << "'" << type << "': " << r;
    EXPECT_EQ(r.ErrorCode(), "unsupported_media_type");
  }
  EXPECT_EQ(
      c.Post("/v1/events", s.tokens().recorder, Mission("m1"), "application/json; charset=utf-8")
          .status,
      200);
  EXPECT_EQ(s.LastSeq(), 1u);
}

TEST(LedgerdTest, BodyOverTheLimitIs413) {
  ServerOptions o = TestOptions();
  o.body_bytes_max = 4096;
  TestServer s(o);
  std::string big;
  for (int i = 0; big.size() < 20000; ++i) big += Mission("big-" + std::to_string(i)) + "\n";

  // The whole body sent at once.
  {
    Client c(s.port());
    Reply r = c.Post("/v1/events", s.tokens().recorder, big, "application/x-ndjson");
    EXPECT_EQ(r.status, 413) << r;
    EXPECT_EQ(r.ErrorCode(), "payload_too_large") << r;
    EXPECT_FALSE(r.keep_alive);
  }
  // Announced by Content-Length; refused before the body arrives.
  {
    Client c(s.port());
    ASSERT_TRUE(c.SendRaw(
        "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + s.tokens().recorder +
        "\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n["));
    Reply r = c.Read(10s);
    EXPECT_EQ(r.status, 413) << r;
  }
  // Chunked, growing past the limit.
  {
    Client c(s.port());
    std::string raw =
        "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + s.tokens().recorder +
        "\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 10; ++i) raw += "3e8\r\n" + std::string(1000, ' ') + "\r\n";
    raw += "0\r\n\r\n";
    ASSERT_TRUE(c.SendRaw(raw));
    Reply r = c.Read(10s);
    EXPECT_EQ(r.status, 413) << r;
  }
  // Just under the limit is fine; nothing of the refused bodies was stored.
  Client c(s.port());
  EXPECT_EQ(c.Post("/v1/events", s.tokens().recorder, Mission("small")).status, 200);
  EXPECT_EQ(s.LastSeq(), 1u);
}

TEST(LedgerdTest, HeaderOverTheLimitIs431) {
  ServerOptions o = TestOptions();
  o.header_bytes_max = 2048;
  TestServer s(o);
  Client c(s.port());
  ASSERT_TRUE(c.SendRaw("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: " + std::string(8000, 'a') +
                        "\r\n\r\n"));
  Reply r = c.Read(10s);
  EXPECT_EQ(r.status, 431) << r;
  EXPECT_TRUE(c.ClosedWithin(5s));
  // A long target counts too.
  Client c2(s.port());
  ASSERT_TRUE(
      c2.SendRaw("GET /healthz?" + std::string(8000, 'q') + " HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(c2.Read(10s).status, 431);
  EXPECT_EQ(Client(s.port()).Get("/healthz").status, 200);
}

TEST(LedgerdTest, IdleAndSlowConnectionsAreDropped) {
  ServerOptions o = TestOptions();
  o.read_timeout_ms = 300;
  o.idle_timeout_ms = 300;
  TestServer s(o);
  {
    // Connects and sends nothing.
    Client c(s.port());
    ASSERT_TRUE(c.connected());
    const auto t0 = Clock::now();
    EXPECT_TRUE(c.ClosedWithin(5s));
    EXPECT_GE(Clock::now() - t0, 250ms);
  }
  {
    // Sends half a request line, then nothing.
    Client c(s.port());
    ASSERT_TRUE(c.SendRaw("GET /heal"));
    EXPECT_TRUE(c.ClosedWithin(5s));
  }
  {
    // Trickles the headers one byte at a time, each within the timeout, the whole not.
    Client c(s.port());
    const std::string raw = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(100, 's');
    bool dropped = false;
    for (char ch : raw) {
      if (!c.SendRaw(std::string(1, ch))) {
        dropped = true;
        break;
      }
      std::this_thread::sleep_for(20ms);
    }
    EXPECT_TRUE(dropped || c.ClosedWithin(5s));
  }
  {
    // Kept alive after an answer, then idle.
    Client c(s.port());
    EXPECT_EQ(c.Get("/healthz").status, 200);
    EXPECT_TRUE(c.ClosedWithin(5s));
  }
  // The server is fine.
  EXPECT_EQ(Client(s.port()).Get("/healthz").status, 200);
}

// Over the connection limit, the connection idle the longest makes room: idle keep-alive
// clients cannot lock others out.
TEST(LedgerdTest, ConnectionsOverTheLimitCloseTheLongestIdle) {
  ServerOptions o = TestOptions();
  o.connections_max = 3;
  TestServer s(o);
  std::vector<std::unique_ptr<Client>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<Client>(s.port()));
    ASSERT_EQ(held.back()->Get("/healthz").status, 200);
    std::this_thread::sleep_for(5ms);  // idle since different times
  }
  Client over(s.port());
  EXPECT_EQ(over.Get("/healthz").status, 200);
  // The first one, idle the longest, was closed; the others still answer.
  EXPECT_TRUE(held[0]->ClosedWithin(2s));
  EXPECT_EQ(held[2]->Get("/healthz").status, 200);
  // Freed slots are given again.
  held.clear();
  bool served = false;
  for (int i = 0; i < 200 && !served; ++i) {
    Client again(s.port());
    served = again.Get("/healthz").status == 200;
    if (!served) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(served);
}

// The flood of the fault probe (issue 13.5): more idle keep-alive connections than the server
// takes, each having sent one request; a new client is still answered within a second.
TEST(LedgerdTest, ThousandsOfIdleConnectionsNeverKeepANewClientWaiting) {
  ServerOptions o = TestOptions();  // the default limit of 1024 connections
  ASSERT_EQ(o.connections_max, 1024);
  constexpr int kIdle = 2000;
  // This process holds both ends: the clients' sockets and the server's.
  rlimit lim{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &lim), 0);
  const rlim_t needed = kIdle + o.connections_max + 512;
  if (lim.rlim_cur < needed) {
    if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < needed) {
      GTEST_SKIP() << "SKIPPED: the hard open-file limit " << lim.rlim_max << " is below the "
                   << needed << " this test needs";
    }
    lim.rlim_cur = needed;
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lim), 0);
  }
  TestServer s(o);
  std::vector<std::unique_ptr<Client>> idle;
  idle.reserve(kIdle);
  for (int i = 0; i < kIdle; ++i) {
    idle.push_back(std::make_unique<Client>(s.port(), 5s));
    ASSERT_TRUE(idle.back()->connected()) << i;
    ASSERT_TRUE(idle.back()->SendRaw("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")) << i;
  }
  std::this_thread::sleep_for(200ms);  // every one answered and idle
  for (int round = 0; round < 5; ++round) {
    const auto start = std::chrono::steady_clock::now();
    Client fresh(s.port(), 2s);
    const Reply r = fresh.Get("/healthz");
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(r.status, 200) << round;
    EXPECT_LT(took, 1s) << round;
  }
}

TEST(LedgerdTest, MalformedRequestsNeverCrashOrStallTheServer) {
  ServerOptions o = TestOptions();
  o.read_timeout_ms = 500;
  TestServer s(o);
  s.Seed(History());
  const std::string auth = "Authorization: Bearer " + s.tokens().operator_ + "\r\n";
  const std::vector<std::string> raws = {
      "GARBAGE\r\n\r\n",
      "GET\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nNo colon here\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
      "POST /v1/events HTTP/1.1\r\nHost: x\r\n" + auth +
          "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n",
      "POST /v1/events HTTP/1.1\r\nHost: x\r\n" + auth +
          "Content-Type: application/json\r\nContent-Length: 3\r\nTransfer-Encoding: "
          "chunked\r\n\r\n0\r\n\r\n",
      std::string("GET /he\0lthz HTTP/1.1\r\n\r\n", 25),
      "GET /healthz HTTP/1.1\r\nHost: \x01\x02\x7f\r\n\r\n",
      "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  // a TLS ClientHello
      "GET /v1/events?from=%%%&limit=%00 HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n",
      "GET /v1/providers//invoices/ HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n",
      "GET /v1/providers/P-A/invoices/2024-04/../../x HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n",
      "POST /v1/events HTTP/1.1\r\nHost: x\r\n" + auth +
          "Content-Type: application/json\r\nContent-Length: "
          "30\r\n\r\n[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
      "POST /v1/events HTTP/1.1\r\nHost: x\r\n" + auth +
          "Content-Type: application/json\r\nContent-Length: 14\r\n\r\n\"\\ud800\\udc00\"",
  };
  auto send = [&](const std::string& raw) {
    Client c(s.port(), 10s);
    if (!c.SendRaw(raw)) return;
    c.ShutdownSend();
    Reply r = c.Read(5s);
    if (r.status) {
      EXPECT_GE(r.status, 400) << raw.substr(0, 60) << ": " << r;
      EXPECT_LT(r.status, 500) << raw.substr(0, 60) << ": " << r;
    }
    EXPECT_TRUE(c.ClosedWithin(5s)) << raw.substr(0, 60);
  };
  for (const std::string& raw : raws) send(raw);

  // Random damage to a valid append.
  const std::string valid =
      "POST /v1/events HTTP/1.1\r\nHost: x\r\n" + auth +
      "Content-Type: application/json\r\nContent-Length: " + std::to_string(Mission("fz").size()) +
      "\r\n\r\n" + Mission("fz");
  std::mt19937 rng(7);
  for (int i = 0; i < 150; ++i) {
    std::string raw = valid;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % raw.size();
      switch (rng() % 3) {
        case 0:
          raw[at] = static_cast<char>(rng() % 256);
          break;
        case 1:
          raw.erase(at, 1 + rng() % 8);
          break;
        default:
          raw.insert(at, std::string(1 + rng() % 4, static_cast<char>(rng() % 256)));
      }
    }
    send(raw);
  }
  Client c(s.port());
  EXPECT_EQ(c.Get("/healthz").status, 200);
  Reply verify = c.Get("/v1/audit/verify", s.tokens().auditor);
  EXPECT_EQ(verify.Json().at("ok"), true) << verify;
}

TEST(LedgerdTest, ManyRequestsOnOneKeptAliveConnection) {
  TestServer s;
  Client c(s.port());
  for (int i = 0; i < 40; ++i) {
    Reply r = i % 2 ? c.Get("/healthz")
                    : c.Post("/v1/events", s.tokens().recorder, Mission("k" + std::to_string(i)));
    ASSERT_EQ(r.status, 200) << i << ": " << r;
    EXPECT_TRUE(r.keep_alive);
  }
  // HTTP/1.0 without keep-alive: answered, then closed.
  ASSERT_TRUE(c.SendRaw("GET /healthz HTTP/1.0\r\n\r\n"));
  Reply r = c.Read();
  EXPECT_EQ(r.status, 200) << r;
  EXPECT_FALSE(r.keep_alive);
  EXPECT_TRUE(c.ClosedWithin(5s));
}

// ---------------------------------------------------------------------------------------------
// Group commit.

struct Appended {
  std::string id;
  uint64_t seq;
};

TEST(LedgerdTest, ConcurrentAppendsLoseNothingAndRepeatNoSeq) {
  TestServer s;
  constexpr int kClients = 16, kRequests = 12;
  std::vector<std::vector<Appended>> got(kClients);
  std::vector<std::string> failures(kClients);
  std::vector<std::thread> threads;
  for (int t = 0; t < kClients; ++t) {
    threads.emplace_back([&, t] {
      Client c(s.port());
      for (int r = 0; r < kRequests; ++r) {
        std::vector<std::string> events;
        for (int k = 0; k <= r % 3; ++k) {
          events.push_back(
              Mission("c" + std::to_string(t) + "-" + std::to_string(r) + "-" + std::to_string(k)));
        }
        Reply reply = r % 2 ? c.Post("/v1/events", s.tokens().recorder, Array(events))
                            : c.Post("/v1/events", s.tokens().recorder, Lines(events),
                                     "application/x-ndjson");
        if (reply.status != 200) {
          failures[t] = reply.body + reply.ec.message();
          return;
        }
        const json::value v = reply.Json();
        for (const auto& one : v.at("results").as_array()) {
          got[t].push_back(
              {std::string(one.at("id").as_string()), one.at("seq").to_number<uint64_t>()});
        }
        if (std::stoull(reply.Header("ledger-seq")) < got[t].back().seq) {
          failures[t] = "Ledger-Seq below the request's own seq";
          return;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kClients; ++t) EXPECT_EQ(failures[t], "") << "client " << t;

  std::map<uint64_t, std::string> answered;
  size_t total = 0;
  for (const auto& list : got) {
    for (const Appended& a : list) {
      ++total;
      EXPECT_TRUE(answered.emplace(a.seq, a.id).second) << "seq " << a.seq << " given twice";
    }
  }
  EXPECT_EQ(total, static_cast<size_t>(kClients * (4 + 4 * 2 + 4 * 3)));
  // Gapless from 1, and exactly what the log holds.
  ASSERT_FALSE(answered.empty());
  EXPECT_EQ(answered.begin()->first, 1u);
  EXPECT_EQ(answered.rbegin()->first, total);
  EXPECT_EQ(s.StoredIds(), answered);
  Client c(s.port());
  EXPECT_EQ(c.Get("/v1/audit/verify", s.tokens().auditor).Json().at("ok"), true);
  const std::string metrics = c.Get("/metrics").body;
  EXPECT_NE(metrics.find("ledgerd_append_group_events_count"), std::string::npos);
}

// With a slow disk the requests that arrive during one sync form the next group: a bad request
// in it is refused alone, the good ones are stored and answered.
TEST(LedgerdTest, OneRequestsBadEventDoesNotFailItsGroup) {
  auto disk = std::make_shared<DiskControl>();
  TestServer s(TestOptions(), disk);
  s.Seed(History());
  disk->sync_delay_ms = 500;
  const Tokens& t = s.tokens();

  struct Job {
    std::string name, body;
    int want;
  };
  const std::vector<Job> jobs = {
      {"good-1", Array({Mission("good-1a"), Mission("good-1b")}), 200},
      {"bad void", Array({Mission("bad-1a"), Void("bad-1b", "no-such-event")}), 400},
      {"good-2", Array({Mission("good-2a")}), 200},
      {"bad conflict", Array({Mission("bad-2a"), Replace(Session("a1"), "60", "50")}), 409},
      {"bad version",
       Array({Mission("bad-3a"), Replace(Mission("bad-3b"), R"("minutes": 90)",
                                         R"("minutes": 90, "expected_version": 0)")}),
       409},
      {"good-3", Array({Session("good-3a", "P-A", "N-A", kNissA, "2024-04-23")}), 200},
      // Same id as good-1a with other content, inside the same group: a conflict with it.
      {"bad in-group conflict",
       Array({Replace(Mission("good-1a"), "co_consultation", "outreach_coordination")}), 409},
  };
  // The first request occupies the writer for a slow sync; the others queue meanwhile.
  const int syncs = disk->syncs_started.load();
  std::thread warm([&] {
    Client c(s.port());
    EXPECT_EQ(c.Post("/v1/events", t.recorder, Mission("warm")).status, 200);
  });
  const auto deadline = Clock::now() + 10s;
  while (disk->syncs_started.load() == syncs && Clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  std::vector<Reply> replies(jobs.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < jobs.size(); ++i) {
    threads.emplace_back([&, i] {
      // Staggered a little so that good-1 precedes the in-group conflict.
      std::this_thread::sleep_for(Ms(20 * i));
      Client c(s.port());
      replies[i] = c.Post("/v1/events", t.recorder, jobs[i].body);
    });
  }
  warm.join();
  for (auto& th : threads) th.join();
  disk->sync_delay_ms = 0;
  for (size_t i = 0; i < jobs.size(); ++i) {
    EXPECT_EQ(replies[i].status, jobs[i].want) << jobs[i].name << ": " << replies[i];
  }
  const std::set<std::string> ids = IdsOf(s.StoredIds());
  for (const char* id : {"warm", "good-1a", "good-1b", "good-2a", "good-3a"}) {
    EXPECT_EQ(ids.count(id), 1u) << id;
  }
  for (const char* id : {"bad-1a", "bad-1b", "bad-2a", "bad-3a", "bad-3b"}) {
    EXPECT_EQ(ids.count(id), 0u) << id;
  }
  EXPECT_EQ(s.LastSeq(), History().size() + 5);
  // The good requests were committed together, in one synced batch after the warm one.
  Client c(s.port());
  const std::string metrics = c.Get("/metrics").body;
  // Seed + warm + one group of the seven.
  EXPECT_NE(metrics.find("ledgerd_append_group_events_count 3\n"), std::string::npos) << metrics;
  EXPECT_EQ(c.Get("/v1/audit/verify", t.auditor).Json().at("ok"), true);
}

// A failed sync: that request and every later write answer 503; reads keep working.
TEST(LedgerdTest, AfterAFailedSyncWritesAnswer503AndReadsWork) {
  auto disk = std::make_shared<DiskControl>();
  TestServer s(TestOptions(), disk);
  s.Seed(History());
  const Tokens& t = s.tokens();
  Client c(s.port());
  disk->fail = true;
  Reply r = c.Post("/v1/events", t.recorder, Mission("lost"));
  EXPECT_EQ(r.status, 503) << r;
  EXPECT_EQ(r.ErrorCode(), "writes_stopped") << r;
  disk->fail = false;
  r = c.Post("/v1/events", t.recorder, Mission("later"));
  EXPECT_EQ(r.status, 503) << r;
  // Bad input is still answered as bad input.
  EXPECT_EQ(c.Post("/v1/events", t.recorder, "[").status, 400);

  Reply health = c.Get("/healthz");
  ASSERT_EQ(health.status, 200) << health;
  EXPECT_EQ(health.Json().at("last_seq"), History().size());
  EXPECT_EQ(health.Json().at("writes_stopped"), true);
  Reply events = c.Get("/v1/events?from=1", t.auditor);
  ASSERT_EQ(events.status, 200) << events;
  EXPECT_EQ(events.Json().at("events").as_array().size(), History().size());
  EXPECT_EQ(c.Get("/v1/audit/verify", t.auditor).Json().at("ok"), true);
  EXPECT_EQ(c.Get("/v1/providers/P-A/invoices/2024-04", t.auditor).status, 200);
  EXPECT_EQ(c.Get("/v1/networks/N-A/balances/2024", t.coordinator_a).status, 200);
  EXPECT_EQ(c.Get("/metrics").status, 200);
}

// Stop() lets an append being synced finish and answers it.
TEST(LedgerdTest, StopAnswersAnAppendInFlight) {
  auto disk = std::make_shared<DiskControl>();
  TestServer s(TestOptions(), disk);
  disk->sync_delay_ms = 300;
  const int syncs = disk->syncs_started.load();
  Reply r;
  std::thread client([&] {
    Client c(s.port());
    r = c.Post("/v1/events", s.tokens().recorder, Mission("in-flight"));
  });
  // Stop while the append is being synced.
  const auto deadline = Clock::now() + 10s;
  while (disk->syncs_started.load() == syncs && Clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  s.server().Stop(5000);
  client.join();
  EXPECT_EQ(r.status, 200) << r;
  EXPECT_FALSE(r.keep_alive);
}

// ---------------------------------------------------------------------------------------------
// The ledgerd binary: flags, config file, SIGTERM, restart; what the logs and metrics hold.

// ledgerd serves an existing ledger only (a mistyped --db is refused): an empty one, made as
// `ledgerctl append --db DIR /dev/null` would.
void CreateLedger(const std::string& db) {
  auto log = EventLog::Open(db);
  ASSERT_TRUE(log.ok()) << log.error().ToString();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(LedgerdProcessTest, SigtermStopsCleanlyAndARestartKeepsEverything) {
  TempDir dir("ledgerd_test");
  const Tokens t = MakeTokens(dir.path() + "/tokens");
  const std::string db = dir.path() + "/db", log = dir.path() + "/ledgerd.log",
                    port_file = dir.path() + "/port", config = dir.path() + "/ledgerd.conf";
  // Settings from a config file, one overridden by a flag.
  std::ofstream(config) << "# test\ndb = " << db << "\ntokens = " << dir.path()
                        << "/tokens\nlisten = 127.0.0.1:1\nthreads = 2\n"
                           "idle-timeout-ms = 5000   # seconds matter here\n";
  CreateLedger(db);
  std::map<uint64_t, std::string> stored;
  std::string head;
  std::string metrics;
  {
    Ledgerd d({"--config", config, "--listen", "127.0.0.1:0", "--port-file", port_file}, log,
              port_file);
    ASSERT_NE(d.port(), 0);
    Client c(d.port());
    Reply r = c.Post("/v1/events", t.operator_, Lines(History()), "application/x-ndjson");
    ASSERT_EQ(r.status, 200) << r;
    // Requests whose paths and bodies hold a NISS, valid or not, and every token.
    c.Get(std::string("/v1/beneficiaries/") + kNissA + "/quota?on=2024-05-31", t.coordinator_a);
    c.Get(std::string("/v1/beneficiaries/") + kNissB + "/quota?on=2024-05-31", t.auditor);
    c.Get("/v1/beneficiaries/90031210193/quota?on=2024-05-31", t.operator_);
    c.Post("/v1/events", t.recorder, Replace(Session("x1"), kNissA, "90031210193"));
    c.Post("/v1/events", t.coordinator_b, Session("x2", "P-B", "N-B", kNissB));
    c.Get("/v1/events", t.recorder);
    c.Get("/v1/events", "lt_not-a-real-token");
    const Reply events = c.Get("/v1/events?from=1", t.auditor);
    ASSERT_EQ(events.status, 200) << events;
    const json::value page = events.Json();
    for (const auto& e : page.at("events").as_array()) {
      stored[e.at("seq").to_number<uint64_t>()] = json::serialize(e);
    }
    const Reply verify = c.Get("/v1/audit/verify", t.auditor);
    ASSERT_EQ(verify.status, 200) << verify;
    head = std::string(verify.Json().at("head").as_string());
    metrics = c.Get("/metrics").body;
    // An idle kept-alive connection does not hold the stop up.
    Client idle(d.port());
    ASSERT_TRUE(idle.connected());
    EXPECT_EQ(d.StopWith(SIGTERM), 0);
  }
  ASSERT_EQ(stored.size(), History().size());

  // Neither the log nor the metrics hold a token or a NISS.
  const std::string logged = ReadFile(log);
  int request_lines = 0;
  std::istringstream lines(logged);
  for (std::string line; std::getline(lines, line);) {
    boost::system::error_code ec;
    const json::value v = json::parse(line, ec);
    EXPECT_FALSE(ec) << "not a JSON line: " << line;
    if (!ec && v.as_object().contains("route")) ++request_lines;
  }
  EXPECT_EQ(request_lines, 11) << "one line per request:\n" << logged;
  for (const std::string& secret :
       {t.recorder, t.coordinator_a, t.coordinator_b, t.auditor, t.operator_, std::string("lt_"),
        std::string(kNissA), std::string(kNissB), std::string("90031210193"),
        ToHex(Sha256::Of(t.operator_))}) {
    EXPECT_EQ(logged.find(secret), std::string::npos) << secret << " in the log:\n" << logged;
    EXPECT_EQ(metrics.find(secret), std::string::npos) << secret << " in the metrics";
  }
  EXPECT_NE(metrics.find("ledgerd_requests_total{route=\"/v1/beneficiaries/{niss}/quota\""),
            std::string::npos)
      << metrics;
  EXPECT_NE(logged.find("\"event\":\"stopped\""), std::string::npos) << logged;

  // A restart serves the same events, the same chain, and goes on from there.
  {
    Ledgerd d({"--config", config, "--listen", "127.0.0.1:0", "--port-file", port_file, "--quiet"},
              log, port_file);
    ASSERT_NE(d.port(), 0);
    Client c(d.port());
    const Reply health = c.Get("/healthz");
    ASSERT_EQ(health.status, 200) << health;
    EXPECT_EQ(health.Json().at("last_seq"), History().size());
    std::map<uint64_t, std::string> again;
    const Reply events = c.Get("/v1/events?from=1", t.auditor);
    ASSERT_EQ(events.status, 200) << events;
    const json::value page = events.Json();
    for (const auto& e : page.at("events").as_array()) {
      again[e.at("seq").to_number<uint64_t>()] = json::serialize(e);
    }
    EXPECT_EQ(again, stored);
    const Reply verify = c.Get("/v1/audit/verify", t.auditor);
    ASSERT_EQ(verify.status, 200) << verify;
    EXPECT_EQ(verify.Json().at("head"), json::value(head));
    Reply r =
        c.Post("/v1/events", t.recorder, Lines({Mission("after-restart")}), "application/x-ndjson");
    ASSERT_EQ(r.status, 200) << r;
    EXPECT_EQ(r.Json().at("results").at(0).at("seq"), History().size() + 1) << r;
    // The projections survived too, or were built again: a stop does not wait for a catch-up
    // under way (the first start's may not have ended on a loaded machine), and until the
    // next one ends the answers are those of the seq they name (Ledger-Seq).
    Reply invoice;
    for (const auto deadline = Clock::now() + 30s; Clock::now() < deadline;
         std::this_thread::sleep_for(20ms)) {
      invoice = c.Get("/v1/providers/P-A/invoices/2024-04", t.auditor);
      const std::string at = invoice.Header("ledger-seq");
      if (!at.empty() && std::stoull(at) >= History().size() + 1) break;
    }
    ASSERT_EQ(invoice.status, 200) << invoice;
    EXPECT_EQ(invoice.Header("ledger-seq"), std::to_string(History().size() + 1)) << invoice;
    EXPECT_EQ(invoice.Json().at("billable_lines"), 3) << invoice;
    EXPECT_EQ(d.StopWith(SIGINT), 0);
  }
}

// Runs ledgerctl with `args`; its stdout and stderr together, and its exit code.
std::pair<std::string, int> Ledgerctl(const std::string& args) {
  const std::string cmd = std::string(LEDGERCTL_BINARY) + " " + args + " 2>&1 </dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {"popen failed", -1};
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int status = pclose(p);
  return {out, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

// An auditor's ledgerctl beside a running ledgerd reads a snapshot; writes are refused with
// what to do instead, and work again once ledgerd has stopped.
TEST(LedgerdProcessTest, LedgerctlReadsBesideARunningLedgerd) {
  TempDir dir("ledgerd_test");
  const Tokens t = MakeTokens(dir.path() + "/tokens");
  const std::string db = dir.path() + "/db", port_file = dir.path() + "/port";
  const std::string at = " --db " + db;
  CreateLedger(db);
  {
    Ledgerd d({"--db", db, "--tokens", dir.path() + "/tokens", "--listen", "127.0.0.1:0",
               "--port-file", port_file, "--quiet"},
              dir.path() + "/ledgerd.log", port_file);
    ASSERT_NE(d.port(), 0);
    Client c(d.port());
    ASSERT_EQ(c.Post("/v1/events", t.operator_, Lines(History()), "application/x-ndjson").status,
              200);
    const std::string head =
        std::string(c.Get("/v1/audit/verify", t.auditor).Json().at("head").as_string());

    auto [verify, rc] = Ledgerctl("verify" + at);
    EXPECT_EQ(rc, 0) << verify;
    EXPECT_NE(verify.find("\"events\":10"), std::string::npos) << verify;
    EXPECT_NE(verify.find(head), std::string::npos) << verify;
    // The invoice as ledgerd answers it (from its projections, or folded if they lag).
    auto [invoice, rc2] = Ledgerctl("invoice --provider P-A --month 2024-04" + at);
    EXPECT_EQ(rc2, 0) << invoice;
    EXPECT_NE(invoice.find("\"fee_cents\":26007"), std::string::npos) << invoice;
    auto [explain, rc3] = Ledgerctl("explain --event a2" + at);
    EXPECT_EQ(rc3, 0) << explain;

    // Writes: refused, saying what to do; nothing stored.
    const std::string file = dir.path() + "/one.jsonl";
    std::ofstream(file) << Mission("m-beside") << "\n";
    auto [append, rc4] = Ledgerctl("append " + file + at);
    EXPECT_EQ(rc4, 3) << append;
    EXPECT_NE(append.find("another process"), std::string::npos) << append;
    EXPECT_NE(append.find("POST /v1/events"), std::string::npos) << append;
    auto [close, rc5] = Ledgerctl("close --month 2024-04" + at);
    EXPECT_EQ(rc5, 3) << close;
    EXPECT_EQ(c.Get("/healthz").Json().at("last_seq"), History().size());
    EXPECT_EQ(d.StopWith(SIGTERM), 0);
  }
  // ledgerd stopped: the log is ledgerctl's again.
  const std::string file = dir.path() + "/one.jsonl";
  auto [append, rc] = Ledgerctl("append " + file + at);
  EXPECT_EQ(rc, 0) << append;
  EXPECT_NE(append.find("\"appended\":1"), std::string::npos) << append;
}

// ---------------------------------------------------------------------------------------------
// A full disk, for real: ledgerd's ledger on a small tmpfs that a filler fills while appends
// go on. Needs root (mount); CI runs as root. Without root it is skipped, and says so.

class Tmpfs {
 public:
  Tmpfs(const std::string& path, const std::string& size) : path_(path) {
    std::filesystem::create_directories(path);
    const std::string data = "size=" + size + ",mode=0700";
    if (::mount("tmpfs", path.c_str(), "tmpfs", 0, data.c_str()) == 0) {
      mounted_ = true;
    } else {
      error_ = std::strerror(errno);
    }
  }
  ~Tmpfs() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::string path_;
  bool mounted_ = false;
  std::string error_;
};

// Writes `path` (appending) until the file system is full.
void FillUp(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  const std::string block(4096, 'x');
  while (::write(fd, block.data(), block.size()) > 0) {
  }
  ::close(fd);
}

std::string Missions(const std::string& prefix, int n) {
  std::vector<std::string> lines;
  for (int i = 0; i < n; ++i)
    lines.push_back(Mission(prefix + "-" + std::to_string(i), "P-F", "N-F"));
  return Lines(lines);
}

// Every stored event's id and seq, paged through GET /v1/events.
std::map<std::string, uint64_t> StoredEvents(Client& c, const std::string& token) {
  std::map<std::string, uint64_t> out;
  uint64_t from = 1;
  for (int page = 0; page < 10000; ++page) {
    Reply r = c.Get("/v1/events?from=" + std::to_string(from) + "&limit=1000", token);
    if (r.status != 200) {
      ADD_FAILURE() << r;
      break;
    }
    const json::value v = r.Json();
    const json::array& events = v.at("events").as_array();
    for (const auto& e : events) {
      out[std::string(e.at("id").as_string())] = e.at("seq").to_number<uint64_t>();
    }
    if (events.empty() || !v.as_object().contains("next_from") || v.at("next_from").is_null())
      break;
    from = v.at("next_from").to_number<uint64_t>();
  }
  return out;
}

TEST(LedgerdProcessTest, AFullDiskStopsWritesNotTheProcessAndReadsGoOn) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "NOT RUN: the full-disk test mounts a small tmpfs and needs root (CI runs "
                    "as root): run the suite as root to run it";
  }
  TempDir dir("ledgerd_test");
  const Tokens t = MakeTokens(dir.path() + "/tokens");
  const Tmpfs disk(dir.path() + "/disk", "16m");
  ASSERT_TRUE(disk.mounted()) << "as root, mounting a tmpfs failed: " << disk.error();
  const std::string db = dir.path() + "/disk/db", filler = dir.path() + "/disk/filler",
                    log = dir.path() + "/ledgerd.log", port_file = dir.path() + "/port";
  CreateLedger(db);
  const std::vector<std::string> args = {
      "--db",        db,        "--tokens", dir.path() + "/tokens", "--listen", "127.0.0.1:0",
      "--port-file", port_file, "--quiet"};
  std::map<std::string, uint64_t> acked;  // every event answered 200, with its seq
  auto post = [&](Client& c, const std::string& prefix) {
    Reply r = c.Post("/v1/events", t.recorder, Missions(prefix, 50), "application/x-ndjson");
    if (r.status == 200) {
      const json::value answer = r.Json();
      for (const auto& e : answer.at("results").as_array()) {
        acked[std::string(e.at("id").as_string())] = e.at("seq").to_number<uint64_t>();
      }
    } else {
      EXPECT_EQ(r.status, 503) << r;
      EXPECT_EQ(r.ErrorCode(), "writes_stopped") << r;
    }
    return r.status;
  };

  // 1. The disk fills up while appends go on: appends answer 503 writes_stopped, the process
  // lives, reads answer.
  {
    Ledgerd d(args, log, port_file);
    ASSERT_NE(d.port(), 0);
    Client c(d.port());
    for (int i = 0; i < 20; ++i) ASSERT_EQ(post(c, "before" + std::to_string(i)), 200);
    std::atomic<bool> full{false};
    std::thread fill([&] {
      FillUp(filler);
      full = true;
    });
    int refused = 0;
    for (int i = 0; (!full || refused < 20) && i < 5000; ++i) {
      if (post(c, "during" + std::to_string(i)) == 503) ++refused;
    }
    fill.join();
    EXPECT_GE(refused, 20);
    EXPECT_TRUE(d.running()) << "ledgerd died, status " << d.exit_status() << ":\n"
                             << ReadFile(log);
    Reply health = c.Get("/healthz");
    ASSERT_EQ(health.status, 200) << health;
    EXPECT_EQ(health.Json().at("writes_stopped"), true) << health;
    EXPECT_GE(health.Json().at("last_seq").to_number<uint64_t>(), acked.size()) << health;
    Reply verify = c.Get("/v1/audit/verify", t.auditor);
    EXPECT_EQ(verify.Json().at("ok"), true) << verify;
    EXPECT_EQ(c.Get("/v1/providers/P-F/invoices/2024-06", t.auditor).status, 200);
    const auto stored = StoredEvents(c, t.auditor);
    for (const auto& [id, seq] : acked) EXPECT_EQ(stored.count(id) ? stored.at(id) : 0, seq) << id;
    EXPECT_EQ(d.StopWith(SIGTERM), 0) << ReadFile(log);
  }

  // 2. Restarted on the still-full disk: it serves reads, answers appends 503, and says so.
  // (A refused append's write may have reached the disk before it failed: it may be stored,
  // never acknowledged; a client resends it and gets `duplicate`.)
  size_t stored_count = 0;
  FillUp(filler);  // what closing the log gave back (its preallocated WAL)
  {
    Ledgerd d(args, log, port_file);
    ASSERT_NE(d.port(), 0) << ReadFile(log);
    Client c(d.port());
    Reply health = c.Get("/healthz");
    EXPECT_EQ(health.Json().at("writes_stopped"), true) << health;
    EXPECT_EQ(post(c, "on-full-restart"), 503);
    const auto stored = StoredEvents(c, t.auditor);
    stored_count = stored.size();
    for (const auto& [id, seq] : acked) EXPECT_EQ(stored.count(id) ? stored.at(id) : 0, seq) << id;
    EXPECT_EQ(c.Get("/v1/audit/verify", t.auditor).Json().at("ok"), true);
    EXPECT_TRUE(d.running());
    EXPECT_EQ(d.StopWith(SIGTERM), 0) << ReadFile(log);
  }
  EXPECT_NE(ReadFile(log).find("\"event\":\"read_only\""), std::string::npos) << ReadFile(log);
  // ledgerctl's reads too, on the full disk, ledgerd stopped.
  auto [verify, rc] = Ledgerctl("verify --db " + db);
  EXPECT_EQ(rc, 0) << verify;
  EXPECT_NE(verify.find("\"events\":" + std::to_string(stored_count)), std::string::npos) << verify;
  EXPECT_NE(verify.find("reading it read-only"), std::string::npos) << verify;
  auto [invoice, rc2] = Ledgerctl("invoice --provider P-F --month 2024-06 --db " + db);
  EXPECT_EQ(rc2, 0) << invoice;

  // 3. Space freed, restarted: writes resume; every acknowledged event is there; verify holds.
  std::filesystem::remove(filler);
  {
    Ledgerd d(args, log, port_file);
    ASSERT_NE(d.port(), 0) << ReadFile(log);
    Client c(d.port());
    EXPECT_FALSE(c.Get("/healthz").Json().as_object().contains("writes_stopped"));
    EXPECT_EQ(post(c, "after"), 200);
    const auto stored = StoredEvents(c, t.auditor);
    for (const auto& [id, seq] : acked) EXPECT_EQ(stored.count(id) ? stored.at(id) : 0, seq) << id;
    Reply verify = c.Get("/v1/audit/verify", t.auditor);
    EXPECT_EQ(verify.Json().at("ok"), true) << verify;
    EXPECT_EQ(d.StopWith(SIGTERM), 0) << ReadFile(log);
  }
}

TEST(LedgerdProcessTest, BadSettingsAreRefusedAtStart) {
  TempDir dir("ledgerd_test");
  MakeTokens(dir.path() + "/tokens");
  const std::string log = dir.path() + "/ledgerd.log", port_file = dir.path() + "/port";
  auto exit_code = [&](std::vector<std::string> args) {
    int rc = 0;
    const pid_t pid = SpawnLedgerd(args, log, &rc);
    if (rc != 0) return -1;
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  const std::string db = dir.path() + "/db", tokens = dir.path() + "/tokens";
  EXPECT_EQ(exit_code({"--db", db, "--listen", "127.0.0.1:0"}), 2);  // no tokens
  EXPECT_EQ(exit_code({"--db", db, "--tokens", tokens, "--listen", "nowhere"}), 2);
  EXPECT_EQ(exit_code({"--db", db, "--tokens", tokens, "--listen", "127.0.0.1:0",
                       "--body-limit-bytes", "12x"}),
            2);
  EXPECT_EQ(exit_code({"--db", db, "--tokens", dir.path() + "/missing"}), 2);
  std::ofstream(dir.path() + "/bad.conf") << "colour = red\n";
  EXPECT_EQ(exit_code({"--config", dir.path() + "/bad.conf"}), 2);
  EXPECT_EQ(exit_code({"--help"}), 0);
}

}  // namespace
}  // namespace ledger
