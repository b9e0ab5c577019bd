// The operations behind `rules publish`, `replay`, `close`, `regularisations`, `explain` and
// `export`, for ledgerctl and ledgerd alike: they take an EventLog and plain arguments and return
// the answer, or an Error whose code says what went wrong (kInvalidArgument: bad input, 400 /
// exit 2; kConflict: refused, 409 / exit 1; kNotFound; kStorage). The one file of replay/ that
// reads the log and appends; what they compute is the pure functions of the other files.
//
// Thread-safety: the operations only read the log, except PublishRuleset and CloseMonth, which
// append one atomic batch and refuse it when the ledger moved under them (see each).
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/event_log.h"
#include "projections/history.h"
#include "projections/store.h"
#include "replay/replay.h"
#include "schemas/result.h"

namespace ledger {

// `progress(done, total)` while events are read; may be empty.
using ReadProgress = std::function<void(Seq done, Seq total)>;

// Events 1..as_of (clamped to the head) as a sealed History. Every `as_of` below is the last
// seq to read the same way: pass log.head().seq (or kAtHead) for the ledger as it is now.
inline constexpr Seq kAtHead = UINT64_MAX;
Result<History> LoadHistory(const EventLog& log, Seq as_of, const ReadProgress& progress = {});

// The shipped rulesets plus those published up to `as_of` and not voided by then, read from the
// rules stream alone: no fold and no projection, however long the history (`rules show`).
Result<std::unique_ptr<RulesetCatalog>> RulesetsAt(const EventLog& log, Seq as_of);

// Validates `document` (ParseRuleset) and appends `ruleset.published` with `reason`, dated
// min(valid_from, today), id `ruleset-<id>-v<version>`. Refused (kConflict) when the version
// is not higher than the one in force for that id, and when another ruleset event was appended
// since the check (the event carries the rules stream's expected_version).
// {"published":"convention-2024@2","supersedes":"convention-2024@1"|null,"id","seq",
//  "occurred_on"}
Result<boost::json::object> PublishRuleset(EventLog& log, const boost::json::value& document,
                                           std::string_view reason, CivilDay today);

// The dry run: the whole history under the rulesets in force and under those plus `document`
// (replay/replay.h). Stores nothing. Render with ReplayReportJson / ReplayReportText.
Result<ReplayReport> ReplayRuleset(const EventLog& log, const boost::json::value& document,
                                   std::optional<CivilDay> from, const ReadProgress& progress = {});

// A month closed: the invoices appended (as their events say), their totals and the totals of the
// regularisations they bill.
struct ClosedInvoice {
  struct Due {
    int32_t month = 0;  // yyyymm of the earlier month regularised
    Amounts due;
  };
  std::string id, provider_id;
  std::string ruleset;  // "convention-2024@1"
  Amounts amounts;
  int32_t lines = 0;
  std::vector<Due> regularisations;
};
struct CloseAnswer {
  int32_t month = 0;  // yyyymm
  uint64_t appended = 0;
  Seq last_seq = 0;
  std::vector<ClosedInvoice> invoices;
  Amounts totals, regularised;
};

// Appends one `invoice.issued` per provider with lines in `month`, in one atomic batch
// (replay/invoices.h, CloseMonthEvents). The invoices are computed from the history at the
// head; if another append lands meanwhile they are computed again (the last time holding the
// append lock).
Result<CloseAnswer> CloseMonth(EventLog& log, int32_t month, CivilDay today,
                               const ReadProgress& progress = {});
// {"month","appended","last_seq","invoices":[{"id","provider_id","ruleset","fee_cents",
// "copay_cents","insurer_cents","lines"[,"regularisations"]}],"totals":{amounts},
// "regularisations_totals":{amounts}}
boost::json::object CloseAnswerJson(const CloseAnswer& answer);

// replay/regularisations.h over the history up to `as_of`; of one provider when given.
// kNotFound for a provider the ledger did not know then. `only`: the providers to report
// (replay/regularisations.h); null: all.
Result<boost::json::object> RegularisationsAt(const EventLog& log, std::optional<int32_t> month,
                                              std::optional<std::string_view> provider, Seq as_of,
                                              const ReadProgress& progress = {},
                                              const std::set<std::string>* only = nullptr);

// The same at the head from the persisted projections at one view (replay/store_invoices.h):
// nothing is folded. `seq` is the seq the view reflects.
Result<boost::json::object> RegularisationsOfStore(const EventLog& log, const ProjectionView& view,
                                                   Seq seq, std::optional<int32_t> month,
                                                   std::optional<std::string_view> provider,
                                                   const std::set<std::string>* only = nullptr);

// replay/explain.h for the event with that id, as the ledger knew it at `as_of`.
// kNotFound for an unknown id (or one recorded after as_of); kInvalidArgument for an event
// that is not a care event (naming its type).
Result<boost::json::object> ExplainEventId(const EventLog& log, std::string_view event_id,
                                           Seq as_of, const ReadProgress& progress = {});

// Every invoice line of `month` for all providers (replay/invoices.h): CSV text, or the JSON
// {"month","invoices":[...]} serialised.
enum class ExportFormat { kJson, kCsv };
Result<std::string> ExportMonth(const EventLog& log, int32_t month, ExportFormat format, Seq as_of,
                                const ReadProgress& progress = {});

}  // namespace ledger
