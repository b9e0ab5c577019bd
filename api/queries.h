// ledgerctl's read commands over the projections: invoice, quota, balance, figures, networks,
// providers, rules show, projections. Their answers are api/answers.h's, as ledgerd's are.
#pragma once

#include "api/flags.h"

namespace ledger {

int RunInvoice(const Flags& f);
int RunQuota(const Flags& f);
int RunBalance(const Flags& f);
int RunRules(const Flags& f);
int RunFigures(const Flags& f);
int RunNetworks(const Flags& f);
int RunProviders(const Flags& f);
int RunProjections(const Flags& f);

}  // namespace ledger
