// Invoices as billed: a month's invoice of every provider as the projection computes it now,
// what `close` issues for a month (`invoice.issued`, one per provider), which months are closed,
// and the all-provider export of a month. Pure functions of a sealed History and its Projection.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "projections/history.h"
#include "projections/projector.h"
#include "projections/records.h"
#include "replay/replay.h"
#include "schemas/result.h"

namespace ledger {

// One provider's invoice for one month as the projection bills it now.
struct MonthInvoice {
  std::string provider_id;
  int32_t month = 0;  // yyyymm
  Amounts totals;     // over billable lines
  int32_t lines = 0;  // every line, billable or not
  int32_t billable_lines = 0;
  std::string lines_sha256;  // LinesSha256 of the lines
};

// SHA-256 (hex) of the canonical JSON of invoice lines: the `lines` array of InvoiceJson
// serialised compactly, i.e. exactly what `ledgerctl invoice` prints under "lines".
std::string LinesSha256(std::string_view provider, int32_t month,
                        const std::vector<LineRecord>& lines);

// The providers with at least one line in `month`, by id.
std::vector<std::string> ProvidersWithLines(const History& h, const Projection& p, int32_t month);
// The invoice of those lines (totals, counts, LinesSha256).
MonthInvoice SummariseInvoice(std::string_view provider, int32_t month,
                              const std::vector<LineRecord>& lines);

// The invoice of every provider with at least one line in `month`, by provider id.
std::vector<MonthInvoice> MonthInvoices(const History& h, const Projection& p, int32_t month);
// One provider's; zero totals and no lines when it has none that month.
MonthInvoice ProviderMonthInvoice(const History& h, const Projection& p, std::string_view provider,
                                  int32_t month);

// The issued invoices that are not voided, by month, provider id, seq.
std::vector<IssuedInvoice> LiveInvoices(const History& h);
// Months with at least one live issued invoice: `close` closes a month for all providers.
std::set<int32_t> ClosedMonths(const History& h);
// The first month after `month` that is not closed.
int32_t NextOpenMonth(const std::set<int32_t>& closed, int32_t month);
int32_t AddMonths(int32_t yyyymm, int32_t months);

// The `invoice.issued` events (event JSON, ready for DecodeEventValue) that close `month`: one
// per provider with lines that month, totals over billable lines, `lines` = every line,
// `lines_sha256`, the ruleset in force on the 1st of the month (else on its first day that has
// one), `occurred_on` = the month's last day, ids `inv-<provider>-<YYYY-MM>` (a suffix `.N`
// when an earlier, voided invoice took that id). Each carries, in `regularisations`, what is
// due for the provider's earlier closed months (replay/regularisations.h), one entry per month;
// a provider with something due but no line this month gets an invoice with zero totals and
// those entries. Errors: the month is not over on `today`, is already closed (kConflict), has
// neither lines nor regularisations due, or has no ruleset in force.
Result<std::vector<boost::json::object>> CloseMonthEvents(const History& h, const Projection& p,
                                                          int32_t month, CivilDay today);

// Every invoice line of `month` for all providers, by provider id, care date, seq, part. CSV
// columns: those of the invoice CSV (api/README.md); JSON: {"month","invoices":[invoice...]}.
std::string ExportCsv(const History& h, const Projection& p, int32_t month);
boost::json::object ExportJson(const History& h, const Projection& p, int32_t month);

}  // namespace ledger
