// The fold tested at the boundaries of the rule book (shared/domain/convention.md), through the
// public API only: events as JSON lines appended to a temporary EventLog, History::Load,
// Project(history, RulesetCatalog()), and the invoice / quota / balance views.
//
// Every expectation is an exact figure in cents or an exact reason code.
#include "projections/projector.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ledger/event_log.h"
#include "ledger/testing/temp_dir.h"
#include "projections/history.h"
#include "projections/ruleset.h"
#include "projections/views.h"
#include "schemas/civil_date.h"
#include "schemas/json_codec.h"

namespace ledger {
namespace {

namespace json = boost::json;

// ---------------------------------------------------------------------------------------------
// Dates, NISS, beneficiaries.

CivilDay D(std::string_view text) {
  const std::optional<CivilDate> d = ParseDate(text);
  if (!d) {
    ADD_FAILURE() << "bad date in test: " << text;
    return 0;
  }
  return ToDay(*d);
}
std::string Plus(std::string_view date, int days) { return FormatDay(D(date) + days); }
int32_t M(std::string_view yyyymm) { return ParseMonth(yyyymm).value_or(0); }
CivilDay RecordingDay() { return ToDay({2026, 11, 1}); }

// A valid NISS for a birth date and a 3-digit serial: yymmdd + serial + check, where
// check = 97 - (nine digits mod 97), the nine digits prefixed by 2 for births from 2000.
std::string Niss(std::string_view birth, int serial) {
  const CivilDate b = *ParseDate(birth);
  const int64_t nine =
      static_cast<int64_t>(b.year % 100) * 10000000 + b.month * 100000 + b.day * 1000 + serial;
  const int64_t base = b.year >= 2000 ? 2000000000 + nine : nine;
  const int64_t check = 97 - base % 97;
  char out[16];
  std::snprintf(out, sizeof out, "%09lld%02lld", static_cast<long long>(nine),
                static_cast<long long>(check));
  return out;
}

struct Ben {
  std::string niss, birth;
  bool bim = false;
};
Ben MakeBen(std::string_view birth, int serial, bool bim = false) {
  return Ben{Niss(birth, serial), std::string(birth), bim};
}
json::value BenJson(const Ben& b) {
  return json::object{{"niss", b.niss}, {"birth_date", b.birth}, {"bim", b.bim}};
}

// ---------------------------------------------------------------------------------------------
// Event builders: each returns one JSON line.

json::object Env(std::string_view id, std::string_view type, std::string_view date) {
  return json::object{{"id", id}, {"type", type}, {"occurred_on", date}};
}
std::string Js(const json::object& o) { return json::serialize(o); }

std::string NetworkReg(std::string_view id, std::string_view network, std::string_view pop) {
  json::object o = Env(id, "network.registered", "2021-01-01");
  o["network_id"] = network;
  o["name"] = std::string("network ") + std::string(network);
  o["population"] = pop;
  return Js(o);
}
std::string Enrol(std::string_view id, std::string_view date, std::string_view provider,
                  std::string_view network, std::string_view profession = "psychologist") {
  json::object o = Env(id, "provider.enrolled", date);
  o["provider_id"] = provider;
  o["network_id"] = network;
  o["profession"] = profession;
  return Js(o);
}
std::string Left(std::string_view id, std::string_view date, std::string_view provider,
                 std::string_view network) {
  json::object o = Env(id, "provider.left", date);
  o["provider_id"] = provider;
  o["network_id"] = network;
  return Js(o);
}
std::string Budget(std::string_view id, std::string_view date, std::string_view network, int year,
                   int64_t cents) {
  json::object o = Env(id, "budget.allocated", date);
  o["network_id"] = network;
  o["year"] = year;
  o["care_budget_cents"] = cents;
  return Js(o);
}
std::string Assess(std::string_view id, std::string_view date, std::string_view provider,
                   std::string_view network, const Ben& b) {
  json::object o = Env(id, "assessment.recorded", date);
  o["provider_id"] = provider;
  o["network_id"] = network;
  o["beneficiary"] = BenJson(b);
  return Js(o);
}
std::string Exception(std::string_view id, std::string_view date, std::string_view provider,
                      std::string_view network, const Ben& b,
                      std::string_view function = "support") {
  json::object o = Env(id, "exception.granted", date);
  o["provider_id"] = provider;
  o["network_id"] = network;
  o["beneficiary"] = BenJson(b);
  o["function"] = function;
  o["reason"] = "clinical need";
  return Js(o);
}

struct Opt {
  std::string function = "support";
  std::string location = "practice";
  bool with_context = false;
  bool cpms = false;
  int minutes = 60;
};
std::string Session(std::string_view id, std::string_view date, std::string_view provider,
                    std::string_view network, const Ben& b, const Opt& opt = {}) {
  json::object o = Env(id, "session.individual", date);
  o["provider_id"] = provider;
  o["network_id"] = network;
  o["beneficiary"] = BenJson(b);
  o["function"] = opt.function;
  o["minutes"] = opt.minutes;
  o["location"] = opt.location;
  if (opt.with_context) o["with_context"] = true;
  if (opt.cpms) o["organiser"] = "cpms";
  return Js(o);
}
// `n` sessions `step` days apart, ids prefix1..prefixN.
std::vector<std::string> Series(std::string_view prefix, std::string_view first, int n, int step,
                                std::string_view provider, std::string_view network, const Ben& b,
                                const Opt& opt = {}) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(Session(std::string(prefix) + std::to_string(i + 1), Plus(first, i * step),
                          provider, network, b, opt));
  }
  return out;
}

struct Fac {
  std::string provider;
  std::string role = "psychologist";
};
json::array FacJson(const std::vector<Fac>& facs) {
  json::array a;
  for (const Fac& f : facs)
    a.push_back(json::object{{"provider_id", f.provider}, {"role", f.role}});
  return a;
}
std::string Group(std::string_view id, std::string_view date, std::string_view network,
                  const std::vector<Fac>& facs, const std::vector<Ben>& participants,
                  std::string_view function = "support", std::string_view location = "outreach",
                  bool cpms = false) {
  json::object o = Env(id, "session.group", date);
  o["facilitators"] = FacJson(facs);
  o["network_id"] = network;
  o["function"] = function;
  o["minutes"] = 120;
  o["location"] = location;
  json::array ps;
  for (const Ben& b : participants) ps.push_back(BenJson(b));
  o["participants"] = std::move(ps);
  if (cpms) o["organiser"] = "cpms";
  return Js(o);
}
std::string Community(std::string_view id, std::string_view date, std::string_view network,
                      const std::vector<Fac>& facs, int count, int minutes = 120,
                      int interaction = 90, bool defined_group = false) {
  json::object o = Env(id, "community.intervention", date);
  o["facilitators"] = FacJson(facs);
  o["network_id"] = network;
  o["minutes"] = minutes;
  o["interaction_minutes"] = interaction;
  o["participant_count"] = count;
  if (defined_group) o["defined_group"] = true;
  o["host"] = "a youth centre";
  return Js(o);
}
std::string Mission(std::string_view id, std::string_view date, std::string_view provider,
                    std::string_view network, int minutes) {
  json::object o = Env(id, "support.mission", date);
  o["provider_id"] = provider;
  o["network_id"] = network;
  o["minutes"] = minutes;
  o["kind"] = "co_consultation";
  return Js(o);
}
struct Cp {
  std::string provider;  // empty: no provider id (not paid)
  bool care = true;
  std::string role = "psychologist";
};
std::string Concert(std::string_view id, std::string_view date, std::string_view network,
                    const Ben& b, int units, const std::vector<Cp>& participants) {
  json::object o = Env(id, "concertation.held", date);
  o["network_id"] = network;
  o["beneficiary"] = BenJson(b);
  o["units"] = units;
  json::array ps;
  for (const Cp& p : participants) {
    json::object j;
    if (!p.provider.empty()) j["provider_id"] = p.provider;
    j["role"] = p.provider.empty() ? std::string("general_practitioner") : p.role;
    j["care_provider"] = p.care;
    ps.push_back(std::move(j));
  }
  o["participants"] = std::move(ps);
  return Js(o);
}
std::string Void(std::string_view id, std::string_view date, std::string_view target) {
  json::object o = Env(id, "event.voided", date);
  o["target"] = target;
  o["reason"] = "recorded by mistake";
  return Js(o);
}
std::string Publish(std::string_view id, std::string_view date, const json::object& ruleset) {
  json::object o = Env(id, "ruleset.published", date);
  o["ruleset"] = ruleset;
  o["reason"] = "tariff revision";
  return Js(o);
}

void Add(std::vector<std::string>& to, const std::vector<std::string>& from) {
  to.insert(to.end(), from.begin(), from.end());
}

// Three networks (adults, children, mixed) and providers enrolled since 2021-01-01:
// P1 psychologist (all three), P2 other (N-A), P3 orthopedagogue (N-A, N-C).
// PX appears in events but is enrolled nowhere.
std::vector<std::string> World() {
  return {
      NetworkReg("net-a", "N-A", "adults"),
      NetworkReg("net-c", "N-C", "children"),
      NetworkReg("net-m", "N-M", "mixed"),
      Enrol("p1-a", "2021-01-01", "P1", "N-A"),
      Enrol("p1-c", "2021-01-01", "P1", "N-C"),
      Enrol("p1-m", "2021-01-01", "P1", "N-M"),
      Enrol("p2-a", "2021-01-01", "P2", "N-A", "other"),
      Enrol("p3-a", "2021-01-01", "P3", "N-A", "orthopedagogue"),
      Enrol("p3-c", "2021-01-01", "P3", "N-C", "orthopedagogue"),
  };
}

// ---------------------------------------------------------------------------------------------
// The fixture: a temporary log, the events appended, the projection read back.

int64_t Int(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (!v || !v->is_number()) return INT64_MIN;
  return v->to_number<int64_t>();
}
std::string Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (!v) return "<absent>";
  if (v->is_null()) return "<null>";
  if (!v->is_string()) return json::serialize(*v);
  return std::string(v->get_string());
}

class Ledger {
 public:
  Ledger() {
    auto log = EventLog::Open(dir_.path());
    if (!log) {
      ADD_FAILURE() << "open: " << log.error().ToString();
      std::abort();
    }
    log_ = std::move(log).value();
  }
  explicit Ledger(const std::vector<std::string>& events) : Ledger() { Append(events); }

  // Appends one atomic batch and recomputes the projection.
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
    if (!r) {
      ADD_FAILURE() << "append: " << r.error().ToString();
      return;
    }
    auto h = History::Load(*log_);
    if (!h) {
      ADD_FAILURE() << "load: " << h.error().ToString();
      return;
    }
    history_ = std::make_unique<History>(std::move(h).value());
    projection_ = std::make_unique<Projection>(Project(*history_, RulesetCatalog()));
  }

  const History& history() const { return *history_; }
  const Projection& projection() const { return *projection_; }

  json::object Invoice(std::string_view provider, std::string_view month) const {
    return InvoiceJson(*history_, *projection_, provider, M(month));
  }
  // The invoice line of `provider` for `event_id`, read from the invoice of the month the fold
  // put it in; an empty object when there is none.
  json::object LineOf(std::string_view provider, std::string_view event_id) const {
    for (const ledger::Line& l : projection_->lines) {
      if (history_->providers.Name(l.provider) != provider) continue;
      if (history_->EventId(l.seq) != event_id) continue;
      const json::object inv = InvoiceJson(*history_, *projection_, provider, MonthOf(l.day));
      for (const json::value& v : inv.at("lines").as_array()) {
        if (v.as_object().at("event_id").as_string() == event_id) return v.as_object();
      }
      ADD_FAILURE() << "line of " << event_id << " missing from invoice " << json::serialize(inv);
      return {};
    }
    return {};
  }
  // True when any provider has a line for the event.
  bool HasLine(std::string_view event_id) const {
    for (const ledger::Line& l : projection_->lines) {
      if (history_->EventId(l.seq) == event_id) return true;
    }
    return false;
  }
  json::array Quota(const Ben& b, std::string_view on) const {
    return QuotaJson(*history_, *projection_, b.niss, D(on)).at("trajectories").as_array();
  }
  // The trajectory of a function in a network active on a date; empty when none.
  json::object Traj(const Ben& b, std::string_view on, std::string_view function,
                    std::string_view network) const {
    for (const json::value& v : Quota(b, on)) {
      const json::object& t = v.as_object();
      if (t.at("function").as_string() == function && t.at("network_id").as_string() == network) {
        return t;
      }
    }
    return {};
  }
  json::object Balance(std::string_view network, int year) const {
    return BalanceJson(*history_, *projection_, network, year);
  }

 private:
  TempDir dir_{"projector_test"};
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<History> history_ = std::make_unique<History>();
  std::unique_ptr<Projection> projection_ = std::make_unique<Projection>();
};

// A billable line with these amounts (insurer = fee - co-pay).
testing::AssertionResult Paid(const json::object& l, int64_t fee, int64_t copay) {
  if (l.empty()) return testing::AssertionFailure() << "no line";
  const json::value* b = l.if_contains("billable");
  if (!b || !b->is_bool() || !b->get_bool() || Int(l, "fee_cents") != fee ||
      Int(l, "copay_cents") != copay || Int(l, "insurer_cents") != fee - copay ||
      l.contains("reason")) {
    return testing::AssertionFailure()
           << "expected billable fee " << fee << " copay " << copay << " insurer " << fee - copay
           << ", got " << json::serialize(l);
  }
  return testing::AssertionSuccess();
}
// An unbillable line with this reason and zero amounts.
testing::AssertionResult Unpaid(const json::object& l, std::string_view reason) {
  if (l.empty()) return testing::AssertionFailure() << "no line";
  const json::value* b = l.if_contains("billable");
  if (!b || !b->is_bool() || b->get_bool() || Str(l, "reason") != reason ||
      Int(l, "fee_cents") != 0 || Int(l, "copay_cents") != 0 || Int(l, "insurer_cents") != 0) {
    return testing::AssertionFailure() << "expected unbillable '" << reason << "' with zero "
                                       << "amounts, got " << json::serialize(l);
  }
  return testing::AssertionSuccess();
}

// ---------------------------------------------------------------------------------------------
// Helpers themselves.

TEST(ProjectorTestHelpers, NissMatchesTheGoldenCases) {
  EXPECT_EQ(Niss("1990-03-12", 101), "90031210192");
  EXPECT_EQ(Niss("2003-07-01", 202), "03070120206");
  EXPECT_EQ(Niss("1980-11-30", 45), "80113004536");
}

// ---------------------------------------------------------------------------------------------
// Ages (book 1, 4 and 9: age on the care date; children up to and including 23, adults from 15).

TEST(ProjectorAge, ChildrenNetworkBillableTheDayBeforeThe24thBirthdayNotOnIt) {
  const Ben b = MakeBen("2000-06-15", 1);
  auto ev = World();
  ev.push_back(Session("c1", "2024-06-14", "P1", "N-C", b));
  ev.push_back(Session("c2", "2024-06-15", "P1", "N-C", b));
  Ledger L(ev);
  EXPECT_TRUE(Paid(L.LineOf("P1", "c1"), 8669, 0));
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "c2"), "age_outside_network"));
}

TEST(ProjectorAge, AdultsNetworkFrom15) {
  const Ben b = MakeBen("2009-07-10", 2);
  auto ev = World();
  ev.push_back(Session("a1", "2024-07-09", "P1", "N-A", b));  // 14
  ev.push_back(Session("a2", "2024-07-10", "P1", "N-A", b));  // 15
  ev.push_back(Session("a3", "2024-07-17", "P1", "N-A", b));
  Ledger L(ev);
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "a1"), "age_outside_network"));
  // The first billable session of the trajectory is free; a 15-year-old pays nothing in 2024.
  EXPECT_TRUE(Paid(L.LineOf("P1", "a2"), 8669, 0));
  EXPECT_TRUE(Paid(L.LineOf("P1", "a3"), 8669, 0));
  // Book 9: any non-voided session starts the trajectory, the unbillable one too.
  EXPECT_EQ(Str(L.Traj(b, "2024-07-10", "support", "N-A"), "started_on"), "2024-07-09");
  EXPECT_EQ(Int(L.Traj(b, "2024-07-10", "support", "N-A"), "used"), 1);
}

TEST(ProjectorAge, YoungCoPayExemptionEndsOnThe24thBirthday) {
  const Ben b = MakeBen("2000-06-15", 3);
  auto ev = World();
  ev.push_back(Session("y1", "2024-06-01", "P1", "N-A", b));
  ev.push_back(Session("y2", "2024-06-14", "P1", "N-A", b));  // 23
  ev.push_back(Session("y3", "2024-06-15", "P1", "N-A", b));  // 24
  Ledger L(ev);
  EXPECT_TRUE(Paid(L.LineOf("P1", "y1"), 8669, 0));
  EXPECT_TRUE(Paid(L.LineOf("P1", "y2"), 8669, 0));
  EXPECT_TRUE(Paid(L.LineOf("P1", "y3"), 8669, 1100));
}

TEST(ProjectorAge, MixedNetworkColumnIsFixedAtTheTrajectorysFirstSession) {
  // Starts at 23: children column (10 sessions), even after turning 24 inside the window.
  const Ben young = MakeBen("2000-06-15", 4);
  // Starts on the 24th birthday: adults column (8 sessions).
  const Ben adult = MakeBen("2000-06-15", 5);
  const Ben child = MakeBen("2014-01-01", 6);
  auto ev = World();
  Add(ev, Series("m", "2024-06-14", 11, 7, "P1", "N-M", young));
  Add(ev, Series("n", "2024-06-15", 9, 7, "P1", "N-M", adult));
  ev.push_back(Session("k1", "2024-06-14", "P1", "N-M", child));
  Ledger L(ev);

  EXPECT_TRUE(Paid(L.LineOf("P1", "m1"), 8669, 0));
  EXPECT_TRUE(Paid(L.LineOf("P1", "m2"), 8669, 1100));  // 24 by now: pays
  EXPECT_TRUE(Paid(L.LineOf("P1", "m10"), 8669, 1100));
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "m11"), "counter_exhausted"));
  const json::object tm = L.Traj(young, Plus("2024-06-14", 70), "support", "N-M");
  EXPECT_EQ(Str(tm, "column"), "children");
  EXPECT_EQ(Int(tm, "used"), 10);
  EXPECT_EQ(Int(tm, "max"), 10);
  EXPECT_EQ(Int(tm, "remaining"), 0);

  EXPECT_TRUE(Paid(L.LineOf("P1", "n1"), 8669, 0));
  EXPECT_TRUE(Paid(L.LineOf("P1", "n8"), 8669, 1100));
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "n9"), "counter_exhausted"));
  const json::object tn = L.Traj(adult, Plus("2024-06-15", 56), "support", "N-M");
  EXPECT_EQ(Str(tn, "column"), "adults");
  EXPECT_EQ(Int(tn, "used"), 8);
  EXPECT_EQ(Int(tn, "max"), 8);

  // A mixed network serves children too.
  EXPECT_TRUE(Paid(L.LineOf("P1", "k1"), 8669, 0));
  EXPECT_EQ(Str(L.Traj(child, "2024-06-14", "support", "N-M"), "column"), "children");
}

TEST(ProjectorAge, AgeOnBirthdays) {
  EXPECT_EQ(AgeOn(D("2000-06-15"), D("2024-06-14")), 23);
  EXPECT_EQ(AgeOn(D("2000-06-15"), D("2024-06-15")), 24);
  EXPECT_EQ(AgeOn(D("2009-07-10"), D("2024-07-09")), 14);
  EXPECT_EQ(AgeOn(D("2009-07-10"), D("2024-07-10")), 15);
  // Born on 29 February: a birthday on 29 February in leap years, counted from 1 March in
  // other years (a reading of the book, which is silent; see the report).
  EXPECT_EQ(AgeOn(D("2000-02-29"), D("2024-02-28")), 23);
  EXPECT_EQ(AgeOn(D("2000-02-29"), D("2024-02-29")), 24);
  EXPECT_EQ(AgeOn(D("2000-02-29"), D("2023-02-28")), 22);
  EXPECT_EQ(AgeOn(D("2000-02-29"), D("2023-03-01")), 23);
}

// ---------------------------------------------------------------------------------------------
// Dates at which the rules change (book 2).

TEST(ProjectorDates, YoungCoPayEndsOn20240201AndAdultsStillPay) {
  const Ben b20 = MakeBen("2003-05-05", 7);
  const Ben b24 = MakeBen("1999-05-05", 8);
  auto ev = World();
  ev.push_back(Session("t1", "2024-01-10", "P1", "N-A", b20));
  ev.push_back(Session("t2", "2024-01-31", "P1", "N-A", b20));
  ev.push_back(Session("t3", "2024-02-01", "P1", "N-A", b20));
  ev.push_back(Session("u1", "2024-01-10", "P1", "N-A", b24));
  ev.push_back(Session("u2", "2024-02-01", "P1", "N-A", b24));
  Ledger L(ev);
  EXPECT_TRUE(Paid(L.LineOf("P1", "t1"), 7500, 0));     // first
  EXPECT_TRUE(Paid(L.LineOf("P1", "t2"), 7500, 1100));  // 2024-01-31: still pays
  EXPECT_TRUE(Paid(L.LineOf("P1", "t3"), 7500, 0));     // 2024-02-01: 20 years old, free
  EXPECT_TRUE(Paid(L.LineOf("P1", "u2"), 7500, 1100));  // 24 years old: pays
}

TEST(ProjectorDates, FeeChangesOn20240401AndA2023CounterContinues) {
  const Ben b = MakeBen("1980-02-02", 9);
  auto ev = World();
  const char* dates[] = {"2023-06-05", "2023-07-05", "2023-08-07", "2023-09-05", "2023-10-05",
                         "2024-03-31", "2024-04-01", "2024-04-15", "2024-04-29"};
  for (int i = 0; i < 9; ++i) {
    ev.push_back(Session("f" + std::to_string(i + 1), dates[i], "P1", "N-A", b));
  }
  Ledger L(ev);
  EXPECT_TRUE(Paid(L.LineOf("P1", "f1"), 7500, 0));
  EXPECT_EQ(Str(L.LineOf("P1", "f1"), "rule"), "convention-2021@1:individual_session");
  EXPECT_TRUE(Paid(L.LineOf("P1", "f6"), 7500, 1100));  // 2024-03-31: 2021 fee
  EXPECT_EQ(Str(L.LineOf("P1", "f6"), "rule"), "convention-2021@1:individual_session");
  EXPECT_TRUE(Paid(L.LineOf("P1", "f7"), 8669, 1100));  // 2024-04-01: 2024 fee
  EXPECT_EQ(Str(L.LineOf("P1", "f7"), "rule"), "convention-2024@1:individual_session");
  EXPECT_TRUE(Paid(L.LineOf("P1", "f8"), 8669, 1100));
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "f9"), "counter_exhausted"));  // 6 before + 3 after

  const json::array q = L.Quota(b, "2024-04-30");
  ASSERT_EQ(q.size(), 1u);
  const json::object& t = q[0].as_object();
  EXPECT_EQ(Str(t, "started_on"), "2023-06-05");
  EXPECT_EQ(Str(t, "ends_on"), "2024-06-04");
  EXPECT_EQ(Int(t, "used"), 8);
  EXPECT_EQ(Int(t, "max"), 8);
  EXPECT_EQ(Int(t, "remaining"), 0);
}

TEST(ProjectorDates, CpmsAtSchoolFreeFrom20230901) {
  const Ben b = MakeBen("2010-03-03", 10);
  auto ev = World();
  ev.push_back(Session("k1", "2023-08-01", "P1", "N-C", b));
  ev.push_back(Session("k2", "2023-08-31", "P1", "N-C", b, {.location = "school", .cpms = true}));
  ev.push_back(Session("k3", "2023-09-01", "P1", "N-C", b, {.location = "school", .cpms = true}));
  ev.push_back(Session("k4", "2023-09-08", "P1", "N-C", b, {.location = "school"}));
  ev.push_back(Session("k5", "2023-09-15", "P1", "N-C", b, {.cpms = true}));  // practice
  Ledger L(ev);
  EXPECT_TRUE(Paid(L.LineOf("P1", "k1"), 7500, 0));
  EXPECT_TRUE(Paid(L.LineOf("P1", "k2"), 7500, 1100));
  EXPECT_TRUE(Paid(L.LineOf("P1", "k3"), 7500, 0));
  EXPECT_TRUE(Paid(L.LineOf("P1", "k4"), 7500, 1100));  // school, not organised by a CPMS
  EXPECT_TRUE(Paid(L.LineOf("P1", "k5"), 7500, 1100));  // CPMS, not at school
}

TEST(ProjectorDates, NoConventionBefore20210901AndCommunityBefore20240401) {
  const Ben b = MakeBen("1980-04-04", 11);
  const std::vector<Fac> two = {{"P1", "psychologist"}, {"P2", "other"}};
  auto ev = World();
  ev.push_back(Session("s0", "2021-08-31", "P1", "N-A", b));
  ev.push_back(Session("s1", "2021-09-01", "P1", "N-A", b));
  ev.push_back(Community("cm0", "2024-03-31", "N-A", two, 12));
  ev.push_back(Community("cm1", "2024-04-01", "N-A", two, 12));
  ev.push_back(Mission("mi0", "2021-08-31", "P1", "N-A", 60));
  Ledger L(ev);
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "s0"), "no_convention"));
  EXPECT_EQ(Str(L.LineOf("P1", "s0"), "rule"), "<null>");
  EXPECT_TRUE(Paid(L.LineOf("P1", "s1"), 7500, 0));
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "cm0"), "no_convention"));
  EXPECT_TRUE(Unpaid(L.LineOf("P2", "cm0"), "no_convention"));
  EXPECT_TRUE(Paid(L.LineOf("P1", "cm1"), 23118, 0));
  EXPECT_TRUE(Paid(L.LineOf("P2", "cm1"), 14565, 0));
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "mi0"), "no_convention"));
}

// ---------------------------------------------------------------------------------------------
// Trajectory windows (book 4 and 9).

TEST(ProjectorWindow, WindowEndIsTheDayBeforeTheSameDateOneYearLater) {
  EXPECT_EQ(WindowEnd(D("2024-04-02"), 12), D("2025-04-01"));
  EXPECT_EQ(WindowEnd(D("2024-02-29"), 12), D("2025-02-28"));
  EXPECT_EQ(WindowEnd(D("2023-03-01"), 12), D("2024-02-29"));
  EXPECT_EQ(WindowEnd(D("2024-01-01"), 12), D("2024-12-31"));
  EXPECT_EQ(WindowEnd(D("2023-12-31"), 12), D("2024-12-30"));
  EXPECT_EQ(WindowEnd(D("2023-11-06"), 12), D("2024-11-05"));
}

TEST(ProjectorWindow, LastDayCountsInTheOldTrajectoryNextDayStartsAFreshOne) {
  const Ben b = MakeBen("1985-01-01", 12);
  auto ev = World();
  ev.push_back(Session("w1", "2024-04-02", "P1", "N-A", b));
  ev.push_back(Session("w2", "2025-04-01", "P1", "N-A", b));
  ev.push_back(Session("w3", "2025-04-02", "P1", "N-A", b));
  Ledger L(ev);
  EXPECT_TRUE(Paid(L.LineOf("P1", "w1"), 8669, 0));
  EXPECT_TRUE(Paid(L.LineOf("P1", "w2"), 8669, 1100));  // last day of the window
  EXPECT_TRUE(Paid(L.LineOf("P1", "w3"), 8669, 0));     // a new trajectory: first is free

  const json::array q1 = L.Quota(b, "2025-04-01");
  ASSERT_EQ(q1.size(), 1u);
  EXPECT_EQ(Str(q1[0].as_object(), "started_on"), "2024-04-02");
  EXPECT_EQ(Str(q1[0].as_object(), "ends_on"), "2025-04-01");
  EXPECT_EQ(Int(q1[0].as_object(), "used"), 2);
  const json::array q2 = L.Quota(b, "2025-04-02");
  ASSERT_EQ(q2.size(), 1u);
  EXPECT_EQ(Str(q2[0].as_object(), "started_on"), "2025-04-02");
  EXPECT_EQ(Str(q2[0].as_object(), "ends_on"), "2026-04-01");
  EXPECT_EQ(Int(q2[0].as_object(), "used"), 1);
  EXPECT_EQ(Int(q2[0].as_object(), "remaining"), 7);
}

TEST(ProjectorWindow, WindowStartingOn29FebruaryEndsOn28February) {
  const Ben b = MakeBen("1985-01-01", 13);
  auto ev = World();
  ev.push_back(Session("l1", "2024-02-29", "P1", "N-A", b));
  ev.push_back(Session("l2", "2025-02-28", "P1", "N-A", b));
  ev.push_back(Session("l3", "2025-03-01", "P1", "N-A", b));
  Ledger L(ev);
  EXPECT_TRUE(Paid(L.LineOf("P1", "l1"), 7500, 0));
  EXPECT_TRUE(Paid(L.LineOf("P1", "l2"), 8669, 1100));
  EXPECT_TRUE(Paid(L.LineOf("P1", "l3"), 8669, 0));
  const json::object t = L.Traj(b, "2025-02-28", "support", "N-A");
  EXPECT_EQ(Str(t, "started_on"), "2024-02-29");
  EXPECT_EQ(Str(t, "ends_on"), "2025-02-28");
  EXPECT_EQ(Str(L.Traj(b, "2025-03-01", "support", "N-A"), "started_on"), "2025-03-01");
}

// ---------------------------------------------------------------------------------------------
// Counters (book 4).

TEST(ProjectorCounters, AdultSupportEightChildrenTenTreatmentTwenty) {
  const Ben adult = MakeBen("1980-05-05", 14);
  const Ben child = MakeBen("2012-01-01", 15);
  const Ben treated = MakeBen("1975-05-05", 16);
  const Ben adult21 = MakeBen("1981-05-05", 17);
  const Ben child21 = MakeBen("2011-01-01", 18);
  auto ev = World();
  Add(ev, Series("ca", "2024-04-08", 9, 7, "P1", "N-A", adult));
  Add(ev, Series("cb", "2024-04-08", 11, 7, "P1", "N-C", child));
  ev.push_back(Assess("ct-as", "2024-04-08", "P1", "N-A", treated));
  Add(ev, Series("ct", "2024-04-08", 21, 7, "P1", "N-A", treated, {.function = "treatment"}));
  Add(ev, Series("cd", "2022-03-07", 9, 7, "P1", "N-A", adult21));
  Add(ev, Series("ce", "2022-03-07", 11, 7, "P1", "N-C", child21));
  Ledger L(ev);

  EXPECT_TRUE(Paid(L.LineOf("P1", "ca8"), 8669, 1100));
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "ca9"), "counter_exhausted"));
  EXPECT_TRUE(Paid(L.LineOf("P1", "cb10"), 8669, 0));  // 12 years old in 2024: no co-pay
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "cb11"), "counter_exhausted"));
  EXPECT_TRUE(Paid(L.LineOf("P1", "ct1"), 8669, 0));
  EXPECT_TRUE(Paid(L.LineOf("P1", "ct20"), 8669, 1100));
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "ct21"), "counter_exhausted"));
  EXPECT_TRUE(Paid(L.LineOf("P1", "cd8"), 7500, 1100));
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "cd9"), "counter_exhausted"));
  EXPECT_TRUE(Paid(L.LineOf("P1", "ce10"), 7500, 1100));  // 2022: children pay too
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "ce11"), "counter_exhausted"));

  const json::object tt = L.Traj(treated, "2024-09-01", "treatment", "N-A");
  EXPECT_EQ(Int(tt, "used"), 20);
  EXPECT_EQ(Int(tt, "max"), 20);
  EXPECT_EQ(Int(tt, "remaining"), 0);
}

// ---------------------------------------------------------------------------------------------
// Co-pays (book 6).

TEST(ProjectorCoPay, FirstFreeThenBim400OrElse1100) {
  const Ben plain = MakeBen("1980-06-06", 19);
  const Ben bim = MakeBen("1980-06-06", 20, true);
  const Ben bim21 = MakeBen("1980-06-06", 21, true);
  auto ev = World();
  Add(ev, Series("a", "2024-05-06", 2, 7, "P1", "N-A", plain));
  Add(ev, Series("b", "2024-05-06", 2, 7, "P1", "N-A", bim));
  Add(ev, Series("c", "2023-05-08", 2, 7, "P1", "N-A", bim21));
  Ledger L(ev);
  EXPECT_TRUE(Paid(L.LineOf("P1", "a1"), 8669, 0));
  EXPECT_TRUE(Paid(L.LineOf("P1", "a2"), 8669, 1100));
  EXPECT_TRUE(Paid(L.LineOf("P1", "b1"), 8669, 0));
  EXPECT_TRUE(Paid(L.LineOf("P1", "b2"), 8669, 400));
  EXPECT_TRUE(Paid(L.LineOf("P1", "c1"), 7500, 0));
  EXPECT_TRUE(Paid(L.LineOf("P1", "c2"), 7500, 400));
}

// A published tariff revision with fees below the co-pays: the co-pay is capped at the fee.
TEST(ProjectorCoPay, NeverAboveTheFee) {
  json::object doc;
  for (const Ruleset& r : ShippedRulesets()) {
    if (r.id == "convention-2024") doc = r.document;
  }
  ASSERT_FALSE(doc.empty());
  doc["version"] = 2;
  for (json::value& f : doc["fees"].as_array()) {
    json::object& row = f.as_object();
    if (row["item"].as_string() == "individual_session") row["cents"] = 300;
    if (row["item"].as_string() == "group_session_other") row["cents"] = 500;
  }
  const Ben plain = MakeBen("1980-06-06", 22);
  const Ben bim = MakeBen("1980-06-06", 23, true);
  std::vector<Ben> four = {MakeBen("1970-01-01", 24), MakeBen("1970-01-01", 25),
                           MakeBen("1970-01-01", 26), MakeBen("1970-01-01", 27)};
  auto ev = World();
  ev.push_back(Publish("rev", "2024-05-01", doc));
  Add(ev, Series("a", "2024-05-06", 2, 7, "P1", "N-A", plain));
  Add(ev, Series("b", "2024-05-06", 2, 7, "P1", "N-A", bim));
  ev.push_back(Group("g", "2024-05-20", "N-A", {{"P2", "other"}, {"P1", "psychologist"}}, four));
  Ledger L(ev);
  EXPECT_EQ(Str(L.LineOf("P1", "a1"), "rule"), "convention-2024@2:individual_session");
  EXPECT_TRUE(Paid(L.LineOf("P1", "a1"), 300, 0));
  EXPECT_TRUE(Paid(L.LineOf("P1", "a2"), 300, 300));
  EXPECT_TRUE(Paid(L.LineOf("P1", "b2"), 300, 300));
  // 4 x 2.50 = 10.00 of co-pays, capped at the collecting facilitator's 5.00 fee.
  EXPECT_TRUE(Paid(L.LineOf("P2", "g"), 500, 500));
  EXPECT_TRUE(Paid(L.LineOf("P1", "g"), 23118, 0));
}

// ---------------------------------------------------------------------------------------------
// Daily limit (book 4 and 9).

TEST(ProjectorDailyLimit, SecondSessionSameDayUnlessWithContextAndNotCounted) {
  const Ben a = MakeBen("1980-07-07", 28);
  const Ben b = MakeBen("1980-07-07", 29);
  const Ben c = MakeBen("1980-07-07", 30);
  const Ben d = MakeBen("1980-07-07", 31);
  auto ev = World();
  ev.push_back(Session("d1", "2024-05-06", "P1", "N-A", a));
  ev.push_back(Session("d2", "2024-05-06", "P1", "N-A", a));
  ev.push_back(Session("d3", "2024-05-06", "P1", "N-A", a, {.with_context = true}));
  ev.push_back(Session("d4", "2024-05-06", "P3", "N-A", a));  // another provider
  Add(ev, Series("dd", "2024-05-07", 7, 1, "P1", "N-A", a));  // 05-07 .. 05-13
  ev.push_back(Session("e1", "2024-05-06", "P1", "N-A", b, {.with_context = true}));
  ev.push_back(Session("e2", "2024-05-06", "P1", "N-A", b));
  ev.push_back(Assess("c-as", "2024-05-01", "P1", "N-A", c));
  ev.push_back(Session("f1", "2024-05-06", "P1", "N-A", c));
  ev.push_back(Session("f2", "2024-05-06", "P1", "N-A", c, {.function = "treatment"}));
  ev.push_back(Session("h1", "2024-05-06", "PX", "N-A", d));  // not billable: no limit after it
  ev.push_back(Session("h2", "2024-05-06", "P1", "N-A", d));
  Ledger L(ev);

  EXPECT_TRUE(Paid(L.LineOf("P1", "d1"), 8669, 0));
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "d2"), "daily_limit"));
  EXPECT_TRUE(Paid(L.LineOf("P1", "d3"), 8669, 1100));
  EXPECT_TRUE(Unpaid(L.LineOf("P3", "d4"), "daily_limit"));
  EXPECT_EQ(Int(L.Traj(a, "2024-05-06", "support", "N-A"), "used"), 2);
  // The daily_limit sessions did not consume the counter: 2 + 6 = 8, the 7th next one is over.
  EXPECT_TRUE(Paid(L.LineOf("P1", "dd6"), 8669, 1100));
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "dd7"), "counter_exhausted"));

  EXPECT_TRUE(Paid(L.LineOf("P1", "e1"), 8669, 0));
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "e2"), "daily_limit"));
  // Per beneficiary, across functions.
  EXPECT_TRUE(Paid(L.LineOf("P1", "f1"), 8669, 0));
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "f2"), "daily_limit"));
  EXPECT_TRUE(Unpaid(L.LineOf("PX", "h1"), "provider_not_enrolled"));
  EXPECT_TRUE(Paid(L.LineOf("P1", "h2"), 8669, 0));
}

// ---------------------------------------------------------------------------------------------
// Assessment (book 3 and 9).

TEST(ProjectorAssessment, OnOrBeforeTheCareDateInTheSameNetwork) {
  const Ben none = MakeBen("1980-08-08", 32);
  const Ben same = MakeBen("1980-08-08", 33);
  const Ben after = MakeBen("1980-08-08", 34);
  const Ben other = MakeBen("2004-08-08", 35);
  const Opt treatment{.function = "treatment"};
  auto ev = World();
  ev.push_back(Session("n1", "2024-05-10", "P1", "N-A", none, treatment));
  ev.push_back(Assess("s-as", "2024-05-10", "P1", "N-A", same));
  ev.push_back(Session("s1", "2024-05-10", "P1", "N-A", same, treatment));
  ev.push_back(Assess("a-as", "2024-05-11", "P1", "N-A", after));
  ev.push_back(Session("a1", "2024-05-10", "P1", "N-A", after, treatment));
  ev.push_back(Session("a2", "2024-05-12", "P1", "N-A", after, treatment));
  ev.push_back(Assess("o-as", "2024-05-01", "P1", "N-C", other));
  ev.push_back(Session("o1", "2024-05-10", "P1", "N-A", other, treatment));
  Ledger L(ev);
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "n1"), "no_assessment"));
  EXPECT_TRUE(Paid(L.LineOf("P1", "s1"), 8669, 0));
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "a1"), "no_assessment"));
  EXPECT_TRUE(Paid(L.LineOf("P1", "a2"), 8669, 0));  // first billable of the trajectory
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "o1"), "no_assessment"));
}

// ---------------------------------------------------------------------------------------------
// Enrolment (book 9).

TEST(ProjectorEnrolment, FromTheEnrolledDateUpToAndIncludingTheLeftDate) {
  const Ben b = MakeBen("1980-09-09", 36);
  auto ev = World();
  ev.push_back(Enrol("p9-in", "2024-05-10", "P9", "N-A"));
  ev.push_back(Left("p9-out", "2024-06-20", "P9", "N-A"));
  ev.push_back(Enrol("p9-back", "2024-07-01", "P9", "N-A"));
  ev.push_back(Session("n1", "2024-05-09", "P9", "N-A", b));
  ev.push_back(Session("n2", "2024-05-10", "P9", "N-A", b));
  ev.push_back(Session("n3", "2024-06-20", "P9", "N-A", b));
  ev.push_back(Session("n4", "2024-06-21", "P9", "N-A", b));
  ev.push_back(Session("n5", "2024-07-01", "P9", "N-A", b));
  ev.push_back(Session("n6", "2024-07-02", "P9", "N-C", MakeBen("2010-01-01", 37)));
  Ledger L(ev);
  EXPECT_TRUE(Unpaid(L.LineOf("P9", "n1"), "provider_not_enrolled"));
  EXPECT_TRUE(Paid(L.LineOf("P9", "n2"), 8669, 0));
  EXPECT_TRUE(Paid(L.LineOf("P9", "n3"), 8669, 1100));
  EXPECT_TRUE(Unpaid(L.LineOf("P9", "n4"), "provider_not_enrolled"));
  EXPECT_TRUE(Paid(L.LineOf("P9", "n5"), 8669, 1100));
  EXPECT_TRUE(Unpaid(L.LineOf("P9", "n6"), "provider_not_enrolled"));  // other network
}

// ---------------------------------------------------------------------------------------------
// Which reason (book 9: no_convention, provider_not_enrolled, age_outside_network,
// no_assessment, daily_limit, counter_exhausted, group_too_small, community_requirements,
// concertation_requirements).

TEST(ProjectorReasons, TheFirstApplicableReasonInTheBooksOrder) {
  const Ben pa = MakeBen("1980-10-10", 38);
  const Ben pb = MakeBen("2000-09-01", 39);
  const Ben pc = MakeBen("1995-01-01", 40);
  const Ben pd = MakeBen("1980-10-10", 41);
  const Ben pe = MakeBen("1980-10-10", 42);
  const std::vector<Ben> three = {MakeBen("1970-02-02", 43), MakeBen("1970-02-02", 44),
                                  MakeBen("1970-02-02", 45)};
  const Opt treatment{.function = "treatment"};
  auto ev = World();
  // Not enrolled and no assessment.
  ev.push_back(Session("r1", "2024-05-06", "PX", "N-A", pa, treatment));
  // No convention and not enrolled.
  ev.push_back(Session("r2", "2021-08-31", "PX", "N-A", pa));
  // Ten sessions at 23 in a children network, the 11th at 24: out of age and over the counter.
  Add(ev, Series("pb", "2024-06-03", 10, 7, "P1", "N-C", pb));
  ev.push_back(Session("pb11", "2024-09-02", "P1", "N-C", pb));
  // Out of age and no assessment.
  ev.push_back(Session("r3", "2024-05-06", "P1", "N-C", pc, treatment));
  // No assessment and a second session that day.
  ev.push_back(Session("r4a", "2024-05-06", "P1", "N-A", pd));
  ev.push_back(Session("r4b", "2024-05-06", "P1", "N-A", pd, treatment));
  // A second session that day and over the counter.
  Add(ev, Series("pe", "2024-04-15", 8, 7, "P1", "N-A", pe));
  ev.push_back(Session("pe9", Plus("2024-04-15", 49), "P1", "N-A", pe));
  // Group too small: per facilitator, not enrolled comes first.
  ev.push_back(Group("g1", "2024-05-20", "N-A", {{"P1"}, {"PX"}}, three));
  // Treatment group too small and not assessed.
  ev.push_back(Group("g2", "2024-05-21", "N-A", {{"P1"}}, three, "treatment"));
  // Community requirements missed and a facilitator not enrolled; and before 2024-04-01.
  ev.push_back(Community("cm1", "2024-05-22", "N-A", {{"P1"}, {"PX"}}, 9));
  ev.push_back(Community("cm0", "2024-03-29", "N-A", {{"P1"}, {"P2", "other"}}, 9));
  Ledger L(ev);

  EXPECT_TRUE(Unpaid(L.LineOf("PX", "r1"), "provider_not_enrolled"));
  EXPECT_TRUE(Unpaid(L.LineOf("PX", "r2"), "no_convention"));
  EXPECT_TRUE(Paid(L.LineOf("P1", "pb10"), 8669, 0));
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "pb11"), "age_outside_network"));
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "r3"), "age_outside_network"));
  EXPECT_TRUE(Paid(L.LineOf("P1", "r4a"), 8669, 0));
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "r4b"), "no_assessment"));
  EXPECT_TRUE(Paid(L.LineOf("P1", "pe8"), 8669, 1100));
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "pe9"), "daily_limit"));
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "g1"), "group_too_small"));
  EXPECT_TRUE(Unpaid(L.LineOf("PX", "g1"), "provider_not_enrolled"));
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "g2"), "no_assessment"));
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "cm1"), "community_requirements"));
  EXPECT_TRUE(Unpaid(L.LineOf("PX", "cm1"), "provider_not_enrolled"));
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "cm0"), "no_convention"));
  EXPECT_TRUE(Unpaid(L.LineOf("P2", "cm0"), "no_convention"));
}

// ---------------------------------------------------------------------------------------------
// Groups (book 3, 5, 6 and 9).

TEST(ProjectorGroups, MinimumFeesAndCoPays2024) {
  const Ben ga = MakeBen("1970-01-20", 46), gb = MakeBen("1975-06-15", 47),
            gc = MakeBen("1985-09-09", 48), gd = MakeBen("1980-11-30", 49);
  const Ben kid = MakeBen("2010-01-01", 50);    // 14: outside an adults network
  const Ben young = MakeBen("2004-02-02", 51);  // 20: no co-pay in 2024
  const std::vector<Fac> two = {{"P1", "psychologist"}, {"P2", "other"}};
  auto ev = World();
  for (const Ben* b : {&ga, &gb, &gc}) {
    ev.push_back(Assess("as-" + b->niss, "2024-05-01", "P1", "N-A", *b));
  }
  ev.push_back(Assess("as-d", "2024-05-29", "P1", "N-A", gd));
  ev.push_back(Group("g1", "2024-05-20", "N-A",
                     {{"P1", "psychologist"}, {"P2", "other"}, {"P3", "orthopedagogue"}},
                     {ga, gb, gc, gd}));
  ev.push_back(Group("g2", "2024-05-21", "N-A", two, {ga, gb, gc}));
  ev.push_back(Group("g3", "2024-05-22", "N-A", two, {ga, gb, gc, kid}));
  ev.push_back(Group("g4", "2024-05-23", "N-A", two, {ga, gb, gc, gd, kid}));
  ev.push_back(Group("g5", "2024-05-24", "N-A",
                     {{"PX", "psychologist"}, {"P2", "other"}, {"P1", "psychologist"}},
                     {ga, gb, gc, gd}));
  ev.push_back(Group("g6", "2024-05-27", "N-A", {{"P1"}}, {ga, gb, gc, young}));
  ev.push_back(Group("g7", "2024-05-28", "N-A", two, {ga, gb, gc, gd}, "treatment"));
  ev.push_back(Group("g8", "2024-05-29", "N-A", two, {ga, gb, gc, gd}, "treatment"));
  // The role in the event decides the fee, not the profession enrolled.
  ev.push_back(Group("g9", "2024-05-30", "N-A", {{"P3", "orthopedagogue"}, {"P1", "other"}},
                     {ga, gb, gc, gd}));
  Ledger L(ev);

  EXPECT_TRUE(Paid(L.LineOf("P1", "g1"), 23118, 1000));
  EXPECT_TRUE(Paid(L.LineOf("P2", "g1"), 14565, 0));
  EXPECT_TRUE(Paid(L.LineOf("P3", "g1"), 23118, 0));
  EXPECT_EQ(Str(L.LineOf("P1", "g1"), "item"), "group_session_psychologist");
  EXPECT_EQ(Str(L.LineOf("P2", "g1"), "item"), "group_session_other");
  EXPECT_EQ(Str(L.LineOf("P3", "g1"), "rule"), "convention-2024@1:group_session_psychologist");
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "g2"), "group_too_small"));
  EXPECT_TRUE(Unpaid(L.LineOf("P2", "g2"), "group_too_small"));
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "g3"), "group_too_small"));  // the 14-year-old doesn't count
  EXPECT_TRUE(Unpaid(L.LineOf("P2", "g3"), "group_too_small"));
  EXPECT_TRUE(Paid(L.LineOf("P1", "g4"), 23118, 1000));  // ... and pays nothing
  EXPECT_TRUE(Paid(L.LineOf("P2", "g4"), 14565, 0));
  EXPECT_TRUE(Unpaid(L.LineOf("PX", "g5"), "provider_not_enrolled"));
  EXPECT_TRUE(Paid(L.LineOf("P2", "g5"), 14565, 1000));  // the first PAID facilitator collects
  EXPECT_TRUE(Paid(L.LineOf("P1", "g5"), 23118, 0));
  EXPECT_TRUE(Paid(L.LineOf("P1", "g6"), 23118, 750));  // the 20-year-old pays nothing
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "g7"), "no_assessment"));
  EXPECT_TRUE(Unpaid(L.LineOf("P2", "g7"), "no_assessment"));
  EXPECT_TRUE(Paid(L.LineOf("P1", "g8"), 23118, 1000));
  EXPECT_TRUE(Paid(L.LineOf("P2", "g8"), 14565, 0));
  EXPECT_TRUE(Paid(L.LineOf("P3", "g9"), 23118, 1000));
  EXPECT_TRUE(Paid(L.LineOf("P1", "g9"), 14565, 0));

  const json::object inv = L.Invoice("P1", "2024-05");
  EXPECT_EQ(Int(inv.at("totals").as_object(), "fee_cents"), 23118 * 5 + 14565);
  EXPECT_EQ(Int(inv.at("totals").as_object(), "copay_cents"), 3750);
  EXPECT_EQ(Int(inv.at("totals").as_object(), "insurer_cents"), 23118 * 5 + 14565 - 3750);
  EXPECT_EQ(Int(inv, "billable_lines"), 6);
  EXPECT_EQ(Int(inv, "unbillable_lines"), 3);
}

TEST(ProjectorGroups, Fees2021AndTheAdultSupportGroupCounterOfFive) {
  const Ben ha = MakeBen("1970-03-03", 52), hb = MakeBen("1970-03-03", 53),
            hc = MakeBen("1970-03-03", 54), hd = MakeBen("1970-03-03", 55),
            he = MakeBen("1970-03-03", 56);
  const std::vector<Fac> two = {{"P1", "psychologist"}, {"P2", "other"}};
  auto ev = World();
  for (int i = 0; i < 5; ++i) {
    ev.push_back(Group("h" + std::to_string(i + 1), Plus("2023-03-06", 7 * i), "N-A", two,
                       {ha, hb, hc, hd}));
  }
  ev.push_back(Group("h6", "2023-04-10", "N-A", two, {ha, hb, hc, hd, he}));
  // Only participants over their counter: they still count toward the minimum of 4.
  ev.push_back(Group("h7", "2023-04-17", "N-A", two, {ha, hb, hc, hd}));
  Ledger L(ev);
  EXPECT_TRUE(Paid(L.LineOf("P1", "h1"), 20000, 1000));
  EXPECT_TRUE(Paid(L.LineOf("P2", "h1"), 12601, 0));
  EXPECT_TRUE(Paid(L.LineOf("P1", "h5"), 20000, 1000));
  // The 6th: four participants over their counter pay nothing; the fees are unchanged.
  EXPECT_TRUE(Paid(L.LineOf("P1", "h6"), 20000, 250));
  EXPECT_TRUE(Paid(L.LineOf("P2", "h6"), 12601, 0));
  EXPECT_TRUE(Paid(L.LineOf("P1", "h7"), 20000, 0));
  EXPECT_TRUE(Paid(L.LineOf("P2", "h7"), 12601, 0));
  const json::object ta = L.Traj(ha, "2023-04-10", "support", "N-A");
  EXPECT_EQ(Int(ta, "group_used"), 5);
  EXPECT_EQ(Int(ta, "group_max"), 5);
  EXPECT_EQ(Int(ta, "used"), 0);
  EXPECT_EQ(Int(L.Traj(he, "2023-04-10", "support", "N-A"), "group_used"), 1);
}

// ---------------------------------------------------------------------------------------------
// Community interventions (book 3 and 9).

TEST(ProjectorCommunity, Requirements2024) {
  const std::vector<Fac> two = {{"P1", "psychologist"}, {"P2", "other"}};
  auto ev = World();
  ev.push_back(Community("cm1", "2024-05-06", "N-A", two, 10));
  ev.push_back(Community("cm2", "2024-05-07", "N-A", two, 5, 120, 90, true));
  ev.push_back(Community("cm3", "2024-05-08", "N-A", two, 9));
  ev.push_back(Community("cm4", "2024-05-09", "N-A", two, 10, 119, 90));
  ev.push_back(Community("cm5", "2024-05-10", "N-A", two, 10, 120, 89));
  ev.push_back(Community("cm6", "2024-05-13", "N-A", {{"P1"}}, 10));
  Ledger L(ev);
  EXPECT_TRUE(Paid(L.LineOf("P1", "cm1"), 23118, 0));
  EXPECT_TRUE(Paid(L.LineOf("P2", "cm1"), 14565, 0));
  EXPECT_EQ(Str(L.LineOf("P1", "cm1"), "item"), "community_intervention_psychologist");
  EXPECT_EQ(Str(L.LineOf("P2", "cm1"), "item"), "community_intervention_other");
  EXPECT_TRUE(Paid(L.LineOf("P1", "cm2"), 23118, 0));
  EXPECT_TRUE(Paid(L.LineOf("P2", "cm2"), 14565, 0));
  for (const char* id : {"cm3", "cm4", "cm5"}) {
    EXPECT_TRUE(Unpaid(L.LineOf("P1", id), "community_requirements")) << id;
    EXPECT_TRUE(Unpaid(L.LineOf("P2", id), "community_requirements")) << id;
  }
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "cm6"), "community_requirements"));
}

// ---------------------------------------------------------------------------------------------
// Support missions (book 5: per hour, pro rata per minute, half-up per line).

TEST(ProjectorMission, ProRataHalfUp) {
  auto ev = World();
  ev.push_back(Mission("m90", "2024-05-06", "P1", "N-A", 90));
  ev.push_back(Mission("m1", "2024-05-07", "P1", "N-A", 1));
  ev.push_back(Mission("m7", "2024-05-08", "P1", "N-A", 7));
  ev.push_back(Mission("m30", "2024-05-09", "P1", "N-A", 30));
  ev.push_back(Mission("m60", "2024-05-10", "P1", "N-A", 60));
  ev.push_back(Mission("n90", "2023-05-08", "P1", "N-A", 90));
  ev.push_back(Mission("n1", "2023-05-09", "P1", "N-A", 1));
  ev.push_back(Mission("n7", "2023-05-10", "P1", "N-A", 7));
  ev.push_back(Mission("x1", "2024-05-06", "PX", "N-A", 60));
  Ledger L(ev);
  EXPECT_TRUE(Paid(L.LineOf("P1", "m90"), 13004, 0));  // 130.035 -> 130.04
  EXPECT_TRUE(Paid(L.LineOf("P1", "m1"), 144, 0));     // 1.4448 -> 1.44
  EXPECT_TRUE(Paid(L.LineOf("P1", "m7"), 1011, 0));    // 10.1138 -> 10.11
  EXPECT_TRUE(Paid(L.LineOf("P1", "m30"), 4335, 0));   // 43.345 -> 43.35 (half-up)
  EXPECT_TRUE(Paid(L.LineOf("P1", "m60"), 8669, 0));
  EXPECT_EQ(Str(L.LineOf("P1", "m60"), "rule"), "convention-2024@1:support_mission_hour");
  EXPECT_TRUE(Paid(L.LineOf("P1", "n90"), 11250, 0));  // 2021: 75.00 an hour
  EXPECT_TRUE(Paid(L.LineOf("P1", "n1"), 125, 0));
  EXPECT_TRUE(Paid(L.LineOf("P1", "n7"), 875, 0));
  EXPECT_TRUE(Unpaid(L.LineOf("PX", "x1"), "provider_not_enrolled"));
  const json::object inv = L.Invoice("P1", "2024-05");
  EXPECT_EQ(Int(inv.at("totals").as_object(), "fee_cents"), 13004 + 144 + 1011 + 4335 + 8669);
}

// ---------------------------------------------------------------------------------------------
// Concertation (book 5 and 9).

TEST(ProjectorConcertation, UnitsParticipantsAndTreatmentTrajectory2024) {
  const Ben ct = MakeBen("1980-11-30", 57), cs = MakeBen("1980-11-30", 58),
            cn = MakeBen("1980-11-30", 59), c2 = MakeBen("1980-11-30", 60),
            c3 = MakeBen("1980-11-30", 61), c4 = MakeBen("1980-11-30", 62),
            c5 = MakeBen("1980-11-30", 63);
  const std::vector<Cp> three = {{"P1"}, {"P3"}, {""}};
  const Opt treatment{.function = "treatment"};
  auto ev = World();
  for (const Ben* b : {&ct, &c2, &c3, &c4, &c5}) {
    ev.push_back(Assess("as-" + b->niss, "2024-05-01", "P1", "N-A", *b));
    ev.push_back(Session("tr-" + b->niss, "2024-05-02", "P1", "N-A", *b, treatment));
  }
  ev.push_back(Session("sup-cs", "2024-05-02", "P1", "N-A", cs));
  ev.push_back(Concert("cc1", "2024-05-10", "N-A", ct, 2, three));
  ev.push_back(Concert("cc2", "2024-05-20", "N-A", ct, 3, three));             // 2 + 3 > 4
  ev.push_back(Concert("cc3", "2024-05-27", "N-A", ct, 2, three));             // 2 + 2 = 4
  ev.push_back(Concert("cc4", "2024-06-03", "N-A", ct, 1, three));             // 4 + 1 > 4
  ev.push_back(Concert("cc5", "2024-05-10", "N-A", cs, 1, three));             // support only
  ev.push_back(Concert("cc6", "2024-05-10", "N-A", cn, 1, three));             // no trajectory
  ev.push_back(Concert("cc7", "2024-05-10", "N-A", c2, 1, {{"P1"}, {"P3"}}));  // 2 participants
  ev.push_back(Concert("cc8", "2024-05-10", "N-A", c3, 1,
                       {{"P1"}, {"P3", false}, {"", false}}));      // 1 care provider
  ev.push_back(Concert("cc9", "2024-05-10", "N-A", c4, 5, three));  // 5 units at once
  ev.push_back(Concert("cc10", "2024-05-10", "N-A", c5, 1, {{"P1"}, {"PX"}, {""}}));
  Ledger L(ev);

  EXPECT_TRUE(Paid(L.LineOf("P1", "cc1"), 4334, 0));
  EXPECT_TRUE(Paid(L.LineOf("P3", "cc1"), 4334, 0));
  EXPECT_EQ(Str(L.LineOf("P3", "cc1"), "rule"), "convention-2024@1:concertation_unit");
  for (const char* id : {"cc2", "cc4", "cc5", "cc6", "cc7", "cc8", "cc9"}) {
    EXPECT_TRUE(Unpaid(L.LineOf("P1", id), "concertation_requirements")) << id;
    EXPECT_TRUE(Unpaid(L.LineOf("P3", id), "concertation_requirements")) << id;
  }
  EXPECT_TRUE(Paid(L.LineOf("P1", "cc3"), 4334, 0));
  EXPECT_TRUE(Paid(L.LineOf("P3", "cc3"), 4334, 0));
  // A paid participant must be enrolled in the network (see the report: a reading).
  EXPECT_TRUE(Paid(L.LineOf("P1", "cc10"), 2167, 0));
  EXPECT_TRUE(Unpaid(L.LineOf("PX", "cc10"), "provider_not_enrolled"));
}

TEST(ProjectorConcertation, OnePerTrajectoryUnder2021) {
  const Ben b = MakeBen("1980-12-12", 64);
  const std::vector<Cp> three = {{"P1"}, {"P3"}, {""}};
  auto ev = World();
  ev.push_back(Assess("as", "2023-05-01", "P1", "N-A", b));
  ev.push_back(Session("tr", "2023-05-02", "P1", "N-A", b, {.function = "treatment"}));
  ev.push_back(Concert("cc1", "2023-05-10", "N-A", b, 1, three));
  ev.push_back(Concert("cc2", "2023-06-10", "N-A", b, 1, three));
  Ledger L(ev);
  EXPECT_TRUE(Paid(L.LineOf("P1", "cc1"), 1875, 0));
  EXPECT_TRUE(Paid(L.LineOf("P3", "cc1"), 1875, 0));
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "cc2"), "concertation_requirements"));
  EXPECT_TRUE(Unpaid(L.LineOf("P3", "cc2"), "concertation_requirements"));
}

// Book 9: "the beneficiary has an active treatment trajectory in that network" (on the
// concertation's date). A treatment session on the same date, recorded after the
// concertation, starts a trajectory that is active on that date; the fold takes the
// concertation first (same date, lower seq) and finds none. The answer then depends on
// recording order.
TEST(ProjectorConcertation, SameDayTreatmentSessionRecordedAfterwardsCounts) {
  const Ben b = MakeBen("1980-12-12", 65);
  auto ev = World();
  ev.push_back(Assess("as", "2024-05-01", "P1", "N-A", b));
  ev.push_back(Concert("cc", "2024-05-02", "N-A", b, 2, {{"P1"}, {"P3"}, {""}}));
  ev.push_back(Session("tr", "2024-05-02", "P1", "N-A", b, {.function = "treatment"}));
  Ledger L(ev);
  EXPECT_TRUE(Paid(L.LineOf("P1", "tr"), 8669, 0));
  EXPECT_TRUE(Paid(L.LineOf("P1", "cc"), 4334, 0));
  EXPECT_TRUE(Paid(L.LineOf("P3", "cc"), 4334, 0));
}

// ---------------------------------------------------------------------------------------------
// The 2021 exception (book 4 and 9).

TEST(ProjectorException, OneExtraSupportSessionUnder2021Only) {
  const Ben xa = MakeBen("1980-01-01", 66), xb = MakeBen("1980-01-01", 67),
            xc = MakeBen("1980-01-01", 68), xd = MakeBen("1980-01-01", 69);
  auto ev = World();
  // Exception inside an active trajectory: the 9th is billable, the 10th not.
  Add(ev, Series("xa", "2023-01-09", 10, 7, "P1", "N-A", xa));
  ev.push_back(Exception("exa", "2023-01-20", "P1", "N-A", xa));
  // Exception in 2023, the 9th session priced under 2024: not billable.
  Add(ev, Series("xb", "2023-06-05", 8, 7, "P1", "N-A", xb));
  ev.push_back(Exception("exb", "2023-08-01", "P1", "N-A", xb));
  ev.push_back(Session("xb9", "2024-04-08", "P1", "N-A", xb));
  // Exception before any trajectory: no trajectory is active on its date, it adds nothing.
  ev.push_back(Exception("exc", "2023-01-02", "P1", "N-A", xc));
  Add(ev, Series("xc", "2023-01-09", 9, 7, "P1", "N-A", xc));
  // The 9th in the transition (2021 rules until 2024-03-31): billable.
  Add(ev, Series("xd", "2023-06-05", 8, 7, "P1", "N-A", xd));
  ev.push_back(Exception("exd", "2023-08-01", "P1", "N-A", xd));
  ev.push_back(Session("xd9", "2024-03-25", "P1", "N-A", xd));
  // Exception on the date of the first session, recorded after it: the trajectory is active.
  const Ben xe = MakeBen("1980-01-01", 94);
  Add(ev, Series("xe", "2023-01-09", 10, 7, "P1", "N-A", xe));
  ev.push_back(Exception("exe", "2023-01-09", "P1", "N-A", xe));
  Ledger L(ev);

  EXPECT_TRUE(Paid(L.LineOf("P1", "xa8"), 7500, 1100));
  EXPECT_TRUE(Paid(L.LineOf("P1", "xa9"), 7500, 1100));
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "xa10"), "counter_exhausted"));
  const json::object ta = L.Traj(xa, Plus("2023-01-09", 63), "support", "N-A");
  EXPECT_EQ(Int(ta, "used"), 9);
  EXPECT_EQ(Int(ta, "max"), 9);
  EXPECT_EQ(Int(ta, "remaining"), 0);
  EXPECT_FALSE(L.HasLine("exa"));  // an exception is not a priced event

  EXPECT_TRUE(Paid(L.LineOf("P1", "xb8"), 7500, 1100));
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "xb9"), "counter_exhausted"));
  EXPECT_EQ(Int(L.Traj(xb, "2024-04-08", "support", "N-A"), "max"), 8);

  EXPECT_TRUE(Unpaid(L.LineOf("P1", "xc9"), "counter_exhausted"));
  EXPECT_TRUE(Paid(L.LineOf("P1", "xd9"), 7500, 1100));
  EXPECT_TRUE(Paid(L.LineOf("P1", "xe9"), 7500, 1100));
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "xe10"), "counter_exhausted"));
}

// The shipped convention-2021 ruleset grants the exception for treatment too
// ("functions": ["support", "treatment"]), following book 9 ("of that function"); book 4 speaks
// of "one extra first-line individual session" only. Tested as shipped; see the report.
TEST(ProjectorException, TreatmentExceptionAsShipped) {
  const Ben b = MakeBen("1980-01-01", 70);
  auto ev = World();
  ev.push_back(Assess("as", "2023-01-02", "P1", "N-A", b));
  Add(ev, Series("t", "2023-01-09", 22, 7, "P1", "N-A", b, {.function = "treatment"}));
  ev.push_back(Exception("ex", "2023-01-20", "P1", "N-A", b, "treatment"));
  Ledger L(ev);
  EXPECT_TRUE(Paid(L.LineOf("P1", "t21"), 7500, 1100));
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "t22"), "counter_exhausted"));
}

// Book 9: "an exception.granted adds one individual session to the trajectory of that function
// and network that is active on the exception's date". A trajectory started by a session on the
// exception's date is active on that date; but when the exception was recorded before that
// session, the fold applies the exception first (same date, lower seq), finds no trajectory and
// drops it. The 9th session is then counter_exhausted, and the result depends on recording order.
TEST(ProjectorException, ExceptionOnTheFirstSessionsDateRecordedFirstCounts) {
  const Ben b = MakeBen("1980-01-01", 71);
  auto ev = World();
  ev.push_back(Exception("ex", "2023-01-09", "P1", "N-A", b));
  Add(ev, Series("x", "2023-01-09", 10, 7, "P1", "N-A", b));
  Ledger L(ev);
  EXPECT_TRUE(Paid(L.LineOf("P1", "x9"), 7500, 1100));
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "x10"), "counter_exhausted"));
}

// ---------------------------------------------------------------------------------------------
// Voids (book 8 and 10).

TEST(ProjectorVoids, AVoidedEventYieldsNoLineAndChangesWhatFollows) {
  const Ben va = MakeBen("1988-12-01", 72), vb = MakeBen("1988-12-01", 73),
            vc = MakeBen("1988-12-01", 74), vd = MakeBen("1988-12-01", 75),
            ve = MakeBen("1988-12-01", 76);
  auto ev = World();
  ev.push_back(Session("a1", "2024-06-03", "P1", "N-A", va));
  ev.push_back(Session("a2", "2024-06-10", "P1", "N-A", va));
  ev.push_back(Session("b1", "2024-06-03", "P1", "N-A", vb));
  ev.push_back(Session("b2", "2024-06-10", "P1", "N-A", vb));
  ev.push_back(Session("e1", "2024-06-03", "P1", "N-A", ve));
  ev.push_back(Session("e2", "2024-06-10", "P1", "N-A", ve));
  ev.push_back(Assess("c-as", "2024-06-01", "P1", "N-A", vc));
  ev.push_back(Session("c1", "2024-06-03", "P1", "N-A", vc, {.function = "treatment"}));
  ev.push_back(Enrol("pv-a", "2021-01-01", "PV", "N-A"));
  ev.push_back(Session("d1", "2024-06-03", "PV", "N-A", vd));
  ev.push_back(Void("v-a1", "2024-06-20", "a1"));
  ev.push_back(Void("v-b1", "2024-06-20", "b1"));
  ev.push_back(Void("v-v-b1", "2024-06-21", "v-b1"));  // restores b1
  ev.push_back(Void("v-e1", "2024-06-20", "e1"));
  ev.push_back(Void("v-v-e1", "2024-06-21", "v-e1"));
  ev.push_back(Void("v-v-v-e1", "2024-06-22", "v-v-e1"));  // e1 voided again
  ev.push_back(Void("v-c-as", "2024-06-20", "c-as"));
  ev.push_back(Void("v-pv-a", "2024-06-20", "pv-a"));
  Ledger L(ev);

  EXPECT_FALSE(L.HasLine("a1"));
  EXPECT_TRUE(Paid(L.LineOf("P1", "a2"), 8669, 0));  // now the first of the trajectory
  const json::array qa = L.Quota(va, "2024-06-30");
  ASSERT_EQ(qa.size(), 1u);
  EXPECT_EQ(Str(qa[0].as_object(), "started_on"), "2024-06-10");
  EXPECT_EQ(Int(qa[0].as_object(), "used"), 1);
  EXPECT_TRUE(L.Quota(va, "2024-06-05").empty());

  EXPECT_TRUE(Paid(L.LineOf("P1", "b1"), 8669, 0));
  EXPECT_TRUE(Paid(L.LineOf("P1", "b2"), 8669, 1100));
  EXPECT_FALSE(L.HasLine("e1"));
  EXPECT_TRUE(Paid(L.LineOf("P1", "e2"), 8669, 0));
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "c1"), "no_assessment"));
  EXPECT_TRUE(Unpaid(L.LineOf("PV", "d1"), "provider_not_enrolled"));

  const json::object inv = L.Invoice("P1", "2024-06");
  for (const json::value& v : inv.at("lines").as_array()) {
    const std::string id = Str(v.as_object(), "event_id");
    EXPECT_TRUE(id != "a1" && id != "e1") << id;
  }
  EXPECT_EQ(Int(inv, "billable_lines"), 4);    // a2, b1, b2, e2
  EXPECT_EQ(Int(inv, "unbillable_lines"), 1);  // c1
}

// ---------------------------------------------------------------------------------------------
// Order independence (book 9: care-date order, then seq).

// A history that touches most rules, without two same-day events of one beneficiary (whose
// relative order is, by the book, the recording order).
std::vector<std::string> RichHistory() {
  const Ben a = MakeBen("1980-01-15", 80), b = MakeBen("2006-03-01", 81),
            c = MakeBen("1985-05-05", 82), d = MakeBen("1970-01-01", 83),
            e = MakeBen("1971-01-01", 84), f = MakeBen("1972-01-01", 85),
            h = MakeBen("1979-09-09", 86, true), kid = MakeBen("2012-02-02", 87);
  auto ev = World();
  ev.push_back(Budget("bud-a", "2024-01-01", "N-A", 2024, 500000));
  ev.push_back(Budget("bud-c", "2024-01-01", "N-C", 2024, 90000));
  ev.push_back(Enrol("p8-in", "2024-04-10", "P8", "N-A"));
  ev.push_back(Left("p8-out", "2024-05-10", "P8", "N-A"));
  Add(ev, Series("ra", "2024-03-04", 10, 7, "P1", "N-A", a));  // crosses 2024-04-01
  Add(ev, Series("rb", "2024-01-08", 12, 7, "P3", "N-C", b));  // crosses 2024-02-01
  ev.push_back(Assess("rc-as", "2024-04-01", "P1", "N-A", c));
  Add(ev, Series("rc", "2024-04-03", 3, 7, "P1", "N-A", c, {.function = "treatment"}));
  ev.push_back(Concert("rc-cc", "2024-04-20", "N-A", c, 2, {{"P1"}, {"P3"}, {""}}));
  ev.push_back(Concert("rc-cc2", "2024-04-27", "N-A", c, 3, {{"P1"}, {"P3"}, {""}}));
  ev.push_back(Group("rg1", "2024-05-06", "N-A", {{"P1"}, {"P2", "other"}}, {a, d, e, f}));
  ev.push_back(Group("rg2", "2024-05-13", "N-A", {{"P8"}, {"P2", "other"}}, {d, e, f, c}));
  ev.push_back(Group("rg3", "2024-05-20", "N-A", {{"P1"}}, {d, e, f}));
  ev.push_back(Community("rcm", "2024-05-07", "N-A", {{"P1"}, {"P2", "other"}}, 12));
  ev.push_back(Mission("rm1", "2024-05-08", "P1", "N-A", 45));
  ev.push_back(Mission("rm2", "2023-11-08", "P3", "N-A", 30));
  Add(ev, Series("rh", "2023-01-09", 10, 7, "P1", "N-A", h));
  ev.push_back(Exception("rh-ex", "2023-02-15", "P1", "N-A", h));
  Add(ev, Series("rp", "2024-04-08", 6, 7, "P8", "N-A", d));  // P8 enrolled 04-10 .. 05-10
  ev.push_back(Session("rk1", "2024-04-08", "P1", "N-A", kid));
  ev.push_back(Session("rk2", "2024-04-09", "P1", "N-C", kid));
  return ev;
}
std::vector<std::string> RichVoids() {
  return {Void("rv1", "2024-06-01", "ra2"), Void("rv2", "2024-06-01", "rb1"),
          Void("rv3", "2024-06-02", "rv2"), Void("rv4", "2024-06-01", "rg3")};
}

// Everything a user can read, keyed by names (not seq, which follows recording order).
std::map<std::string, std::string> Snapshot(const Ledger& L) {
  std::map<std::string, std::string> out;
  std::set<std::pair<std::string, int32_t>> invoices;
  for (const ledger::Line& l : L.projection().lines) {
    invoices.emplace(L.history().providers.Name(l.provider), MonthOf(l.day));
  }
  for (const auto& [provider, month] : invoices) {
    const json::object inv = InvoiceJson(L.history(), L.projection(), provider, month);
    const std::string key = provider + " " + FormatMonth(month);
    out[key + " totals"] = json::serialize(inv.at("totals"));
    out[key + " counts"] = std::to_string(Int(inv, "billable_lines")) + "/" +
                           std::to_string(Int(inv, "unbillable_lines"));
    std::map<std::string, int> seen;
    for (const json::value& v : inv.at("lines").as_array()) {
      json::object line = v.as_object();
      const std::string id = Str(line, "event_id");
      line.erase("seq");
      out[key + " " + id + "#" + std::to_string(seen[id]++)] = json::serialize(line);
    }
  }
  for (uint32_t i = 0; i < L.history().beneficiaries.size(); ++i) {
    const std::string& niss = L.history().beneficiaries.Name(i);
    for (const char* on : {"2023-03-13", "2024-01-31", "2024-04-15", "2024-05-31", "2024-12-31"}) {
      out["quota " + niss + " " + on] =
          json::serialize(QuotaJson(L.history(), L.projection(), niss, D(on)));
    }
  }
  for (const char* n : {"N-A", "N-C", "N-M"}) {
    for (int year : {2023, 2024}) {
      out["balance " + std::string(n) + " " + std::to_string(year)] =
          json::serialize(BalanceJson(L.history(), L.projection(), n, year));
    }
  }
  return out;
}

TEST(ProjectorOrder, ShuffledRecordingOrderGivesTheSameAnswers) {
  const std::vector<std::string> events = RichHistory();
  Ledger base(events);
  base.Append(RichVoids());
  const auto expected = Snapshot(base);
  ASSERT_GT(expected.size(), 50u);
  // A few known figures, so that an equal-but-wrong snapshot cannot pass.
  EXPECT_TRUE(Unpaid(base.LineOf("P1", "ra10"), "counter_exhausted"));  // ra2 voided: 9 left
  EXPECT_TRUE(Paid(base.LineOf("P1", "ra9"), 8669, 1100));
  EXPECT_TRUE(Paid(base.LineOf("P3", "rb1"), 7500, 0));
  EXPECT_TRUE(Paid(base.LineOf("P1", "rc-cc"), 4334, 0));
  EXPECT_TRUE(Unpaid(base.LineOf("P1", "rc-cc2"), "concertation_requirements"));
  EXPECT_TRUE(Paid(base.LineOf("P1", "rh9"), 7500, 400));
  EXPECT_TRUE(Unpaid(base.LineOf("P8", "rg2"), "provider_not_enrolled"));
  EXPECT_TRUE(Paid(base.LineOf("P2", "rg2"), 14565, 1000));
  EXPECT_FALSE(base.HasLine("rg3"));

  for (unsigned seed : {1u, 2u, 3u, 4u, 5u, 6u}) {
    std::vector<std::string> shuffled = events;
    std::mt19937 rng(seed);
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    Ledger L(shuffled);
    L.Append(RichVoids());
    const auto got = Snapshot(L);
    EXPECT_EQ(got.size(), expected.size()) << "seed " << seed;
    for (const auto& [key, value] : expected) {
      auto it = got.find(key);
      if (it == got.end()) {
        ADD_FAILURE() << "seed " << seed << ": missing " << key;
      } else {
        EXPECT_EQ(it->second, value) << "seed " << seed << ": " << key;
      }
    }
  }
}

TEST(ProjectorOrder, ALateRecordedEarlierSessionChangesFirstAndOverCounter) {
  const Ben b = MakeBen("1980-02-20", 88);
  Ledger L(World());
  L.Append(Series("l", "2024-05-06", 8, 7, "P1", "N-A", b));  // 05-06 .. 06-24
  EXPECT_TRUE(Paid(L.LineOf("P1", "l1"), 8669, 0));
  EXPECT_TRUE(Paid(L.LineOf("P1", "l8"), 8669, 1100));
  L.Append({Session("l0", "2024-04-29", "P1", "N-A", b)});
  EXPECT_TRUE(Paid(L.LineOf("P1", "l0"), 8669, 0));
  EXPECT_TRUE(Paid(L.LineOf("P1", "l1"), 8669, 1100));
  EXPECT_TRUE(Unpaid(L.LineOf("P1", "l8"), "counter_exhausted"));
  EXPECT_EQ(Str(L.Traj(b, "2024-06-30", "support", "N-A"), "started_on"), "2024-04-29");
  const json::object inv = L.Invoice("P1", "2024-06");
  EXPECT_EQ(Int(inv, "billable_lines"), 3);  // 06-03, 06-10, 06-17
  EXPECT_EQ(Int(inv, "unbillable_lines"), 1);
}

// ---------------------------------------------------------------------------------------------
// Conservation (book 6 and 10).

TEST(ProjectorConservation, FeeEqualsCoPayPlusInsurerAndUnbillableLinesAreZero) {
  Ledger L(RichHistory());
  L.Append(RichVoids());
  size_t billable = 0, unbillable = 0;
  for (const ledger::Line& l : L.projection().lines) {
    SCOPED_TRACE(L.history().EventId(l.seq));
    EXPECT_EQ(l.fee.value, l.copay.value + l.insurer.value);
    if (l.billable()) {
      ++billable;
      EXPECT_GE(l.copay.value, 0);
      EXPECT_LE(l.copay.value, l.fee.value);
      EXPECT_GT(l.fee.value, 0);
    } else {
      ++unbillable;
      EXPECT_EQ(l.fee.value, 0);
      EXPECT_EQ(l.copay.value, 0);
      EXPECT_EQ(l.insurer.value, 0);
      EXPECT_STRNE(ReasonName(l.reason), "");
    }
  }
  EXPECT_GT(billable, 20u);
  EXPECT_GT(unbillable, 5u);
  // Invoice totals are the sums of their billable lines.
  std::set<std::pair<std::string, int32_t>> invoices;
  for (const ledger::Line& l : L.projection().lines) {
    invoices.emplace(L.history().providers.Name(l.provider), MonthOf(l.day));
  }
  for (const auto& [provider, month] : invoices) {
    const json::object inv = L.Invoice(provider, FormatMonth(month));
    int64_t fee = 0, copay = 0, insurer = 0, b = 0, u = 0;
    for (const json::value& v : inv.at("lines").as_array()) {
      const json::object& l = v.as_object();
      if (l.at("billable").as_bool()) {
        fee += Int(l, "fee_cents");
        copay += Int(l, "copay_cents");
        insurer += Int(l, "insurer_cents");
        ++b;
      } else {
        ++u;
        EXPECT_TRUE(l.contains("reason"));
      }
    }
    const json::object& t = inv.at("totals").as_object();
    EXPECT_EQ(Int(t, "fee_cents"), fee) << provider << " " << month;
    EXPECT_EQ(Int(t, "copay_cents"), copay);
    EXPECT_EQ(Int(t, "insurer_cents"), insurer);
    EXPECT_EQ(Int(t, "fee_cents"), Int(t, "copay_cents") + Int(t, "insurer_cents"));
    EXPECT_EQ(Int(inv, "billable_lines"), b);
    EXPECT_EQ(Int(inv, "unbillable_lines"), u);
  }
}

// ---------------------------------------------------------------------------------------------
// Balances (book 7).

TEST(ProjectorBalance, ConsumedReplacedBudgetsAndProjectedExhaustion) {
  const Ben a = MakeBen("1980-03-30", 89);
  const Ben child = MakeBen("2015-01-01", 90);
  auto ev = World();
  ev.push_back(Budget("b1", "2024-01-01", "N-A", 2024, 50000));
  ev.push_back(Budget("b2", "2024-01-02", "N-A", 2024, 100000));
  ev.push_back(Budget("b23", "2023-01-01", "N-A", 2023, 777));
  ev.push_back(Budget("bc", "2024-01-01", "N-C", 2024, 5000000));
  ev.push_back(Session("s0", "2023-12-20", "P1", "N-A", a));   // 2023: 7500 insurer
  ev.push_back(Session("s1", "2024-01-10", "P1", "N-A", a));   // 7500 - 1100
  ev.push_back(Session("s2", "2024-01-20", "P1", "N-A", a));   // 7500 - 1100
  ev.push_back(Session("s2b", "2024-01-20", "P1", "N-A", a));  // daily_limit: nothing
  ev.push_back(Session("k1", "2024-01-15", "P1", "N-C", child));
  Ledger L(ev);

  json::object na = L.Balance("N-A", 2024);
  EXPECT_EQ(Int(na, "allocated_cents"), 100000);  // the later allocation replaces
  EXPECT_EQ(Int(na, "consumed_cents"), 12800);
  EXPECT_EQ(Int(na, "remaining_cents"), 87200);
  // 12800 over 20 days (1 to 20 January) = 640 a day: 157 days reach 100000 -> 5 June.
  EXPECT_EQ(Str(na, "projected_exhaustion"), "2024-06-05");

  const json::object na23 = L.Balance("N-A", 2023);
  EXPECT_EQ(Int(na23, "allocated_cents"), 777);
  EXPECT_EQ(Int(na23, "consumed_cents"), 7500);
  EXPECT_EQ(Int(na23, "remaining_cents"), -6723);

  const json::object nc = L.Balance("N-C", 2024);
  EXPECT_EQ(Int(nc, "allocated_cents"), 5000000);
  EXPECT_EQ(Int(nc, "consumed_cents"), 7500);
  EXPECT_EQ(Int(nc, "remaining_cents"), 4992500);
  EXPECT_EQ(Str(nc, "projected_exhaustion"), "<null>");  // 10000 days at this rate

  const json::object nm = L.Balance("N-M", 2024);
  EXPECT_EQ(Int(nm, "allocated_cents"), 0);
  EXPECT_EQ(Int(nm, "consumed_cents"), 0);
  EXPECT_EQ(Str(nm, "projected_exhaustion"), "<null>");

  // Voiding the later allocation restores the earlier one: 79 days -> 19 March.
  L.Append({Void("v-b2", "2024-02-01", "b2")});
  na = L.Balance("N-A", 2024);
  EXPECT_EQ(Int(na, "allocated_cents"), 50000);
  EXPECT_EQ(Int(na, "remaining_cents"), 37200);
  EXPECT_EQ(Str(na, "projected_exhaustion"), "2024-03-19");

  // "Later" is the recording order: recorded last, dated earlier, it still replaces.
  L.Append({Budget("b4", "2023-12-01", "N-A", 2024, 80000)});
  na = L.Balance("N-A", 2024);
  EXPECT_EQ(Int(na, "allocated_cents"), 80000);
  EXPECT_EQ(Str(na, "projected_exhaustion"), "2024-05-04");  // 125 days
}

// ---------------------------------------------------------------------------------------------
// Quotas (interfaces.md; book 4 and 9).

TEST(ProjectorQuota, UsedMaxRemainingOnADate) {
  const Ben a = MakeBen("1985-05-05", 91);
  const Ben child = MakeBen("2012-03-03", 92);
  const Ben old = MakeBen("1985-05-05", 93);
  auto ev = World();
  ev.push_back(Assess("as", "2024-04-01", "P1", "N-A", a));
  ev.push_back(Session("s1", "2024-04-02", "P1", "N-A", a));
  ev.push_back(Session("t1", "2024-04-05", "P1", "N-A", a, {.function = "treatment"}));
  ev.push_back(Session("s2", "2024-04-09", "P1", "N-A", a));
  ev.push_back(Session("s2b", "2024-04-09", "P1", "N-A", a));  // daily_limit: not counted
  ev.push_back(Session("s3", "2024-04-16", "P1", "N-A", a));
  ev.push_back(Session("c1", "2024-04-02", "P1", "N-C", child));
  ev.push_back(Session("o1", "2023-05-02", "P1", "N-A", old));
  Ledger L(ev);

  EXPECT_TRUE(L.Quota(a, "2024-04-01").empty());
  json::array q = L.Quota(a, "2024-04-02");
  ASSERT_EQ(q.size(), 1u);
  json::object s = q[0].as_object();
  EXPECT_EQ(Str(s, "function"), "support");
  EXPECT_EQ(Str(s, "network_id"), "N-A");
  EXPECT_EQ(Str(s, "started_on"), "2024-04-02");
  EXPECT_EQ(Str(s, "ends_on"), "2025-04-01");
  EXPECT_EQ(Int(s, "used"), 1);
  EXPECT_EQ(Int(s, "max"), 8);
  EXPECT_EQ(Int(s, "remaining"), 7);

  q = L.Quota(a, "2024-04-10");
  ASSERT_EQ(q.size(), 2u);
  s = L.Traj(a, "2024-04-10", "support", "N-A");
  EXPECT_EQ(Int(s, "used"), 2);
  EXPECT_EQ(Int(s, "remaining"), 6);
  json::object t = L.Traj(a, "2024-04-10", "treatment", "N-A");
  EXPECT_EQ(Str(t, "started_on"), "2024-04-05");
  EXPECT_EQ(Str(t, "ends_on"), "2025-04-04");
  EXPECT_EQ(Int(t, "used"), 1);
  EXPECT_EQ(Int(t, "max"), 20);
  EXPECT_EQ(Int(t, "remaining"), 19);

  EXPECT_EQ(Int(L.Traj(a, "2025-04-01", "support", "N-A"), "used"), 3);
  EXPECT_EQ(L.Quota(a, "2025-04-01").size(), 2u);
  q = L.Quota(a, "2025-04-02");
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(Str(q[0].as_object(), "function"), "treatment");
  EXPECT_TRUE(L.Quota(a, "2025-04-05").empty());

  const json::object c = L.Traj(child, "2024-04-02", "support", "N-C");
  EXPECT_EQ(Int(c, "max"), 10);
  EXPECT_EQ(Int(c, "remaining"), 9);
  EXPECT_EQ(Str(c, "column"), "children");

  const json::object o = L.Traj(old, "2023-05-02", "support", "N-A");
  EXPECT_EQ(Int(o, "used"), 1);
  EXPECT_EQ(Int(o, "max"), 8);
  EXPECT_EQ(Int(o, "group_max"), 5);  // 2021 adult support group counter
  EXPECT_EQ(Int(L.Traj(old, "2024-04-15", "support", "N-A"), "max"), 8);
  EXPECT_FALSE(L.Traj(old, "2024-04-15", "support", "N-A").contains("group_max"));  // 2024: none
}

// ---------------------------------------------------------------------------------------------
// Resumed folds (fold.h ResumeBeneficiary): a fold of a beneficiary's first k events, resumed
// with the rest, gives the rest the lines and shares the full fold gives them, and ends in the
// same trajectories and carry, for every k. What the projection store relies on to fold new
// events without reading old ones.

std::string TrajectoryBytes(const History& h, const std::vector<Trajectory>& ts) {
  std::string out;
  for (const Trajectory& t : ts) out += EncodeTrajectory(ToRecord(h, t)) + "|";
  return out;
}
std::string LineBytes(const History& h, const std::vector<ledger::Line>& lines) {
  std::vector<ledger::Line> sorted = lines;
  std::sort(sorted.begin(), sorted.end(), LineOrder);
  std::string out;
  for (const ledger::Line& l : sorted) out += EncodeLine(ToRecord(h, l)) + "|";
  return out;
}
std::string ShareBytes(std::vector<GroupShare> shares) {
  std::sort(shares.begin(), shares.end(), [](const GroupShare& a, const GroupShare& b) {
    return std::tie(a.seq, a.participant) < std::tie(b.seq, b.participant);
  });
  std::string out;
  for (const GroupShare& s : shares) {
    out += std::to_string(s.seq) + "/" + std::to_string(s.participant) + "/" +
           std::to_string(s.counted) + "/" + std::to_string(s.copay.value) + "|";
  }
  return out;
}

TEST(ProjectorResume, AnyPrefixFoldedThenResumedGivesTheFullFold) {
  const Ben a = MakeBen("1980-01-01", 81), b = MakeBen("2005-03-01", 82),
            c = MakeBen("1999-06-15", 83);
  const Ben d = MakeBen("1975-02-02", 84), e = MakeBen("1990-09-09", 85);
  auto ev = World();
  // Under 2021: an exception granted before the first session of its day, a daily limit with
  // and without context, a counter run over.
  ev.push_back(Exception("ex1", "2023-01-09", "P1", "N-A", a));
  Add(ev, Series("s", "2023-01-09", 10, 7, "P1", "N-A", a));
  ev.push_back(Session("same1", "2023-02-20", "P1", "N-A", a));
  ev.push_back(Session("same2", "2023-02-20", "P1", "N-A", a, Opt{.with_context = true}));
  // Under 2024: treatment with an assessment, a concertation the day a treatment session starts
  // the trajectory, group sessions with several participants, a second network.
  ev.push_back(Assess("as1", "2024-05-02", "P1", "N-A", a));
  Add(ev, Series("t", "2024-05-06", 6, 3, "P1", "N-A", a, Opt{.function = "treatment"}));
  ev.push_back(Concert("co1", "2024-05-06", "N-A", a, 2, {{"P1"}, {"P3"}, {""}}));
  for (int i = 0; i < 4; ++i) {
    ev.push_back(Group("g" + std::to_string(i), Plus("2024-06-03", 7 * i), "N-A",
                       {{"P1"}, {"P2", "other"}}, {a, b, c, d, e}));
  }
  Add(ev, Series("k", "2024-04-02", 12, 5, "P1", "N-C", b));
  ev.push_back(Exception("ex2", "2024-07-01", "P1", "N-A", e));
  Add(ev, Series("e", "2024-07-01", 9, 2, "P1", "N-A", e));
  ev.push_back(Session("e-ctx", "2024-07-01", "P1", "N-A", e, Opt{.with_context = true}));
  const Ledger L(ev);
  const History& h = L.history();
  const FoldContext ctx = ContextOf(h, L.projection().rulesets.get());
  std::map<BeneficiaryIdx, std::vector<const CareEvent*>> by;
  for (const CareEvent& ce : h.care) {
    if (ce.kind == CareKind::kGroup) {
      for (const Person& p : ce.participants) by[p.who].push_back(&ce);
    } else if (ce.kind != CareKind::kCommunity && ce.kind != CareKind::kMission) {
      by[ce.beneficiary.who].push_back(&ce);
    }
  }
  int splits = 0;
  for (auto& [who, events] : by) {
    std::sort(events.begin(), events.end(), [](const CareEvent* x, const CareEvent* y) {
      return PositionOf(*x) < PositionOf(*y);
    });
    const BeneficiaryFold full = FoldBeneficiary(ctx, who, events);
    for (size_t k = 0; k <= events.size(); ++k) {
      SCOPED_TRACE("beneficiary " + std::to_string(who) + ", split after " + std::to_string(k));
      const std::vector<const CareEvent*> first(events.begin(), events.begin() + k);
      const std::vector<const CareEvent*> rest(events.begin() + k, events.end());
      const BeneficiaryFold head = FoldBeneficiary(ctx, who, first);
      const BeneficiaryFold tail = ResumeBeneficiary(ctx, who, head.trajectories, head.carry, rest);
      std::set<Seq> later;
      for (const CareEvent* ce : rest) later.insert(ce->seq);
      std::vector<ledger::Line> want_lines;
      for (const ledger::Line& l : full.lines) {
        if (later.count(l.seq)) want_lines.push_back(l);
      }
      std::vector<GroupShare> want_shares;
      for (const GroupShare& s : full.shares) {
        if (later.count(s.seq)) want_shares.push_back(s);
      }
      EXPECT_EQ(LineBytes(h, tail.lines), LineBytes(h, want_lines));
      EXPECT_EQ(ShareBytes(tail.shares), ShareBytes(want_shares));
      EXPECT_EQ(TrajectoryBytes(h, tail.trajectories), TrajectoryBytes(h, full.trajectories));
      EXPECT_TRUE(tail.carry == full.carry);
      ++splits;
    }
  }
  EXPECT_GT(splits, 60);
  // The fixture met what the carry carries: a daily limit and an exception awaiting its day's
  // first session.
  bool daily = false, pending = false;
  for (auto& [who, events] : by) {
    for (size_t k = 1; k < events.size(); ++k) {
      const BeneficiaryFold part = FoldBeneficiary(
          ctx, who, std::vector<const CareEvent*>(events.begin(), events.begin() + k));
      daily = daily || part.carry.daily_count > 0;
      pending = pending || !part.carry.pending_exceptions.empty();
    }
  }
  EXPECT_TRUE(daily);
  EXPECT_TRUE(pending);
}

}  // namespace
}  // namespace ledger
