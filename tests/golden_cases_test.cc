// The golden cases of shared/domain/cases (copied to tests/cases): each NAME.jsonl is appended
// to a fresh log and every figure of NAME.expected.json is checked against the projections:
// invoice totals and line counts, the unbillable lines (event id and reason), quotas, balances.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "ledger/event_log.h"
#include "ledger/testing/temp_dir.h"
#include "projections/history.h"
#include "projections/projector.h"
#include "projections/ruleset.h"
#include "projections/views.h"
#include "schemas/civil_date.h"
#include "schemas/json_codec.h"

#ifndef LEDGER_CASES_DIR
#error "LEDGER_CASES_DIR must name the directory of the golden cases"
#endif

namespace ledger {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The case names (NAME of NAME.jsonl), sorted.
std::vector<std::string> CaseNames() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(LEDGER_CASES_DIR, ec)) {
    if (entry.path().extension() == ".jsonl") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Compares an expected JSON value with the actual one: numbers by value (whatever their JSON
// kind), strings and booleans exactly, null as null, objects key by key (only the expected keys).
void ExpectMatches(const json::value& expected, const json::value* actual, const std::string& at) {
  if (actual == nullptr) {
    ADD_FAILURE() << at << ": missing, expected " << json::serialize(expected);
    return;
  }
  if (expected.is_number()) {
    EXPECT_TRUE(actual->is_number() &&
                actual->to_number<int64_t>() == expected.to_number<int64_t>())
        << at << ": expected " << json::serialize(expected) << ", got " << json::serialize(*actual);
  } else if (expected.is_object()) {
    if (!actual->is_object()) {
      ADD_FAILURE() << at << ": expected an object, got " << json::serialize(*actual);
      return;
    }
    for (const auto& [key, value] : expected.get_object()) {
      ExpectMatches(value, actual->get_object().if_contains(key), at + "." + std::string(key));
    }
  } else {
    EXPECT_EQ(json::serialize(expected), json::serialize(*actual)) << at;
  }
}

class GoldenCase : public testing::TestWithParam<std::string> {};

TEST_P(GoldenCase, MatchesExpected) {
  const fs::path dir(LEDGER_CASES_DIR);
  const std::string name = GetParam();
  const std::string events = ReadFile(dir / (name + ".jsonl"));
  boost::system::error_code jec;
  const json::value expected = json::parse(ReadFile(dir / (name + ".expected.json")), jec);
  ASSERT_FALSE(jec) << name << ".expected.json: " << jec.message();
  ASSERT_TRUE(expected.is_object());

  // Append the case as one batch.
  TempDir tmp{"golden_cases_test"};
  auto log = EventLog::Open(tmp.path());
  ASSERT_TRUE(log) << log.error().ToString();
  std::vector<DecodedEvent> batch;
  std::istringstream lines(events);
  std::string line;
  const CivilDay recording_day = ToDay({2026, 11, 1});
  while (std::getline(lines, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto d = DecodeEventJson(line, static_cast<int64_t>(batch.size()), recording_day);
    ASSERT_TRUE(d) << d.error().ToString();
    batch.push_back(std::move(d).value());
  }
  ASSERT_FALSE(batch.empty());
  auto appended = (*log)->AppendAll(batch);
  ASSERT_TRUE(appended) << appended.error().ToString();
  EXPECT_EQ(appended->appended, batch.size());

  auto history = History::Load(**log);
  ASSERT_TRUE(history) << history.error().ToString();
  const History& h = *history;
  const Projection p = Project(h, RulesetCatalog());

  const json::object& want = expected.get_object();
  size_t checked = 0;

  if (const json::value* invoices = want.if_contains("invoices")) {
    for (const json::value& v : invoices->as_array()) {
      const json::object& e = v.as_object();
      const std::string provider(e.at("provider_id").as_string());
      const std::string month(e.at("month").as_string());
      const std::optional<int32_t> yyyymm = ParseMonth(month);
      ASSERT_TRUE(yyyymm) << month;
      const json::object inv = InvoiceJson(h, p, provider, *yyyymm);
      const std::string at = "invoice " + provider + " " + month;
      EXPECT_EQ(std::string(inv.at("provider_id").as_string()), provider) << at;
      EXPECT_EQ(std::string(inv.at("month").as_string()), month) << at;
      for (const char* key : {"totals", "billable_lines", "unbillable_lines"}) {
        if (const json::value* x = e.if_contains(key)) {
          ExpectMatches(*x, inv.if_contains(key), at + " " + key);
          ++checked;
        }
      }
      if (const json::value* x = e.if_contains("unbillable")) {
        // The listed unbillable lines are exactly the invoice's unbillable lines.
        std::multiset<std::pair<std::string, std::string>> want_lines, got_lines;
        for (const json::value& u : x->as_array()) {
          want_lines.emplace(std::string(u.at("event_id").as_string()),
                             std::string(u.at("reason").as_string()));
        }
        for (const json::value& l : inv.at("lines").as_array()) {
          const json::object& lo = l.as_object();
          if (lo.at("billable").as_bool()) continue;
          got_lines.emplace(std::string(lo.at("event_id").as_string()),
                            std::string(lo.at("reason").as_string()));
        }
        EXPECT_EQ(got_lines, want_lines) << at << " unbillable lines";
        ++checked;
      }
      // Whatever the case lists, an invoice is self-consistent.
      const json::object& t = inv.at("totals").as_object();
      EXPECT_EQ(
          t.at("fee_cents").to_number<int64_t>(),
          t.at("copay_cents").to_number<int64_t>() + t.at("insurer_cents").to_number<int64_t>())
          << at;
      EXPECT_EQ(inv.at("lines").as_array().size(),
                static_cast<size_t>(inv.at("billable_lines").to_number<int64_t>() +
                                    inv.at("unbillable_lines").to_number<int64_t>()))
          << at;
    }
  }

  if (const json::value* quotas = want.if_contains("quotas")) {
    for (const json::value& v : quotas->as_array()) {
      const json::object& e = v.as_object();
      const std::string niss(e.at("niss").as_string());
      const std::string on(e.at("on").as_string());
      const std::optional<CivilDate> day = ParseDate(on);
      ASSERT_TRUE(day) << on;
      const json::object q = QuotaJson(h, p, niss, ToDay(*day));
      const std::string at = "quota " + niss + " " + on;
      EXPECT_EQ(std::string(q.at("niss").as_string()), niss) << at;
      EXPECT_EQ(std::string(q.at("on").as_string()), on) << at;
      // The trajectory named by the expected entry: same function (and network, start if given).
      const json::object* found = nullptr;
      for (const json::value& t : q.at("trajectories").as_array()) {
        const json::object& to = t.as_object();
        bool match = true;
        for (const char* key : {"function", "network_id", "started_on"}) {
          if (const json::value* x = e.if_contains(key)) {
            const json::value* y = to.if_contains(key);
            match = match && y && json::serialize(*x) == json::serialize(*y);
          }
        }
        if (match) {
          EXPECT_EQ(found, nullptr) << at << ": more than one trajectory matches";
          found = &to;
        }
      }
      ASSERT_NE(found, nullptr) << at << ": no matching trajectory in " << json::serialize(q);
      for (const auto& [key, value] : e) {
        if (key == "niss" || key == "on") continue;
        ExpectMatches(value, found->if_contains(key), at + " " + std::string(key));
        ++checked;
      }
    }
  }

  if (const json::value* balances = want.if_contains("balances")) {
    for (const json::value& v : balances->as_array()) {
      const json::object& e = v.as_object();
      const std::string network(e.at("network_id").as_string());
      const auto year = static_cast<int32_t>(e.at("year").to_number<int64_t>());
      const json::object b = BalanceJson(h, p, network, year);
      const std::string at = "balance " + network + " " + std::to_string(year);
      for (const auto& [key, value] : e) {
        ExpectMatches(value, b.if_contains(key), at + " " + std::string(key));
        ++checked;
      }
    }
  }

  EXPECT_GT(checked, 0u) << name << ": nothing checked";
}

std::string TestName(const testing::TestParamInfo<std::string>& info) {
  std::string out;
  for (char c : info.param) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

INSTANTIATE_TEST_SUITE_P(Cases, GoldenCase, testing::ValuesIn(CaseNames()), TestName);

TEST(GoldenCases, AllFourCasesArePresent) {
  const std::vector<std::string> names = CaseNames();
  EXPECT_GE(names.size(), 4u);
  for (const std::string& n : names) {
    EXPECT_TRUE(fs::exists(fs::path(LEDGER_CASES_DIR) / (n + ".expected.json"))) << n;
  }
}

}  // namespace
}  // namespace ledger
