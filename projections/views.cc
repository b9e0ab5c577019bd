#include "projections/views.h"

#include <algorithm>

namespace ledger {
namespace json = boost::json;

namespace {

struct LineRange {
  std::vector<Line>::const_iterator begin, end;
};

LineRange LinesOf(const Projection& p, ProviderIdx provider, int32_t month) {
  auto lo = std::lower_bound(p.lines.begin(), p.lines.end(), std::pair(provider, month),
                             [](const Line& l, const std::pair<ProviderIdx, int32_t>& k) {
                               return std::pair(l.provider, MonthOf(l.day)) < k;
                             });
  auto hi = lo;
  while (hi != p.lines.end() && hi->provider == provider && MonthOf(hi->day) == month) ++hi;
  return {lo, hi};
}

json::object LineJson(const History& h, const Line& l) {
  json::object o;
  o["event_id"] = h.EventId(l.seq);
  o["seq"] = l.seq;
  o["occurred_on"] = FormatDay(l.day);
  o["network_id"] = h.networks.Name(l.network);
  o["item"] = FeeItemName(l.item);
  o["fee_cents"] = l.fee.value;
  o["copay_cents"] = l.copay.value;
  o["insurer_cents"] = l.insurer.value;
  o["billable"] = l.billable();
  if (!l.billable()) o["reason"] = ReasonName(l.reason);
  if (l.ruleset) {
    o["rule"] = l.ruleset->RuleLabel(l.item);
  } else {
    o["rule"] = nullptr;
  }
  return o;
}

}  // namespace

json::object InvoiceJson(const History& h, const Projection& p, std::string_view provider,
                         int32_t month) {
  json::object o;
  o["provider_id"] = provider;
  o["month"] = FormatMonth(month);
  Cents fee, copay, insurer;
  int64_t billable = 0, unbillable = 0;
  json::array lines;
  if (auto idx = h.providers.Find(provider)) {
    const LineRange r = LinesOf(p, *idx, month);
    for (auto it = r.begin; it != r.end; ++it) {
      if (it->billable()) {
        fee += it->fee;
        copay += it->copay;
        insurer += it->insurer;
        ++billable;
      } else {
        ++unbillable;
      }
      lines.emplace_back(LineJson(h, *it));
    }
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

std::string InvoiceCsv(const History& h, const Projection& p, std::string_view provider,
                       int32_t month) {
  std::string out =
      "provider_id,month,event_id,seq,occurred_on,network_id,item,fee_cents,copay_cents,"
      "insurer_cents,billable,reason,rule\n";
  const json::object inv = InvoiceJson(h, p, provider, month);
  for (const auto& v : inv.at("lines").get_array()) {
    const json::object& l = v.get_object();
    auto str = [&](std::string_view k) -> std::string {
      const json::value* x = l.if_contains(k);
      if (!x || x->is_null()) return "";
      if (x->is_string()) return std::string(x->get_string());
      return json::serialize(*x);
    };
    out += std::string(provider) + "," + FormatMonth(month) + "," + str("event_id") + "," +
           str("seq") + "," + str("occurred_on") + "," + str("network_id") + "," + str("item") +
           "," + str("fee_cents") + "," + str("copay_cents") + "," + str("insurer_cents") + "," +
           str("billable") + "," + str("reason") + "," + str("rule") + "\n";
  }
  return out;
}

json::object QuotaJson(const History& h, const Projection& p, std::string_view niss,
                       CivilDay on) {
  json::object o;
  o["niss"] = niss;
  o["on"] = FormatDay(on);
  json::array list;
  const Ruleset* r = p.rulesets->InForce(on);
  if (auto who = h.beneficiaries.Find(niss)) {
    for (const Trajectory& t : p.trajectories) {
      if (t.who != *who || !t.Active(on)) continue;
      json::object j;
      j["function"] = t.function == CareFunction::kSupport ? "support" : "treatment";
      j["network_id"] = h.networks.Name(t.network);
      j["started_on"] = FormatDay(t.start);
      j["ends_on"] = FormatDay(t.end);
      j["column"] = ColumnName(t.column);
      auto upto = [&](const std::vector<CivilDay>& days) {
        return static_cast<int64_t>(std::count_if(days.begin(), days.end(),
                                                  [&](CivilDay d) { return d <= on; }));
      };
      const int64_t used = upto(t.individual_days);
      j["used"] = used;
      const CounterTable* table = r ? &r->counters[static_cast<int>(t.column)] : nullptr;
      const bool support = t.function == CareFunction::kSupport;
      std::optional<int32_t> max =
          table ? (support ? table->support_individual : table->treatment_individual)
                : std::nullopt;
      const bool exc = r && (support ? r->exception_support : r->exception_treatment);
      if (max && exc && upto(t.exception_days) > 0) *max += r->exception_extra_sessions;
      if (max) {
        j["max"] = *max;
        j["remaining"] = std::max<int64_t>(0, *max - used);
      } else {
        j["max"] = nullptr;
        j["remaining"] = nullptr;
      }
      j["group_used"] = upto(t.group_days);
      const std::optional<int32_t> gmax =
          table ? (support ? table->support_group : table->treatment_group) : std::nullopt;
      if (gmax) j["group_max"] = *gmax;
      if (!t.exception_days.empty()) j["exceptions"] = upto(t.exception_days);
      list.emplace_back(std::move(j));
    }
  }
  o["trajectories"] = std::move(list);
  return o;
}

json::object BalanceJson(const History& h, const Projection& p, std::string_view network,
                         int32_t year) {
  json::object o;
  o["network_id"] = network;
  o["year"] = year;
  Cents allocated, consumed;
  CivilDay latest = 0;
  bool any = false;
  const CivilDay jan1 = ToDay({year, 1, 1}), dec31 = ToDay({year, 12, 31});
  if (auto n = h.networks.Find(network)) {
    if (auto it = p.allocated.find({*n, year}); it != p.allocated.end()) allocated = it->second;
    for (const Line& l : p.lines) {
      if (l.network != *n || !l.billable() || l.day < jan1 || l.day > dec31) continue;
      consumed += l.insurer;
      latest = any ? std::max(latest, l.day) : l.day;
      any = true;
    }
  }
  o["allocated_cents"] = allocated.value;
  o["consumed_cents"] = consumed.value;
  o["remaining_cents"] = (allocated - consumed).value;
  // Spend rate from 1 January to the latest care date with spending; integer arithmetic.
  json::value projected = nullptr;
  if (any && consumed.value > 0) {
    const int64_t elapsed = latest - jan1 + 1;
    const int64_t days = (allocated.value * elapsed + consumed.value - 1) / consumed.value;
    const int64_t day = jan1 + std::max<int64_t>(days, 1) - 1;
    if (day <= dec31) projected = FormatDay(static_cast<CivilDay>(day));
  }
  o["projected_exhaustion"] = projected;
  o["as_of_care_date"] = any ? json::value(FormatDay(latest)) : json::value(nullptr);
  return o;
}

}  // namespace ledger
