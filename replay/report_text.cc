// The dry run's report as aligned text tables, amounts in euros, for a terminal.
#include <string>
#include <vector>

#include "replay/replay.h"

namespace ledger {

namespace {

// One row of a text table: columns right-aligned to `widths` except the first two.
std::string Row(const std::vector<std::string>& cells, const std::vector<int>& widths) {
  std::string out;
  for (size_t i = 0; i < cells.size(); ++i) {
    const int w = widths[i];
    const int pad = std::max(0, w - static_cast<int>(cells[i].size()));
    if (i > 0) out += "  ";
    if (i < 2) {
      out += cells[i] + std::string(static_cast<size_t>(pad), ' ');
    } else {
      out += std::string(static_cast<size_t>(pad), ' ') + cells[i];
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out + "\n";
}

std::vector<std::string> AmountCells(const Amounts& b, const Amounts& a) {
  const Amounts d = a - b;
  return {FormatEuros(b.fee), FormatEuros(a.fee), FormatEuros(d.fee), FormatEuros(d.copay),
          FormatEuros(d.insurer)};
}

std::string TextTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<int> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], static_cast<int>(row[i].size()));
    }
  }
  std::string out;
  for (const auto& row : rows) out += Row(row, widths);
  return out;
}

}  // namespace

std::string ReplayReportText(const ReplayReport& r) {
  std::string out = "replay of " + r.candidate +
                    (r.supersedes.empty() ? " (a new ruleset id)" : " over " + r.supersedes) +
                    ": " + std::to_string(r.care_events) + " care events up to seq " +
                    std::to_string(r.last_seq) + ", " + std::to_string(r.lines_compared) +
                    " lines" + (r.from ? " dated from " + FormatDay(*r.from) : "") +
                    "; amounts in euros, deltas = after - before\n\n";
  std::vector<std::vector<std::string>> rows = {{"provider", "month", "fee before", "fee after",
                                                 "fee delta", "co-pay delta", "insurer delta",
                                                 "lines repriced", "billability changed"}};
  for (const ProviderMonthDiff& d : r.provider_months) {
    std::vector<std::string> row = {d.provider_id, FormatMonth(d.month)};
    for (std::string& c : AmountCells(d.before, d.after)) row.push_back(std::move(c));
    row.push_back(std::to_string(d.lines_repriced));
    row.push_back(std::to_string(d.billability_changed));
    rows.push_back(std::move(row));
  }
  std::vector<std::string> total = {"total", ""};
  for (std::string& c : AmountCells(r.total_before, r.total_after)) total.push_back(std::move(c));
  total.push_back(std::to_string(r.lines_repriced));
  total.push_back(std::to_string(r.billability_changed));
  rows.push_back(std::move(total));
  out += TextTable(rows) + "\n";

  rows = {{"network", "year", "consumed before", "consumed after", "delta"}};
  for (const NetworkYearDiff& d : r.network_years) {
    rows.push_back({d.network_id, std::to_string(d.year), FormatEuros(d.before),
                    FormatEuros(d.after), FormatEuros(d.after - d.before)});
  }
  rows.push_back({"total", "", FormatEuros(r.total_before.insurer),
                  FormatEuros(r.total_after.insurer),
                  FormatEuros(r.total_after.insurer - r.total_before.insurer)});
  out += TextTable(rows);
  if (r.provider_months.empty() && r.network_years.empty()) out += "\nno difference\n";
  return out;
}

}  // namespace ledger
