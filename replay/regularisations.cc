#include "replay/regularisations.h"

#include <cassert>
#include <map>
#include <set>
#include <utility>

#include "replay/invoices.h"

namespace ledger {
namespace json = boost::json;

namespace {

using Key = std::pair<int32_t, std::string>;  // month, provider id

struct Row {
  Regularisation r;
  std::string issued_digest;  // lines_sha256 of the invoice when exactly one was issued
};

// What was issued per provider-month, from the live invoices (summed if several), and what
// later invoices billed for it (their `regularisations`).
std::map<Key, Row> Issued(const std::vector<IssuedInvoice>& live, std::optional<int32_t> month,
                          std::optional<std::string_view> provider,
                          const std::set<std::string>* only, int64_t* checked) {
  std::map<Key, Row> out;
  for (const IssuedInvoice& inv : live) {
    if (provider && inv.provider_id != *provider) continue;
    if (only && !only->count(inv.provider_id)) continue;
    for (const IssuedInvoice::Regularisation& g : inv.regularisations) {
      if (month && g.month != *month) continue;
      Regularisation& r = out[{g.month, inv.provider_id}].r;
      r.provider_id = inv.provider_id;
      r.month = g.month;
      r.billed += Amounts{g.fee, g.copay, g.insurer};
      r.billed_with.push_back(inv.id);
    }
    if (month && inv.month != *month) continue;
    ++*checked;
    Row& row = out[{inv.month, inv.provider_id}];
    Regularisation& r = row.r;
    r.provider_id = inv.provider_id;
    r.month = inv.month;
    r.invoice_ids.push_back(inv.id);
    r.invoice_seqs.push_back(inv.seq);
    r.issued_ruleset = inv.ruleset_id + "@" + std::to_string(inv.ruleset_version);
    r.issued += Amounts{inv.fee, inv.copay, inv.insurer};
    r.issued_lines += inv.lines;
    row.issued_digest = r.invoice_ids.size() == 1 ? inv.lines_sha256 : "";
  }
  return out;
}

// Whether the lines differ from those issued: by digest when one invoice gave one, else by count
// (several invoices for one provider-month are compared as changed).
bool LinesChanged(const Row& row, const MonthInvoice& now) {
  const Regularisation& r = row.r;
  if (r.invoice_ids.size() > 1) return true;
  if (!row.issued_digest.empty()) return row.issued_digest != now.lines_sha256;
  return r.issued_lines != now.lines;
}

}  // namespace

Result<std::vector<IssuedInvoice>> MemoryInvoices::LiveInvoices() const {
  return ledger::LiveInvoices(h_);
}
Result<std::vector<std::string>> MemoryInvoices::ProvidersWithLines(int32_t month) const {
  return ledger::ProvidersWithLines(h_, p_, month);
}
Result<std::vector<LineRecord>> MemoryInvoices::Lines(std::string_view provider,
                                                      int32_t month) const {
  return MemoryLines(h_, p_, provider, month);
}

Result<RegularisationReport> Regularisations(const InvoiceSource& source,
                                             std::optional<int32_t> month,
                                             std::optional<std::string_view> provider,
                                             const std::set<std::string>* only) {
  RegularisationReport report;
  report.month = month;
  if (provider) report.provider_id = std::string(*provider);
  report.last_seq = source.last_seq();
  auto live = source.LiveInvoices();
  if (!live) return live.error();
  std::set<int32_t> closed;
  for (const IssuedInvoice& inv : *live) closed.insert(inv.month);
  report.closed_months.assign(closed.begin(), closed.end());
  std::map<Key, Row> rows = Issued(*live, month, provider, only, &report.invoices_checked);
  // Providers that gained lines in a closed month they were not invoiced for.
  for (int32_t m : closed) {
    if (month && m != *month) continue;
    auto providers = source.ProvidersWithLines(m);
    if (!providers) return providers.error();
    for (const std::string& who : *providers) {
      if (provider && who != *provider) continue;
      if (only && !only->count(who)) continue;
      Regularisation& r = rows[{m, who}].r;
      r.provider_id = who;
      r.month = m;
    }
  }
  for (auto& [key, row] : rows) {
    Regularisation& r = row.r;
    auto lines = source.Lines(r.provider_id, r.month);
    if (!lines) return lines.error();
    const MonthInvoice now = SummariseInvoice(r.provider_id, r.month, *lines);
    r.current = now.totals;
    r.current_lines = now.lines;
    r.lines_changed = LinesChanged(row, now);
    r.billed_in = NextOpenMonth(closed, r.month);
    if (r.due() == Amounts{}) continue;
    report.total_delta += r.due();
    report.items.push_back(std::move(r));
  }
  return report;
}

RegularisationReport Regularisations(const History& h, const Projection& p,
                                     std::optional<int32_t> month,
                                     std::optional<std::string_view> provider) {
  auto report = Regularisations(MemoryInvoices(h, p), month, provider);
  assert(report.ok());  // the memory source has no failure
  return std::move(report).value();
}

json::object RegularisationReportJson(const RegularisationReport& r) {
  json::object o;
  o["month"] = r.month ? json::value(FormatMonth(*r.month)) : json::value(nullptr);
  if (r.provider_id) o["provider_id"] = *r.provider_id;
  o["last_seq"] = r.last_seq;
  json::array closed;
  for (int32_t m : r.closed_months) closed.emplace_back(FormatMonth(m));
  o["closed_months"] = std::move(closed);
  o["invoices_checked"] = r.invoices_checked;
  json::array items;
  for (const Regularisation& g : r.items) {
    json::object j;
    j["provider_id"] = g.provider_id;
    j["month"] = FormatMonth(g.month);
    json::array ids;
    for (const std::string& id : g.invoice_ids) ids.emplace_back(id);
    j["invoices"] = std::move(ids);
    j["issued_ruleset"] =
        g.issued_ruleset.empty() ? json::value(nullptr) : json::value(g.issued_ruleset);
    j["issued"] = AmountsJson(g.issued);
    j["billed"] = AmountsJson(g.billed);
    json::array with;
    for (const std::string& id : g.billed_with) with.emplace_back(id);
    j["billed_with"] = std::move(with);
    j["current"] = AmountsJson(g.current);
    j["delta"] = AmountsJson(g.due());
    j["issued_lines"] = g.issued_lines;
    j["current_lines"] = g.current_lines;
    j["lines_changed"] = g.lines_changed;
    j["billed_in"] = FormatMonth(g.billed_in);
    items.emplace_back(std::move(j));
  }
  o["regularisations"] = std::move(items);
  o["totals"] = json::object{{"delta", AmountsJson(r.total_delta)}};
  return o;
}

}  // namespace ledger
