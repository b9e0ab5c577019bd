#include "projections/views.h"

#include <algorithm>

namespace ledger {
namespace json = boost::json;

namespace {

json::object LineJson(const LineRecord& l) {
  json::object o;
  o["event_id"] = l.event_id;
  o["seq"] = l.seq;
  o["occurred_on"] = FormatDay(l.day);
  o["network_id"] = l.network_id;
  o["item"] = FeeItemName(l.item);
  o["fee_cents"] = l.fee.value;
  o["copay_cents"] = l.copay.value;
  o["insurer_cents"] = l.insurer.value;
  o["billable"] = l.billable();
  if (!l.billable()) o["reason"] = ReasonName(l.reason);
  if (l.rule.empty()) {
    o["rule"] = nullptr;
  } else {
    o["rule"] = l.rule;
  }
  return o;
}

int64_t Limit(const CounterTable* t, bool support, bool group) {
  if (t == nullptr) return -1;
  const std::optional<int32_t>& o =
      group ? (support ? t->support_group : t->treatment_group)
            : (support ? t->support_individual : t->treatment_individual);
  return o.has_value() ? static_cast<int64_t>(*o) : -1;
}

}  // namespace

json::object InvoiceJson(std::string_view provider, int32_t month,
                         const std::vector<LineRecord>& records) {
  json::object o;
  o["provider_id"] = provider;
  o["month"] = FormatMonth(month);
  Cents fee, copay, insurer;
  int64_t billable = 0, unbillable = 0;
  json::array lines;
  for (const LineRecord& l : records) {
    if (l.billable()) {
      fee += l.fee;
      copay += l.copay;
      insurer += l.insurer;
      ++billable;
    } else {
      ++unbillable;
    }
    lines.emplace_back(LineJson(l));
  }
  json::object totals;
  totals["fee_cents"] = fee.value;
  totals["copay_cents"] = copay.value;
  totals["insurer_cents"] = insurer.value;
  o["totals"] = std::move(totals);
  o["billable_lines"] = billable;
  o["unbillable_lines"] = unbillable;
  o["lines"] = std::move(lines);
  return o;
}

std::string_view InvoiceCsvHeader() {
  return "provider_id,month,event_id,seq,occurred_on,network_id,item,fee_cents,copay_cents,"
         "insurer_cents,billable,reason,rule\n";
}

void AppendInvoiceCsvRow(std::string* out, std::string_view provider, int32_t month,
                         const LineRecord& l) {
  std::string& o = *out;
  o += provider;
  o += ',';
  o += FormatMonth(month);
  o += ',';
  o += l.event_id;
  o += ',';
  o += std::to_string(l.seq);
  o += ',';
  o += FormatDay(l.day);
  o += ',';
  o += l.network_id;
  o += ',';
  o += FeeItemName(l.item);
  o += ',';
  o += std::to_string(l.fee.value);
  o += ',';
  o += std::to_string(l.copay.value);
  o += ',';
  o += std::to_string(l.insurer.value);
  o += l.billable() ? ",true," : ",false,";
  o += ReasonName(l.reason);
  o += ',';
  o += l.rule;
  o += '\n';
}

std::string InvoiceCsv(std::string_view provider, int32_t month,
                       const std::vector<LineRecord>& records) {
  std::string out(InvoiceCsvHeader());
  for (const LineRecord& l : records) AppendInvoiceCsvRow(&out, provider, month, l);
  return out;
}

json::object QuotaJson(std::string_view niss, CivilDay on,
                       const std::vector<TrajectoryRecord>& trajectories,
                       const RulesetCatalog& rules) {
  json::object o;
  o["niss"] = niss;
  o["on"] = FormatDay(on);
  json::array list;
  const Ruleset* r = rules.InForce(on);
  for (const TrajectoryRecord& t : trajectories) {
    if (on < t.start || on > t.end) continue;
    auto upto = [&](const std::vector<CivilDay>& days) {
      return static_cast<int64_t>(
          std::count_if(days.begin(), days.end(), [&](CivilDay d) { return d <= on; }));
    };
    const bool support = t.function == CareFunction::kSupport;
    const CounterTable* table = r ? &r->counters[static_cast<int>(t.column)] : nullptr;
    int64_t max_v = Limit(table, support, /*group=*/false);  // -1: no limit, or no ruleset
    const int64_t group_max_v = Limit(table, support, /*group=*/true);
    const bool exc = r && (support ? r->exception_support : r->exception_treatment);
    if (max_v >= 0 && exc && upto(t.exception_days) > 0) max_v += r->exception_extra_sessions;
    const int64_t used = upto(t.individual_days);
    json::object j;
    j["function"] = support ? "support" : "treatment";
    j["network_id"] = t.network_id;
    j["started_on"] = FormatDay(t.start);
    j["ends_on"] = FormatDay(t.end);
    j["column"] = ColumnName(t.column);
    j["used"] = used;
    j["max"] = max_v >= 0 ? json::value(max_v) : json::value(nullptr);
    j["remaining"] =
        max_v >= 0 ? json::value(std::max<int64_t>(0, max_v - used)) : json::value(nullptr);
    j["group_used"] = upto(t.group_days);
    if (group_max_v >= 0) j["group_max"] = group_max_v;
    if (!t.exception_days.empty()) j["exceptions"] = upto(t.exception_days);
    list.emplace_back(std::move(j));
  }
  o["trajectories"] = std::move(list);
  return o;
}

json::object BalanceJson(std::string_view network, int32_t year, Cents allocated,
                         const std::map<CivilDay, Cents>& daily) {
  json::object o;
  o["network_id"] = network;
  o["year"] = year;
  Cents consumed;
  for (const auto& [day, cents] : daily) consumed += cents;
  o["allocated_cents"] = allocated.value;
  o["consumed_cents"] = consumed.value;
  o["remaining_cents"] = (allocated - consumed).value;
  // Spend rate from 1 January to the latest care date with spending; integer arithmetic.
  json::value projected = nullptr;
  const CivilDay jan1 = ToDay({year, 1, 1}), dec31 = ToDay({year, 12, 31});
  if (!daily.empty() && consumed.value > 0) {
    const int64_t elapsed = daily.rbegin()->first - jan1 + 1;
    const int64_t days = (allocated.value * elapsed + consumed.value - 1) / consumed.value;
    const int64_t day = jan1 + std::max<int64_t>(days, 1) - 1;
    if (day <= dec31) projected = FormatDay(static_cast<CivilDay>(day));
  }
  o["projected_exhaustion"] = projected;
  o["as_of_care_date"] =
      daily.empty() ? json::value(nullptr) : json::value(FormatDay(daily.rbegin()->first));
  return o;
}

json::object BalanceJson(std::string_view network, int32_t year, Cents allocated,
                         const std::map<CivilDay, Cents>& daily,
                         const std::map<int32_t, LineTally>& months) {
  json::object o = BalanceJson(network, year, allocated, daily);
  json::array series;
  const int32_t last = daily.empty() ? 0 : MonthOf(daily.rbegin()->first) % 100;
  Cents cumulative;
  for (int32_t m = 1; m <= last; ++m) {
    auto it = months.find(year * 100 + m);
    const LineTally t = it == months.end() ? LineTally{} : it->second;
    cumulative += t.insurer;
    json::object by_function;
    for (int f = 0; f < kSpendFunctionCount; ++f) {
      by_function[SpendFunctionName(static_cast<SpendFunction>(f))] =
          t.insurer_by_function[static_cast<size_t>(f)].value;
    }
    json::object entry;
    entry["month"] = FormatMonth(year * 100 + m);
    entry["consumed_cents"] = t.insurer.value;
    entry["cumulative_cents"] = cumulative.value;
    entry["by_function"] = std::move(by_function);
    series.emplace_back(std::move(entry));
  }
  o["months"] = std::move(series);
  return o;
}

json::object NetworksJson(const std::vector<NetworkRecord>& networks) {
  json::array list;
  for (const NetworkRecord& n : networks) {
    list.emplace_back(json::object{{"network_id", n.network_id},
                                   {"name", n.name},
                                   {"population", PopulationName(n.population)}});
  }
  return json::object{{"networks", std::move(list)}};
}

json::object ProvidersJson(std::string_view network, std::optional<CivilDay> on,
                           const std::vector<EnrolmentRecord>& listed,
                           std::optional<std::string> next_cursor) {
  json::array list;
  for (const EnrolmentRecord& e : listed) {
    json::object p;
    p["provider_id"] = e.provider_id;
    p["profession"] = ProfessionName(e.profession);
    p["enrolled_on"] = FormatDay(e.enrolled_on);
    p["left_on"] = e.left_on ? json::value(FormatDay(*e.left_on)) : json::value(nullptr);
    list.emplace_back(std::move(p));
  }
  json::object o;
  o["network_id"] = network;
  o["on"] = on ? json::value(FormatDay(*on)) : json::value(nullptr);
  o["providers"] = std::move(list);
  o["next_cursor"] = next_cursor ? json::value(*next_cursor) : json::value(nullptr);
  return o;
}

json::object TallyTotalsJson(const LineTally& t) {
  return json::object{{"fee_cents", t.fee.value},
                      {"copay_cents", t.copay.value},
                      {"insurer_cents", t.insurer.value}};
}

json::object ReasonCountsJson(const LineTally& t) {
  json::object o;
  for (int r = 1; r < kReasonCount; ++r) {
    const int64_t n = t.unbillable_by_reason[static_cast<size_t>(r)];
    if (n != 0) o[ReasonName(static_cast<Reason>(r))] = n;
  }
  return o;
}

json::object NetworkMonthJson(std::string_view network, int32_t month,
                              const std::vector<std::pair<std::string, LineTally>>& tallies) {
  LineTally total;
  json::array providers;
  for (const auto& [provider, t] : tallies) {
    total += t;
    json::object p;
    p["provider_id"] = provider;
    p["totals"] = TallyTotalsJson(t);
    p["billable_lines"] = t.billable_lines;
    p["unbillable_lines"] = t.unbillable_lines;
    p["unbillable_by_reason"] = ReasonCountsJson(t);
    providers.emplace_back(std::move(p));
  }
  json::object o;
  o["network_id"] = network;
  o["month"] = FormatMonth(month);
  o["totals"] = TallyTotalsJson(total);
  o["billable_lines"] = total.billable_lines;
  o["unbillable_lines"] = total.unbillable_lines;
  o["unbillable_by_reason"] = ReasonCountsJson(total);
  o["providers"] = std::move(providers);
  return o;
}

json::object FiguresJson(std::string_view network, CivilDay on,
                         const std::vector<TrajectoryRecord>& trajectories,
                         const RulesetCatalog& rules) {
  int64_t closed = 0, sessions = 0, support = 0, with_exception = 0;
  for (const TrajectoryRecord& t : trajectories) {
    if (t.network_id != network || t.start > on) continue;
    if (t.function == CareFunction::kTreatment && t.end < on) {
      ++closed;
      sessions += static_cast<int64_t>(t.individual_days.size());
    }
    if (t.function == CareFunction::kSupport) {
      ++support;
      const bool exc = std::any_of(t.exception_days.begin(), t.exception_days.end(),
                                   [&](CivilDay d) { return d <= on; });
      with_exception += exc ? 1 : 0;
    }
  }
  // Hundredths, rounded half-up: reports, not money, but still integer arithmetic.
  auto hundredths = [](int64_t num, int64_t den) {
    return den == 0 ? json::value(nullptr) : json::value((num * 200 + den) / (2 * den));
  };
  json::object o;
  o["network_id"] = network;
  o["on"] = FormatDay(on);
  o["closed_treatment_trajectories"] = closed;
  o["mean_individual_sessions_per_closed_treatment_trajectory_x100"] = hundredths(sessions, closed);
  o["support_trajectories"] = support;
  o["support_trajectories_with_exception"] = with_exception;
  o["exception_share_percent_x100"] = hundredths(with_exception * 100, support);
  const Ruleset* r = rules.InForce(on);
  if (r) {
    o["exception_share_max_percent"] = r->exception_share_max_percent;
    o["exception_share_over_limit"] =
        with_exception * 100 > support * r->exception_share_max_percent;
  }
  return o;
}

json::object InvoiceJson(const History& h, const Projection& p, std::string_view provider,
                         int32_t month) {
  return InvoiceJson(provider, month, MemoryLines(h, p, provider, month));
}
std::string InvoiceCsv(const History& h, const Projection& p, std::string_view provider,
                       int32_t month) {
  return InvoiceCsv(provider, month, MemoryLines(h, p, provider, month));
}
json::object QuotaJson(const History& h, const Projection& p, std::string_view niss, CivilDay on) {
  return QuotaJson(niss, on, MemoryTrajectories(h, p, niss), *p.rulesets);
}
json::object BalanceJson(const History& h, const Projection& p, std::string_view network,
                         int32_t year) {
  return BalanceJson(network, year, MemoryAllocated(h, p, network, year),
                     MemoryDailyConsumed(h, p, network, year));
}

}  // namespace ledger
