// The dry run's report as JSON: a value tree (ReplayReportJson) and the same bytes written
// straight as text (ReplayReportJsonText).
#include <charconv>
#include <cstdio>
#include <string_view>

#include "replay/replay.h"

namespace ledger {
namespace json = boost::json;

json::object AmountsJson(const Amounts& a) {
  json::object o;
  o["fee_cents"] = a.fee.value;
  o["copay_cents"] = a.copay.value;
  o["insurer_cents"] = a.insurer.value;
  return o;
}

namespace {

const char* StandingName(CandidateStanding s) {
  switch (s) {
    case CandidateStanding::kNewId:
      return "new_id";
    case CandidateStanding::kSupersedes:
      return "supersedes";
    case CandidateStanding::kInForce:
      return "in_force";
  }
  return "?";
}

json::object BeforeAfter(const Amounts& before, const Amounts& after) {
  json::object o;
  o["before"] = AmountsJson(before);
  o["after"] = AmountsJson(after);
  o["delta"] = AmountsJson(after - before);
  return o;
}

}  // namespace

json::object ReplayReportJson(const ReplayReport& r) {
  json::object o;
  o["candidate"] = r.candidate;
  o["supersedes"] = r.supersedes.empty() ? json::value(nullptr) : json::value(r.supersedes);
  o["standing"] = StandingName(r.standing);
  o["from"] = r.from ? json::value(FormatDay(*r.from)) : json::value(nullptr);
  o["last_seq"] = r.last_seq;
  o["care_events"] = r.care_events;
  o["lines_compared"] = r.lines_compared;
  json::array months;
  for (const ProviderMonthDiff& d : r.provider_months) {
    json::object m;
    m["provider_id"] = d.provider_id;
    m["month"] = FormatMonth(d.month);
    for (auto& [k, v] : BeforeAfter(d.before, d.after)) m[k] = v;
    m["lines_repriced"] = d.lines_repriced;
    m["billability_changed"] = d.billability_changed;
    months.emplace_back(std::move(m));
  }
  o["provider_months"] = std::move(months);
  json::array years;
  for (const NetworkYearDiff& d : r.network_years) {
    json::object y;
    y["network_id"] = d.network_id;
    y["year"] = d.year;
    y["consumed_before_cents"] = d.before.value;
    y["consumed_after_cents"] = d.after.value;
    y["consumed_delta_cents"] = (d.after - d.before).value;
    years.emplace_back(std::move(y));
  }
  o["network_years"] = std::move(years);
  json::object totals = BeforeAfter(r.total_before, r.total_after);
  totals["lines_repriced"] = r.lines_repriced;
  totals["billability_changed"] = r.billability_changed;
  o["totals"] = std::move(totals);
  return o;
}

namespace {

// Appends JSON text as boost::json::serialize writes it: no whitespace, integers in decimal,
// strings escaped by boost itself unless every byte is printable ASCII that needs no escape.
class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(*out) {}

  // `"name":`, after a comma unless first in its object; `name` needs no escape.
  JsonWriter& Key(std::string_view name) {
    if (!first_) out_ += ',';
    first_ = false;
    out_ += '"';
    out_ += name;
    out_ += "\":";
    return *this;
  }
  void String(std::string_view s) {
    const bool plain = std::all_of(
        s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
    if (!plain) {
      out_ += json::serialize(json::string_view(s.data(), s.size()));
      return;
    }
    out_ += '"';
    out_ += s;
    out_ += '"';
  }
  void Null() { out_ += "null"; }
  template <typename Int>
  void Number(Int v) {
    char buf[24];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    assert(ec == std::errc());
    out_.append(buf, end);
  }
  void BeginObject() {
    out_ += '{';
    first_ = true;
  }
  void EndObject() {
    out_ += '}';
    first_ = false;
  }
  // An array's elements: the first has no comma before it.
  void BeginArray() {
    out_ += '[';
    first_ = true;
  }
  void Element() {
    if (!first_) out_ += ',';
    first_ = false;
  }
  void EndArray() {
    out_ += ']';
    first_ = false;
  }

 private:
  std::string& out_;
  bool first_ = true;
};

void WriteAmounts(const Amounts& a, JsonWriter* w) {
  w->BeginObject();
  w->Key("fee_cents").Number(a.fee.value);
  w->Key("copay_cents").Number(a.copay.value);
  w->Key("insurer_cents").Number(a.insurer.value);
  w->EndObject();
}

// The members of BeforeAfter(), inside an open object.
void WriteBeforeAfter(const Amounts& before, const Amounts& after, JsonWriter* w) {
  w->Key("before");
  WriteAmounts(before, w);
  w->Key("after");
  WriteAmounts(after, w);
  w->Key("delta");
  WriteAmounts(after - before, w);
}

}  // namespace

std::string ReplayReportJsonText(const ReplayReport& r) {
  std::string out;
  // About 330 bytes a provider-month, 160 a network-year.
  out.reserve(1024 + 340 * r.provider_months.size() + 170 * r.network_years.size());
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("candidate").String(r.candidate);
  if (r.supersedes.empty()) {
    w.Key("supersedes").Null();
  } else {
    w.Key("supersedes").String(r.supersedes);
  }
  w.Key("standing").String(StandingName(r.standing));
  if (r.from) {
    w.Key("from").String(FormatDay(*r.from));
  } else {
    w.Key("from").Null();
  }
  w.Key("last_seq").Number(uint64_t{r.last_seq});
  w.Key("care_events").Number(uint64_t{r.care_events});
  w.Key("lines_compared").Number(uint64_t{r.lines_compared});
  w.Key("provider_months").BeginArray();
  for (const ProviderMonthDiff& d : r.provider_months) {
    w.Element();
    w.BeginObject();
    w.Key("provider_id").String(d.provider_id);
    w.Key("month").String(FormatMonth(d.month));
    WriteBeforeAfter(d.before, d.after, &w);
    w.Key("lines_repriced").Number(int64_t{d.lines_repriced});
    w.Key("billability_changed").Number(int64_t{d.billability_changed});
    w.EndObject();
  }
  w.EndArray();
  w.Key("network_years").BeginArray();
  for (const NetworkYearDiff& d : r.network_years) {
    w.Element();
    w.BeginObject();
    w.Key("network_id").String(d.network_id);
    w.Key("year").Number(int64_t{d.year});
    w.Key("consumed_before_cents").Number(d.before.value);
    w.Key("consumed_after_cents").Number(d.after.value);
    w.Key("consumed_delta_cents").Number((d.after - d.before).value);
    w.EndObject();
  }
  w.EndArray();
  w.Key("totals").BeginObject();
  WriteBeforeAfter(r.total_before, r.total_after, &w);
  w.Key("lines_repriced").Number(int64_t{r.lines_repriced});
  w.Key("billability_changed").Number(int64_t{r.billability_changed});
  w.EndObject();
  w.EndObject();
  return out;
}

}  // namespace ledger
