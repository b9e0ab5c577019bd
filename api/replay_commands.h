// The command line of tariff revisions, closed months and audit tools: `rules publish`,
// `replay`, `close`, `regularisations`, `explain`, `export`, `checkpoint` and `verify --expect`:
// flags in, a progress line on a terminal, JSON or text out, an exit code. The operations
// themselves are replay/operations.h and replay/verify.h (shared with ledgerd).
#pragma once

#include <optional>

#include "api/flags.h"
#include "replay/operations.h"
#include "replay/verify.h"
#include "schemas/result.h"

namespace ledger {

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
