#include "replay/replay.h"

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <map>
#include <thread>
#include <tuple>
#include <utility>

#include "projections/fold.h"

namespace ledger {
namespace json = boost::json;

Amounts operator-(const Amounts& a, const Amounts& b) {
  return {a.fee - b.fee, a.copay - b.copay, a.insurer - b.insurer};
}

Result<CandidateStanding> CheckCandidate(const RulesetCatalog& in_force, const Ruleset& candidate) {
  const Ruleset* current = in_force.Find(candidate.id);
  if (!current) return CandidateStanding::kNewId;
  if (candidate.version > current->version) return CandidateStanding::kSupersedes;
  if (candidate.version == current->version && candidate.document == current->document) {
    return CandidateStanding::kInForce;
  }
  return Error{ErrorCode::kConflict,
               "ruleset " + candidate.Label() + " is not higher than the version in force (" +
                   current->Label() + "); a revision needs version " +
                   std::to_string(current->version + 1) + " or more",
               -1, "", "version"};
}

namespace {

Amounts Billed(const Line& l) {
  return l.billable() ? Amounts{l.fee, l.copay, l.insurer} : Amounts{};
}

bool SamePricing(const Line& a, const Line& b) {
  return a.reason == b.reason && a.fee == b.fee && a.copay == b.copay && a.insurer == b.insurer;
}

bool KeyLess(const Line& a, const Line& b) { return LineOrder(a, b); }

// Accumulates matched lines (either side may be missing) into provider-month buckets, which
// arrive contiguously because both sides are in LineOrder, and network-year totals.
class DiffBuilder {
 public:
  DiffBuilder(const History& h, ReplayReport* out) : h_(h), out_(*out) {}

  void Add(const Line* before, const Line* after) {
    const Line& any = before ? *before : *after;
    const int32_t month = MonthOf(any.day);
    if (!open_ || any.provider != provider_ || month != month_) {
      Flush();
      open_ = true;
      provider_ = any.provider;
      month_ = month;
      bucket_ = ProviderMonthDiff{};
    }
    const Amounts b = before ? Billed(*before) : Amounts{};
    const Amounts a = after ? Billed(*after) : Amounts{};
    bucket_.before += b;
    bucket_.after += a;
    const bool billable_b = before && before->billable(), billable_a = after && after->billable();
    if (!before || !after || !SamePricing(*before, *after)) ++bucket_.lines_repriced;
    if (billable_b != billable_a) ++bucket_.billability_changed;
    auto& [consumed_b, consumed_a] = consumed_[{any.network, FromDay(any.day).year}];
    consumed_b += b.insurer;
    consumed_a += a.insurer;
    ++out_.lines_compared;
  }

  void Finish() {
    Flush();
    auto by_name = [](const ProviderMonthDiff& x, const ProviderMonthDiff& y) {
      return std::tie(x.provider_id, x.month) < std::tie(y.provider_id, y.month);
    };
    std::sort(out_.provider_months.begin(), out_.provider_months.end(), by_name);
    for (const auto& [key, consumed] : consumed_) {
      if (consumed.first == consumed.second) continue;
      out_.network_years.push_back(
          {h_.networks.Name(key.first), key.second, consumed.first, consumed.second});
    }
    std::sort(out_.network_years.begin(), out_.network_years.end(),
              [](const NetworkYearDiff& x, const NetworkYearDiff& y) {
                return std::tie(x.network_id, x.year) < std::tie(y.network_id, y.year);
              });
  }

 private:
  void Flush() {
    if (!open_) return;
    out_.total_before += bucket_.before;
    out_.total_after += bucket_.after;
    out_.lines_repriced += bucket_.lines_repriced;
    out_.billability_changed += bucket_.billability_changed;
    if (bucket_.before == bucket_.after && bucket_.lines_repriced == 0) return;
    bucket_.provider_id = h_.providers.Name(provider_);
    bucket_.month = month_;
    out_.provider_months.push_back(std::move(bucket_));
  }

  const History& h_;
  ReplayReport& out_;
  bool open_ = false;
  ProviderIdx provider_ = 0;
  int32_t month_ = 0;
  ProviderMonthDiff bucket_;
  std::map<std::pair<NetworkIdx, int32_t>, std::pair<Cents, Cents>> consumed_;
};

}  // namespace

ReplayReport DiffProjections(const History& h, const Projection& before, const Projection& after,
                             std::optional<CivilDay> from) {
  ReplayReport out;
  out.from = from;
  out.last_seq = h.last_seq();
  out.care_events = h.care.size();
  DiffBuilder diff(h, &out);
  const std::vector<Line>& b = before.lines;
  const std::vector<Line>& a = after.lines;
  const CivilDay first = from.value_or(INT32_MIN);
  size_t i = 0, j = 0;
  while (i < b.size() || j < a.size()) {
    if (i < b.size() && b[i].day < first) {
      ++i;
    } else if (j < a.size() && a[j].day < first) {
      ++j;
    } else if (j == a.size() || (i < b.size() && KeyLess(b[i], a[j]))) {
      diff.Add(&b[i++], nullptr);
    } else if (i == b.size() || KeyLess(a[j], b[i])) {
      diff.Add(nullptr, &a[j++]);
    } else {
      diff.Add(&b[i++], &a[j++]);
    }
  }
  diff.Finish();
  assert(out.total_before.fee == out.total_before.copay + out.total_before.insurer);
  assert(out.total_after.fee == out.total_after.copay + out.total_after.insurer);
  return out;
}

Result<ReplayReport> Replay(const History& h, const RulesetCatalog& base, const Ruleset& candidate,
                            std::optional<CivilDay> from, int threads) {
  const std::unique_ptr<RulesetCatalog> in_force = RulesetsOf(h, base);
  auto standing = CheckCandidate(*in_force, candidate);
  if (!standing) return standing.error();
  const Ruleset* current = in_force->Find(candidate.id);
  RulesetCatalog with_candidate = *in_force;
  with_candidate.Add(candidate);

  Projection before, after;
  if (threads >= 2) {
    // Each fold on a thread of its own: both cores busy through the serial parts of a fold too.
    const int each = threads / 2;
    std::thread second([&] { after = Project(h, with_candidate, each); });
    before = Project(h, *in_force, each);
    second.join();
  } else {
    before = Project(h, *in_force, 1);
    after = Project(h, with_candidate, 1);
  }
  ReplayReport out = DiffProjections(h, before, after, from);
  out.candidate = candidate.Label();
  out.supersedes = current ? current->Label() : "";
  out.standing = *standing;
  return out;
}

// --- rendering -------------------------------------------------------------------------------

std::string FormatEuros(Cents c) {
  const int64_t v = c.value;
  const uint64_t abs = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s%llu.%02llu", v < 0 ? "-" : "",
                static_cast<unsigned long long>(abs / 100),
                static_cast<unsigned long long>(abs % 100));
  return buf;
}

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

// One row of a text table: columns right-aligned to `widths` except the first two.
std::string Row(const std::vector<std::string>& cells, const std::vector<int>& widths) {
  std::string out;
  for (size_t i = 0; i < cells.size(); ++i) {
    const int w = widths[i];
    const int pad = std::max(0, w - static_cast<int>(cells[i].size()));
    if (i > 0) out += "  ";
    if (i < 2) {
      out += cells[i] + std::string(static_cast<size_t>(pad), ' ');
    } else {
      out += std::string(static_cast<size_t>(pad), ' ') + cells[i];
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out + "\n";
}

std::vector<std::string> AmountCells(const Amounts& b, const Amounts& a) {
  const Amounts d = a - b;
  return {FormatEuros(b.fee), FormatEuros(a.fee), FormatEuros(d.fee), FormatEuros(d.copay),
          FormatEuros(d.insurer)};
}

std::string TextTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<int> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], static_cast<int>(row[i].size()));
    }
  }
  std::string out;
  for (const auto& row : rows) out += Row(row, widths);
  return out;
}

}  // namespace

std::string ReplayReportText(const ReplayReport& r) {
  std::string out = "replay of " + r.candidate +
                    (r.supersedes.empty() ? " (a new ruleset id)" : " over " + r.supersedes) +
                    ": " + std::to_string(r.care_events) + " care events up to seq " +
                    std::to_string(r.last_seq) + ", " + std::to_string(r.lines_compared) +
                    " lines" + (r.from ? " dated from " + FormatDay(*r.from) : "") +
                    "; amounts in euros, deltas = after - before\n\n";
  std::vector<std::vector<std::string>> rows = {{"provider", "month", "fee before", "fee after",
                                                 "fee delta", "co-pay delta", "insurer delta",
                                                 "lines repriced", "billability changed"}};
  for (const ProviderMonthDiff& d : r.provider_months) {
    std::vector<std::string> row = {d.provider_id, FormatMonth(d.month)};
    for (std::string& c : AmountCells(d.before, d.after)) row.push_back(std::move(c));
    row.push_back(std::to_string(d.lines_repriced));
    row.push_back(std::to_string(d.billability_changed));
    rows.push_back(std::move(row));
  }
  std::vector<std::string> total = {"total", ""};
  for (std::string& c : AmountCells(r.total_before, r.total_after)) total.push_back(std::move(c));
  total.push_back(std::to_string(r.lines_repriced));
  total.push_back(std::to_string(r.billability_changed));
  rows.push_back(std::move(total));
  out += TextTable(rows) + "\n";

  rows = {{"network", "year", "consumed before", "consumed after", "delta"}};
  for (const NetworkYearDiff& d : r.network_years) {
    rows.push_back({d.network_id, std::to_string(d.year), FormatEuros(d.before),
                    FormatEuros(d.after), FormatEuros(d.after - d.before)});
  }
  rows.push_back({"total", "", FormatEuros(r.total_before.insurer),
                  FormatEuros(r.total_after.insurer),
                  FormatEuros(r.total_after.insurer - r.total_before.insurer)});
  out += TextTable(rows);
  if (r.provider_months.empty() && r.network_years.empty()) out += "\nno difference\n";
  return out;
}

}  // namespace ledger
