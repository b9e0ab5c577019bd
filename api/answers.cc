#include "api/answers.h"

#include <algorithm>

#include "projections/views.h"

namespace ledger {
namespace json = boost::json;

namespace {

Error NotFound(std::string what) { return Error{ErrorCode::kNotFound, std::move(what)}; }

// kNotFound unless the network is registered.
Status KnownNetwork(const QuerySource& src, std::string_view network) {
  auto n = src.Network(network);
  if (!n) return n.error();
  if (!n->has_value()) return NotFound("no network " + std::string(network));
  return Ok();
}

}  // namespace

Result<std::vector<LineRecord>> InvoiceLines(const QuerySource& src, std::string_view provider,
                                             int32_t month, const Scope& scope) {
  auto known = src.ProviderKnown(provider);
  if (!known) return known.error();
  if (!*known) return NotFound("no provider " + std::string(provider));
  auto lines = src.Lines(provider, month);
  if (!lines) return lines.error();
  if (scope) std::erase_if(*lines, [&](const LineRecord& l) { return l.network_id != *scope; });
  return lines;
}

Result<json::object> QuotaAnswer(const QuerySource& src, std::string_view niss, CivilDay on,
                                 const Scope& scope) {
  auto trajectories = src.Trajectories(niss);
  if (!trajectories) return trajectories.error();
  if (scope) {
    std::erase_if(*trajectories, [&](const TrajectoryRecord& t) { return t.network_id != *scope; });
    // Unknown in their network: whether the person is known elsewhere is not theirs to learn.
    if (trajectories->empty()) return NotFound("no such beneficiary in your network");
  } else {
    auto known = src.BeneficiaryKnown(niss);
    if (!known) return known.error();
    if (!*known) return NotFound("no event of the ledger is about this beneficiary");
  }
  auto rules = src.rules();
  if (!rules) return rules.error();
  return QuotaJson(niss, on, *trajectories, **rules);
}

Result<json::object> BalanceAnswer(const QuerySource& src, std::string_view network, int32_t year) {
  if (Status s = KnownNetwork(src, network); !s) return s.error();
  auto allocated = src.Allocated(network, year);
  if (!allocated) return allocated.error();
  auto daily = src.Daily(network, year);
  if (!daily) return daily.error();
  auto months = src.NetworkYear(network, year);
  if (!months) return months.error();
  return BalanceJson(network, year, *allocated, *daily, *months);
}

Result<json::object> FiguresAnswer(const QuerySource& src, std::string_view network, CivilDay on) {
  if (Status s = KnownNetwork(src, network); !s) return s.error();
  auto trajectories = src.NetworkTrajectories(network);
  if (!trajectories) return trajectories.error();
  auto rules = src.rules();
  if (!rules) return rules.error();
  return FiguresJson(network, on, *trajectories, **rules);
}

Result<json::object> NetworksAnswer(const QuerySource& src, const Scope& scope) {
  auto all = src.Networks();
  if (!all) return all.error();
  if (scope) std::erase_if(*all, [&](const NetworkRecord& n) { return n.network_id != *scope; });
  return NetworksJson(*all);
}

Result<json::object> ProvidersAnswer(const QuerySource& src, std::string_view network,
                                     std::optional<CivilDay> on, size_t limit,
                                     std::string_view cursor) {
  if (Status s = KnownNetwork(src, network); !s) return s.error();
  auto periods = src.Enrolments(network);
  if (!periods) return periods.error();
  std::vector<EnrolmentRecord> listed = ProvidersListed(*periods, on);
  if (!cursor.empty()) {
    std::erase_if(listed, [&](const EnrolmentRecord& e) { return e.provider_id <= cursor; });
  }
  std::optional<std::string> next;
  if (limit > 0 && listed.size() > limit) {
    listed.resize(limit);
    next = listed.back().provider_id;
  }
  return ProvidersJson(network, on, listed, next);
}

Result<json::object> NetworkMonthAnswer(const QuerySource& src, std::string_view network,
                                        int32_t month) {
  if (Status s = KnownNetwork(src, network); !s) return s.error();
  auto tallies = src.NetworkMonth(network, month);
  if (!tallies) return tallies.error();
  return NetworkMonthJson(network, month, *tallies);
}

Result<std::vector<std::string>> NetworkMonthProviders(const QuerySource& src,
                                                       std::string_view network, int32_t month) {
  if (Status s = KnownNetwork(src, network); !s) return s.error();
  auto tallies = src.NetworkMonth(network, month);
  if (!tallies) return tallies.error();
  std::vector<std::string> out;
  for (const auto& [provider, t] : *tallies) out.push_back(provider);
  return out;
}

InvoiceCsvStream::InvoiceCsvStream(const QuerySource& src, std::vector<std::string> providers,
                                   int32_t month, std::optional<std::string> network)
    : src_(src), providers_(std::move(providers)), month_(month), network_(std::move(network)) {}

Status InvoiceCsvStream::Next(std::string* out, bool* done, size_t piece_bytes) {
  if (!header_) {
    out->append(InvoiceCsvHeader());
    header_ = true;
  }
  while (next_ < providers_.size() && out->size() < piece_bytes) {
    const std::string& provider = providers_[next_++];
    Status s = src_.ForEachLine(provider, month_, [&](const LineRecord& l) {
      if (!network_ || l.network_id == *network_) AppendInvoiceCsvRow(out, provider, month_, l);
      return true;
    });
    if (!s) return s;
  }
  *done = next_ >= providers_.size();
  return Ok();
}

}  // namespace ledger
