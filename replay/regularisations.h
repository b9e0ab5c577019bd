// Regularisations: what was issued for a closed provider-month (`invoice.issued`, never
// edited) against what the projection bills for it now, after a tariff revision or a void.
// The difference is billed in the next open month. A pure function of a sealed History and
// its Projection.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "projections/history.h"
#include "projections/projector.h"
#include "replay/replay.h"

namespace ledger {

struct Regularisation {
  std::string provider_id;
  int32_t month = 0;  // yyyymm
  // The live invoices issued for it (normally one); none when the month was closed while this
  // provider had no line in it.
  std::vector<std::string> invoice_ids;
  std::vector<Seq> invoice_seqs;
  std::string issued_ruleset;  // "convention-2024@1", "" when none issued
  Amounts issued, current;
  // Regularisations of this provider-month already billed with later invoices (their
  // `regularisations`), and those invoices' ids.
  Amounts billed;
  std::vector<std::string> billed_with;
  // What is still to bill: current - issued - billed.
  Amounts due() const { return current - issued - billed; }
  int32_t issued_lines = 0, current_lines = 0;
  bool lines_changed = false;  // the current lines' digest differs from the issued one
  int32_t billed_in = 0;       // the first month after `month` that is not closed
};

struct RegularisationReport {
  std::optional<int32_t> month;            // only this closed month; nullopt: every closed month
  std::optional<std::string> provider_id;  // only this provider; nullopt: every provider
  Seq last_seq = 0;
  std::vector<int32_t> closed_months;
  int64_t invoices_checked = 0;
  // Provider-months with something due (current differs from issued plus what was billed),
  // by month, provider id.
  std::vector<Regularisation> items;
  Amounts total_delta;  // due, summed over items
};

// Compares every live `invoice.issued` (of `month`, if given) with the current projection of
// its provider-month, net of the regularisations of that provider-month that later invoices
// already billed. A provider with current lines in a closed month but no invoice for it is
// compared with zero. With `provider`, only that provider's invoices and months. Closing a month
// bills what is due for earlier closed months (replay/invoices.h, CloseMonthEvents), after which
// it is no longer listed.
RegularisationReport Regularisations(const History& h, const Projection& p,
                                     std::optional<int32_t> month,
                                     std::optional<std::string_view> provider = std::nullopt);

// {"month",["provider_id",]"last_seq","closed_months","invoices_checked",
//  "regularisations":[{"provider_id","month","invoices","issued_ruleset","issued":{amounts},
//                      "billed":{amounts},"billed_with":[ids],"current":{amounts},
//                      "delta":{amounts: current - issued - billed},"issued_lines",
//                      "current_lines","lines_changed","billed_in"}],
//  "totals":{"delta":{amounts}}}
boost::json::object RegularisationReportJson(const RegularisationReport& r);

}  // namespace ledger
