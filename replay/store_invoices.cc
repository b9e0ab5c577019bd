#include "replay/store_invoices.h"

#include <algorithm>
#include <tuple>

namespace ledger {

Result<std::vector<IssuedInvoice>> StoreInvoices::LiveInvoices() const {
  auto seqs = view_.LiveInvoiceSeqs();
  if (!seqs) return seqs.error();
  History h;  // only invoice.issued events: History converts them as a fold would
  Status s = log_.ReadSeqs(*seqs, [&](const StoredEventView& v) { h.Add(v); });
  if (!s) return s.error();
  std::vector<IssuedInvoice> out = std::move(h.issued_invoices);
  std::sort(out.begin(), out.end(), [](const IssuedInvoice& a, const IssuedInvoice& b) {
    return std::tie(a.month, a.provider_id, a.seq) < std::tie(b.month, b.provider_id, b.seq);
  });
  return out;
}

Result<std::vector<std::string>> StoreInvoices::ProvidersWithLines(int32_t month) const {
  return view_.MonthProviders(month);
}

Result<std::vector<LineRecord>> StoreInvoices::Lines(std::string_view provider,
                                                     int32_t month) const {
  return view_.Lines(provider, month);
}

}  // namespace ledger
