// The persisted projections (projections/store.h) as the InvoiceSource of regularisations: the
// live `invoice.issued` events (the store indexes them; the events are read from the log) and
// the current lines, at one view of the store. No history is folded: regularisations at the
// head are read, as invoices are.
#pragma once

#include "ledger/event_log.h"
#include "projections/store.h"
#include "replay/regularisations.h"

namespace ledger {

class StoreInvoices : public InvoiceSource {
 public:
  // `view` and `log` must outlive it.
  StoreInvoices(const EventLog& log, const ProjectionView& view, Seq seq)
      : log_(log), view_(view), seq_(seq) {}
  Seq last_seq() const override { return seq_; }
  Result<std::vector<IssuedInvoice>> LiveInvoices() const override;
  Result<std::vector<std::string>> ProvidersWithLines(int32_t month) const override;
  Result<std::vector<LineRecord>> Lines(std::string_view provider, int32_t month) const override;

 private:
  const EventLog& log_;
  const ProjectionView& view_;
  Seq seq_;
};

}  // namespace ledger
