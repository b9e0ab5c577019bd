// Tariff revisions, closed months and audit tools: `rules publish`, `replay`, `close`,
// `regularisations`, `explain`, `export`, `checkpoint` and `verify --expect`.
//
// Two layers. The operations (first part) take an EventLog and plain arguments and return the
// JSON answer that the command prints, or an Error whose code says what went wrong
// (kInvalidArgument: bad input, 400 / exit 2; kConflict: refused, 409 / exit 1; kNotFound;
// kStorage). HTTP handlers call them and send that JSON. The Run functions (second part) are
// the command line: flags in, progress line on a terminal, JSON or text out, exit code.
//
// Thread-safety: the operations only read the log, except PublishRuleset and CloseMonth, which
// append one atomic batch and refuse it when the ledger moved under them (see each).
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "api/flags.h"
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

// Appends one `invoice.issued` per provider with lines in `month`, in one atomic batch
// (replay/invoices.h, CloseMonthEvents). The invoices are computed from the history at the
// head; if another append lands meanwhile they are computed again (the last time holding the
// append lock). {"month","appended","last_seq","invoices":[{"id","provider_id","ruleset",
// "fee_cents","copay_cents","insurer_cents","lines"}],"totals":{amounts}}
Result<boost::json::object> CloseMonth(EventLog& log, int32_t month, CivilDay today,
                                       const ReadProgress& progress = {});

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

// The answer of `verify` (and GET /v1/audit/verify): {"ok":true,"events":N,"head":H}, or
// {"ok":false,"events":N,"first_bad_seq":S,"problem":P}.
boost::json::object VerifyJson(const VerifyReport& report);

// {"seq":N,"head":"<hex>"}: the head to write down, for `verify --expect` later.
boost::json::object CheckpointJson(const EventLog& log);

struct Checkpoint {
  Seq seq = 0;
  Hash hash{};
};
// "SEQ:HASH" (HASH: 64 hex digits).
Result<Checkpoint> ParseCheckpoint(std::string_view text);
// Whether the event at the checkpoint's seq still has its hash. With a verified chain, that
// proves that events 1..seq are those of the checkpoint. {"seq","hash","ok"} plus "found" and
// "problem" when not ok. Errors are storage errors only.
Result<boost::json::object> CheckCheckpoint(const EventLog& log, const Checkpoint& checkpoint);
// --expect SEQ:HASH of `verify`, nullopt when absent.
Result<std::optional<Checkpoint>> ExpectFlag(const Flags& f);

// The command line.
int RunRulesCommand(const Flags& f);  // `rules publish ...`, else `rules show ...` (queries.h)
int RunReplay(const Flags& f);
int RunClose(const Flags& f);
int RunRegularisations(const Flags& f);
int RunExplain(const Flags& f);
int RunExport(const Flags& f);
int RunCheckpoint(const Flags& f);

}  // namespace ledger
