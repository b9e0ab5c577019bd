// For auditors: how one care event was priced. Built on the real fold, not a re-implementation:
// the beneficiary's events that precede the event in fold order (care date, then recording
// order; a concertation after that day's sessions) are folded with FoldBeneficiary to give the
// state the event met (trajectory, counter used and its maximum, the daily limit, assessment,
// age, enrolment), and the lines are those the full projection produced for it. What explain
// adds is the arithmetic: the fee row of the ruleset, the co-pay rule that applied and
// insurer = fee - co-pay, checked against the line.
//
// No NISS is output: the beneficiary appears as age on the care date and `bim`.
#pragma once

#include <boost/json.hpp>

#include "projections/history.h"
#include "projections/projector.h"
#include "schemas/result.h"

namespace ledger {

// `p` is Project(h, ...). Errors: kNotFound when `seq` is not a care event of `h` (a session,
// group session, community intervention, support mission, concertation or exception).
//
// {"event_id","seq","type","occurred_on","network_id","voided","ruleset":{...}|null,
//  "state_before":{...}, "lines":[{invoice line fields, "provider_id",
//                                  "arithmetic":{"fee":{row},"copay_rule",...,"consistent"}}]}
// `consistent` is false when the explanation does not reproduce the line (never expected).
Result<boost::json::object> ExplainEvent(const History& h, const Projection& p, Seq seq);

}  // namespace ledger
