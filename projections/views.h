// What users read: invoices, quotas and balances rendered from a projection, in the shapes of
// shared/domain/interfaces.md. Pure functions of (history, projection, query).
#pragma once

#include <boost/json.hpp>

#include <string>
#include <string_view>

#include "projections/history.h"
#include "projections/projector.h"

namespace ledger {

// One provider's invoice for one month (yyyymm): totals over billable lines, every line.
boost::json::object InvoiceJson(const History& h, const Projection& p, std::string_view provider,
                                int32_t month);
// The same lines as CSV with a header row (columns documented in api/README.md).
std::string InvoiceCsv(const History& h, const Projection& p, std::string_view provider,
                       int32_t month);
// The beneficiary's trajectories active on `on`, counters as of that date.
boost::json::object QuotaJson(const History& h, const Projection& p, std::string_view niss,
                              CivilDay on);
// A network's budget for a year: allocated, consumed (insurer share of billable lines dated
// in the year), remaining and the projected exhaustion date from the spend rate so far.
boost::json::object BalanceJson(const History& h, const Projection& p, std::string_view network,
                                int32_t year);

}  // namespace ledger
