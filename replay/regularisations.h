// Regularisations: what was issued for a closed provider-month (`invoice.issued`, never
// edited) against what the projection bills for it now, after a tariff revision or a void.
// The difference is billed in the next open month. A pure function of a sealed History and
// its Projection.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "projections/history.h"
#include "projections/projector.h"
#include "projections/records.h"
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

// What regularisations read: the issued invoices that are not voided and the current lines of
// each provider-month. Two sources give the same report: a sealed History and its Projection
// (answers as of an earlier seq, `close`), and the persisted projections at the head
// (replay/store_invoices.h).
class InvoiceSource {
 public:
  virtual ~InvoiceSource() = default;
  virtual Seq last_seq() const = 0;
  // The issued invoices that are not voided, by month, provider id, seq.
  virtual Result<std::vector<IssuedInvoice>> LiveInvoices() const = 0;
  // The providers with at least one line in the month, by id.
  virtual Result<std::vector<std::string>> ProvidersWithLines(int32_t month) const = 0;
  virtual Result<std::vector<LineRecord>> Lines(std::string_view provider, int32_t month) const = 0;
};

// A sealed History and its Projection as an InvoiceSource (both must outlive it).
class MemoryInvoices : public InvoiceSource {
 public:
  MemoryInvoices(const History& h, const Projection& p) : h_(h), p_(p) {}
  Seq last_seq() const override { return h_.last_seq(); }
  Result<std::vector<IssuedInvoice>> LiveInvoices() const override;
  Result<std::vector<std::string>> ProvidersWithLines(int32_t month) const override;
  Result<std::vector<LineRecord>> Lines(std::string_view provider, int32_t month) const override;

 private:
  const History& h_;
  const Projection& p_;
};

// `only`: the providers to report (a coordinator's); null: every provider. Invoices of the
// others are neither checked nor counted.
Result<RegularisationReport> Regularisations(const InvoiceSource& source,
                                             std::optional<int32_t> month,
                                             std::optional<std::string_view> provider,
                                             const std::set<std::string>* only = nullptr);

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
