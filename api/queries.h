// ledgerctl's read commands over the projections: invoice, quota, balance, rules show.
#pragma once

#include "api/flags.h"

namespace ledger {

int RunInvoice(const Flags& f);
int RunQuota(const Flags& f);
int RunBalance(const Flags& f);
int RunRules(const Flags& f);
int RunFigures(const Flags& f);
int RunProjections(const Flags& f);

}  // namespace ledger
