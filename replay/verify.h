// The auditors' answer to "is the ledger intact?": the whole hash chain (EventLog::Verify) and,
// when given, a checkpoint written down earlier (`ledgerctl checkpoint`). Built once here,
// rendered once (VerifyAnswerJson), for `ledgerctl verify [--expect SEQ:HASH]` and
// GET /v1/audit/verify alike.
//
// Thread-safety: reads the log only (one snapshot per pass); any thread.
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "ledger/event_log.h"
#include "schemas/result.h"

namespace ledger {

// A point of the chain to hold the ledger to later: the seq and the hash of its event.
struct Checkpoint {
  Seq seq = 0;
  Hash hash{};
};
// "SEQ:HASH" (HASH: 64 hex digits); kInvalidArgument otherwise.
Result<Checkpoint> ParseCheckpoint(std::string_view text);
// The head as a checkpoint to write down: {"seq":N,"head":"<hex>"}.
boost::json::object CheckpointJson(const EventLog& log);

// Whether the event at the checkpoint's seq still has its hash. With a verified chain, that
// proves that events 1..seq are those of the checkpoint.
struct CheckpointCheck {
  Checkpoint checkpoint;
  bool ok = false;
  std::optional<Hash> found;  // the hash there now, when it differs
  std::string problem;        // when !ok
};
// Errors are storage errors only.
Result<CheckpointCheck> CheckCheckpoint(const EventLog& log, const Checkpoint& checkpoint);
// {"seq","hash","ok"} plus "found" and "problem" when not ok.
boost::json::object CheckpointCheckJson(const CheckpointCheck& check);

struct VerifyAnswer {
  VerifyReport chain;
  std::optional<CheckpointCheck> checkpoint;  // checked when asked for and the chain holds
  bool ok() const { return chain.ok && (!checkpoint || checkpoint->ok); }
};
// Walks the chain (`progress(done, total)` now and then; may be empty), then checks `expect`.
Result<VerifyAnswer> VerifyLedger(const EventLog& log, const std::optional<Checkpoint>& expect,
                                  const std::function<void(Seq, Seq)>& progress = {});
// {"ok":true,"events":N,"head":H}, or {"ok":false,"events":N,"first_bad_seq":S,"problem":P};
// with "checkpoint": CheckpointCheckJson when one was checked ("ok" false if it fails).
boost::json::object VerifyAnswerJson(const VerifyAnswer& answer);

}  // namespace ledger
