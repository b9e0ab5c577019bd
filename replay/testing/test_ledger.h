// For tests of replay/ (and of the commands built on it): event builders as JSON lines, a
// temporary ledger, and rulesets derived from the shipped documents. Test-only.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/event_log.h"
#include "ledger/testing/temp_dir.h"
#include "projections/history.h"
#include "projections/projector.h"
#include "projections/ruleset.h"
#include "schemas/civil_date.h"
#include "schemas/json_codec.h"

namespace ledger::testing_replay {

namespace json = boost::json;

inline CivilDay D(std::string_view text) { return ToDay(ParseDate(text).value()); }
inline int32_t M(std::string_view text) { return ParseMonth(text).value(); }
// The day the test events are recorded on: after every care date used.
inline CivilDay RecordingDay() { return D("2026-11-01"); }

// A valid NISS for a birth date and a serial (check digits per the book, prefix 2 from 2000).
inline std::string Niss(std::string_view birth, int serial) {
  const CivilDate b = ParseDate(birth).value();
  const int64_t nine =
      static_cast<int64_t>(b.year % 100) * 10000000 + b.month * 100000 + b.day * 1000 + serial;
  const int64_t base = b.year >= 2000 ? 2000000000 + nine : nine;
  char out[16];
  std::snprintf(out, sizeof out, "%09lld%02lld", static_cast<long long>(nine),
                static_cast<long long>(97 - base % 97));
  return out;
}

struct Ben {
  std::string niss, birth;
  bool bim = false;
  json::object Json() const { return {{"niss", niss}, {"birth_date", birth}, {"bim", bim}}; }
};
inline Ben MakeBen(std::string_view birth, int serial, bool bim = false) {
  return Ben{Niss(birth, serial), std::string(birth), bim};
}

inline json::object Env(std::string_view id, std::string_view type, std::string_view date) {
  return {{"id", id}, {"type", type}, {"occurred_on", date}};
}
inline std::string Js(const json::object& o) { return json::serialize(o); }

inline std::string NetworkReg(std::string_view network, std::string_view population) {
  json::object o = Env("net-" + std::string(network), "network.registered", "2021-01-01");
  o["network_id"] = network;
  o["name"] = "network " + std::string(network);
  o["population"] = population;
  return Js(o);
}
inline std::string Enrol(std::string_view provider, std::string_view network,
                         std::string_view profession = "psychologist") {
  json::object o = Env("enr-" + std::string(provider) + "-" + std::string(network),
                       "provider.enrolled", "2021-01-01");
  o["provider_id"] = provider;
  o["network_id"] = network;
  o["profession"] = profession;
  return Js(o);
}
inline std::string Assess(std::string_view id, std::string_view date, std::string_view provider,
                          std::string_view network, const Ben& b) {
  json::object o = Env(id, "assessment.recorded", date);
  o["provider_id"] = provider;
  o["network_id"] = network;
  o["beneficiary"] = b.Json();
  return Js(o);
}
inline std::string Session(std::string_view id, std::string_view date, std::string_view provider,
                           std::string_view network, const Ben& b,
                           std::string_view function = "support") {
  json::object o = Env(id, "session.individual", date);
  o["provider_id"] = provider;
  o["network_id"] = network;
  o["beneficiary"] = b.Json();
  o["function"] = function;
  o["minutes"] = 60;
  o["location"] = "practice";
  return Js(o);
}
inline std::string Group(std::string_view id, std::string_view date, std::string_view network,
                         const std::vector<std::pair<std::string, std::string>>& facilitators,
                         const std::vector<Ben>& participants) {
  json::object o = Env(id, "session.group", date);
  json::array f;
  for (const auto& [provider, role] : facilitators) {
    f.push_back(json::object{{"provider_id", provider}, {"role", role}});
  }
  o["facilitators"] = std::move(f);
  o["network_id"] = network;
  o["function"] = "support";
  o["minutes"] = 120;
  o["location"] = "outreach";
  json::array ps;
  for (const Ben& b : participants) ps.push_back(b.Json());
  o["participants"] = std::move(ps);
  return Js(o);
}
inline std::string Mission(std::string_view id, std::string_view date, std::string_view provider,
                           std::string_view network, int minutes) {
  json::object o = Env(id, "support.mission", date);
  o["provider_id"] = provider;
  o["network_id"] = network;
  o["minutes"] = minutes;
  o["kind"] = "co_consultation";
  return Js(o);
}
inline std::string Void(std::string_view id, std::string_view date, std::string_view target) {
  json::object o = Env(id, "event.voided", date);
  o["target"] = target;
  o["reason"] = "recorded by mistake";
  return Js(o);
}
inline std::string Publish(std::string_view id, std::string_view date, const json::object& doc) {
  json::object o = Env(id, "ruleset.published", date);
  o["ruleset"] = doc;
  o["reason"] = "tariff revision";
  return Js(o);
}

// The shipped document of a ruleset id, to edit.
inline json::object ShippedDocument(std::string_view id) {
  for (const Ruleset& r : ShippedRulesets()) {
    if (r.id == id) return r.document;
  }
  ADD_FAILURE() << "no shipped ruleset " << id;
  return {};
}

// convention-2024 as version `version`, the individual session fee `before_cents` up to the day
// before `from` and `after_cents` from it; every other figure as shipped.
inline json::object Revision2024(int version, std::string_view from, int64_t after_cents,
                                 int64_t before_cents = 8669) {
  json::object doc = ShippedDocument("convention-2024");
  doc["version"] = version;
  json::array fees;
  for (const json::value& v : doc.at("fees").as_array()) {
    json::object row = v.as_object();
    if (row.at("item").as_string() != "individual_session") {
      fees.push_back(row);
      continue;
    }
    json::object early = row, late = row;
    early["cents"] = before_cents;
    early["to"] = FormatDay(D(from) - 1);
    late["cents"] = after_cents;
    late["from"] = from;
    fees.push_back(early);
    fees.push_back(late);
  }
  doc["fees"] = std::move(fees);
  return doc;
}

inline Ruleset Parsed(const json::object& doc) {
  auto r = ParseRuleset(doc);
  if (!r) {
    ADD_FAILURE() << r.error().ToString();
    return Ruleset{};
  }
  return std::move(r).value();
}

// A ledger in a temporary directory.
class TestLedger {
 public:
  TestLedger() { Reopen(); }

  // Closes the log and opens it again with `options` (e.g. without facts, as an older version
  // wrote logs, or in smaller chunks).
  void Reopen(LogOptions options = {}) {
    log_.reset();
    auto log = EventLog::Open(dir_.path(), std::move(options));
    if (!log) {
      ADD_FAILURE() << "open: " << log.error().ToString();
      std::abort();
    }
    log_ = std::move(log).value();
  }

  // Appends one atomic batch of JSON lines; a failure is a test failure.
  void Append(const std::vector<std::string>& events) {
    std::vector<DecodedEvent> batch;
    for (size_t i = 0; i < events.size(); ++i) {
      auto d = DecodeEventJson(events[i], static_cast<int64_t>(i), RecordingDay());
      if (!d) {
        ADD_FAILURE() << "decode: " << d.error().ToString() << "\n  " << events[i];
        return;
      }
      batch.push_back(std::move(d).value());
    }
    auto r = log_->AppendAll(batch);
    if (!r) ADD_FAILURE() << "append: " << r.error().ToString();
  }
  void Append(const std::vector<json::object>& events) {
    std::vector<std::string> lines;
    for (const json::object& e : events) lines.push_back(Js(e));
    Append(lines);
  }

  History Load() const {
    auto h = History::Load(*log_);
    if (!h) {
      ADD_FAILURE() << "load: " << h.error().ToString();
      return History();
    }
    return std::move(h).value();
  }
  EventLog& log() { return *log_; }

 private:
  TempDir dir_{"replay_test"};
  std::unique_ptr<EventLog> log_;
};

}  // namespace ledger::testing_replay
