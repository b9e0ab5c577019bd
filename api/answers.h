// The answers of the read commands and routes, from a QuerySource (the persisted projections,
// or a fold as of an earlier seq): one implementation behind `ledgerctl` and `ledgerd`. Each
// checks what it is asked about (an unknown provider or network is kNotFound, never zeros) and,
// with a `scope` (a coordinator's network), keeps that network's data only. Parameters come
// parsed; rendering is projections/views.h's.
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/query_source.h"

namespace ledger {

using Scope = std::optional<std::string>;

// One provider's invoice of a month: its lines (of `scope`'s network only, when given).
Result<std::vector<LineRecord>> InvoiceLines(const QuerySource& src, std::string_view provider,
                                             int32_t month, const Scope& scope);
Result<boost::json::object> QuotaAnswer(const QuerySource& src, std::string_view niss, CivilDay on,
                                        const Scope& scope);
// The balance with its monthly series.
Result<boost::json::object> BalanceAnswer(const QuerySource& src, std::string_view network,
                                          int32_t year);
Result<boost::json::object> FiguresAnswer(const QuerySource& src, std::string_view network,
                                          CivilDay on);
Result<boost::json::object> NetworksAnswer(const QuerySource& src, const Scope& scope);
// A network's providers on a day (or ever), by id, from after `cursor`, at most `limit`.
Result<boost::json::object> ProvidersAnswer(const QuerySource& src, std::string_view network,
                                            std::optional<CivilDay> on, size_t limit,
                                            std::string_view cursor);
// The network's month (tallies per provider).
Result<boost::json::object> NetworkMonthAnswer(const QuerySource& src, std::string_view network,
                                               int32_t month);
// The providers with lines of the network in the month, by id (for its CSV).
Result<std::vector<std::string>> NetworkMonthProviders(const QuerySource& src,
                                                       std::string_view network, int32_t month);

// The invoice CSV of several provider-months, produced a piece at a time: the header, then each
// provider's lines (of `network` only, when given), whole providers until a piece holds at least
// `piece_bytes`. Call until it sets `done`. The source must outlive it.
class InvoiceCsvStream {
 public:
  InvoiceCsvStream(const QuerySource& src, std::vector<std::string> providers, int32_t month,
                   std::optional<std::string> network);
  Status Next(std::string* out, bool* done, size_t piece_bytes = 64 << 10);

 private:
  const QuerySource& src_;
  std::vector<std::string> providers_;
  int32_t month_;
  std::optional<std::string> network_;
  size_t next_ = 0;
  bool header_ = false;
};

}  // namespace ledger
