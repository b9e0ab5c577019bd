#include "replay/invoices.h"

#include <algorithm>
#include <tuple>

#include "ledger/sha256.h"
#include "projections/fold.h"
#include "projections/views.h"
#include "replay/regularisations.h"
#include "schemas/invariant.h"

namespace ledger {
namespace json = boost::json;

// The providers with at least one line in `month`, by id.
std::vector<std::string> ProvidersWithLines(const History& h, const Projection& p, int32_t month) {
  const CivilDay first = ToDay({month / 100, month % 100, 1});
  const CivilDay last = ToDay({month / 100, month % 100, DaysInMonth(month / 100, month % 100)});
  std::vector<bool> seen(h.providers.size(), false);
  for (const Line& l : p.lines) {
    if (l.day >= first && l.day <= last) seen[l.provider] = true;
  }
  std::vector<std::string> out;
  for (ProviderIdx i = 0; i < seen.size(); ++i) {
    if (seen[i]) out.push_back(h.providers.Name(i));
  }
  std::sort(out.begin(), out.end());
  return out;
}

MonthInvoice SummariseInvoice(std::string_view provider, int32_t month,
                              const std::vector<LineRecord>& lines) {
  MonthInvoice inv;
  inv.provider_id = provider;
  inv.month = month;
  for (const LineRecord& l : lines) {
    LEDGER_ASSERT(l.fee == l.copay + l.insurer);  // conservation, on every line read back
    ++inv.lines;
    if (!l.billable()) continue;
    ++inv.billable_lines;
    inv.totals += Amounts{l.fee, l.copay, l.insurer};
  }
  inv.lines_sha256 = LinesSha256(provider, month, lines);
  return inv;
}

namespace {

// The ruleset an invoice names: in force on the 1st of the month, else on the first day of the
// month that has one.
const Ruleset* InvoiceRuleset(const RulesetCatalog& rules, int32_t month) {
  const int32_t y = month / 100, m = month % 100;
  for (int32_t d = 1; d <= DaysInMonth(y, m); ++d) {
    if (const Ruleset* r = rules.InForce(ToDay({y, m, d}))) return r;
  }
  return nullptr;
}

// `inv-<provider>-<YYYY-MM>`, within the 64 characters of an event id, not taken by an earlier
// invoice (a voided one keeps its id for ever).
std::string InvoiceId(std::string_view provider, int32_t month,
                      const std::set<std::string, std::less<>>& taken) {
  std::string who(provider);
  if (who.size() > 40) who = ToHex(Sha256::Of(provider)).substr(0, 16);
  const std::string base = "inv-" + who + "-" + FormatMonth(month);
  std::string id = base;
  for (int n = 2; taken.count(id); ++n) id = base + "." + std::to_string(n);
  return id;
}

json::object IssuedJson(const MonthInvoice& inv, const std::string& id, CivilDay occurred_on,
                        const Ruleset& r, const std::vector<Regularisation>& due) {
  json::object e;
  e["id"] = id;
  e["type"] = "invoice.issued";
  e["occurred_on"] = FormatDay(occurred_on);
  e["provider_id"] = inv.provider_id;
  e["month"] = FormatMonth(inv.month);
  e["ruleset"] = json::object{{"id", r.id}, {"version", r.version}};
  e["fee_cents"] = inv.totals.fee.value;
  e["copay_cents"] = inv.totals.copay.value;
  e["insurer_cents"] = inv.totals.insurer.value;
  e["lines"] = inv.lines;
  e["lines_sha256"] = inv.lines_sha256;
  if (!due.empty()) {
    json::array regs;
    for (const Regularisation& g : due) {
      const Amounts a = g.due();
      regs.emplace_back(json::object{{"month", FormatMonth(g.month)},
                                     {"fee_cents", a.fee.value},
                                     {"copay_cents", a.copay.value},
                                     {"insurer_cents", a.insurer.value}});
    }
    e["regularisations"] = std::move(regs);
  }
  return e;
}

}  // namespace

std::string LinesSha256(std::string_view provider, int32_t month,
                        const std::vector<LineRecord>& lines) {
  const json::object invoice = InvoiceJson(provider, month, lines);
  return ToHex(Sha256::Of(json::serialize(invoice.at("lines"))));
}

MonthInvoice ProviderMonthInvoice(const History& h, const Projection& p, std::string_view provider,
                                  int32_t month) {
  return SummariseInvoice(provider, month, MemoryLines(h, p, provider, month));
}

std::vector<MonthInvoice> MonthInvoices(const History& h, const Projection& p, int32_t month) {
  std::vector<MonthInvoice> out;
  for (const std::string& provider : ProvidersWithLines(h, p, month)) {
    out.push_back(ProviderMonthInvoice(h, p, provider, month));
  }
  return out;
}

std::vector<IssuedInvoice> LiveInvoices(const History& h) {
  std::vector<IssuedInvoice> out;
  for (const IssuedInvoice& inv : h.issued_invoices) {
    if (!h.Voided(inv.seq)) out.push_back(inv);
  }
  std::sort(out.begin(), out.end(), [](const IssuedInvoice& a, const IssuedInvoice& b) {
    return std::tie(a.month, a.provider_id, a.seq) < std::tie(b.month, b.provider_id, b.seq);
  });
  return out;
}

std::set<int32_t> ClosedMonths(const History& h) {
  std::set<int32_t> out;
  for (const IssuedInvoice& inv : h.issued_invoices) {
    if (!h.Voided(inv.seq)) out.insert(inv.month);
  }
  return out;
}

int32_t AddMonths(int32_t yyyymm, int32_t months) {
  const int32_t index = (yyyymm / 100) * 12 + (yyyymm % 100 - 1) + months;
  return (index / 12) * 100 + index % 12 + 1;
}

int32_t NextOpenMonth(const std::set<int32_t>& closed, int32_t month) {
  int32_t next = AddMonths(month, 1);
  while (closed.count(next)) next = AddMonths(next, 1);
  return next;
}

Result<std::vector<json::object>> CloseMonthEvents(const History& h, const Projection& p,
                                                   int32_t month, CivilDay today) {
  const std::string name = FormatMonth(month);
  const int32_t y = month / 100, m = month % 100;
  const CivilDay last_day = ToDay({y, m, DaysInMonth(y, m)});
  if (last_day >= today) {
    return Error{ErrorCode::kInvalidArgument,
                 name +
                     " is not over yet: a month can be closed from the day after its last "
                     "day (" +
                     FormatDay(last_day + 1) + ")"};
  }
  for (const IssuedInvoice& inv : LiveInvoices(h)) {
    if (inv.month != month) continue;
    return Error{ErrorCode::kConflict, name + " is already closed (invoice " + inv.id + ", seq " +
                                           std::to_string(inv.seq) +
                                           "); what changed since is reported by "
                                           "`ledgerctl regularisations --month " +
                                           name + "`"};
  }
  const Ruleset* r = InvoiceRuleset(*p.rulesets, month);
  if (!r) return Error{ErrorCode::kInvalidArgument, "no ruleset is in force in " + name};
  // What is due for earlier closed months is billed with this month's invoices; a provider
  // with something due but no line this month gets an invoice for it alone.
  std::map<std::string, std::vector<Regularisation>> due;
  for (Regularisation& g : Regularisations(h, p, std::nullopt).items) {
    if (g.month < month) due[g.provider_id].push_back(std::move(g));
  }
  std::map<std::string, MonthInvoice> invoices;
  for (MonthInvoice& inv : MonthInvoices(h, p, month)) {
    invoices.emplace(inv.provider_id, std::move(inv));
  }
  for (const auto& [provider, items] : due) {
    if (!invoices.count(provider)) {
      invoices.emplace(provider, ProviderMonthInvoice(h, p, provider, month));
    }
  }
  if (invoices.empty()) {
    return Error{ErrorCode::kNotFound, "no provider has invoice lines or regularisations due in " +
                                           name + ": nothing to close"};
  }
  std::set<std::string, std::less<>> taken;
  for (const IssuedInvoice& inv : h.issued_invoices) taken.insert(inv.id);
  std::vector<json::object> events;
  static const std::vector<Regularisation> kNone;
  for (const auto& [provider, inv] : invoices) {
    const std::string id = InvoiceId(provider, month, taken);
    taken.insert(id);
    auto d = due.find(provider);
    events.push_back(IssuedJson(inv, id, last_day, *r, d == due.end() ? kNone : d->second));
  }
  return events;
}

std::string ExportCsv(const History& h, const Projection& p, int32_t month) {
  std::string out;
  for (const std::string& provider : ProvidersWithLines(h, p, month)) {
    std::string csv = InvoiceCsv(provider, month, MemoryLines(h, p, provider, month));
    // One header for the whole export: InvoiceCsv's own first line.
    if (!out.empty()) csv.erase(0, csv.find('\n') + 1);
    out += csv;
  }
  if (out.empty()) out = InvoiceCsv("", month, {});
  return out;
}

json::object ExportJson(const History& h, const Projection& p, int32_t month) {
  json::array invoices;
  for (const std::string& provider : ProvidersWithLines(h, p, month)) {
    invoices.emplace_back(InvoiceJson(provider, month, MemoryLines(h, p, provider, month)));
  }
  json::object o;
  o["month"] = FormatMonth(month);
  o["invoices"] = std::move(invoices);
  return o;
}

}  // namespace ledger
