// What users read: invoices, quotas and balances in the shapes of
// shared/domain/interfaces.md, rendered from records (records.h), whichever backend produced
// them: the in-memory fold (for --as-of) or the persisted store.
#pragma once

#include <boost/json.hpp>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "projections/directory.h"
#include "projections/records.h"
#include "projections/tally.h"

namespace ledger {

boost::json::object InvoiceJson(std::string_view provider, int32_t month,
                                const std::vector<LineRecord>& lines);
// The same lines as CSV with a header row; columns in api/README.md.
std::string InvoiceCsv(std::string_view provider, int32_t month,
                       const std::vector<LineRecord>& lines);
// The CSV's header row, and one line's row, each ending in a line break (for streaming).
std::string_view InvoiceCsvHeader();
void AppendInvoiceCsvRow(std::string* out, std::string_view provider, int32_t month,
                         const LineRecord& line);
// Trajectories active on `on`, counters as of that date, maxima from the ruleset in force then.
boost::json::object QuotaJson(std::string_view niss, CivilDay on,
                              const std::vector<TrajectoryRecord>& trajectories,
                              const RulesetCatalog& rules);
// Allocated, consumed (insurer share of billable lines dated in the year), remaining, and the
// projected exhaustion date from the spend rate up to the latest care date (never the clock).
boost::json::object BalanceJson(std::string_view network, int32_t year, Cents allocated,
                                const std::map<CivilDay, Cents>& daily_consumed);

// The same with the year's months: {"month","consumed_cents","cumulative_cents","by_function"}
// from January to the month of the latest care date with spending, from the network's tallies
// of each month (`months`, by yyyymm; months without lines count zero).
boost::json::object BalanceJson(std::string_view network, int32_t year, Cents allocated,
                                const std::map<CivilDay, Cents>& daily_consumed,
                                const std::map<int32_t, LineTally>& months);

// {"networks":[{"network_id","name","population"}]}
boost::json::object NetworksJson(const std::vector<NetworkRecord>& networks);
// {"network_id","on","providers":[{"provider_id","profession","enrolled_on","left_on"}],
//  "next_cursor"}: `listed` as ProvidersListed gives them (one page).
boost::json::object ProvidersJson(std::string_view network, std::optional<CivilDay> on,
                                  const std::vector<EnrolmentRecord>& listed,
                                  std::optional<std::string> next_cursor);
// A network's month: totals over billable lines, line counts, unbillable lines by reason, and
// the same per provider (by id).
boost::json::object NetworkMonthJson(std::string_view network, int32_t month,
                                     const std::vector<std::pair<std::string, LineTally>>& tallies);
// {"fee_cents","copay_cents","insurer_cents"} of a tally; {"<reason>":N} of its unbillable lines.
boost::json::object TallyTotalsJson(const LineTally& t);
boost::json::object ReasonCountsJson(const LineTally& t);

// Network figures on a date: mean billable individual sessions per closed treatment trajectory
// (ended before `on`), and the share of support trajectories (started by `on`) with an
// exception, against the ruleset's reported limit. Means and shares in hundredths.
boost::json::object FiguresJson(std::string_view network, CivilDay on,
                                const std::vector<TrajectoryRecord>& network_trajectories,
                                const RulesetCatalog& rules);

// The same, straight from an in-memory projection.
boost::json::object InvoiceJson(const History& h, const Projection& p, std::string_view provider,
                                int32_t month);
std::string InvoiceCsv(const History& h, const Projection& p, std::string_view provider,
                       int32_t month);
boost::json::object QuotaJson(const History& h, const Projection& p, std::string_view niss,
                              CivilDay on);
boost::json::object BalanceJson(const History& h, const Projection& p, std::string_view network,
                                int32_t year);

}  // namespace ledger
