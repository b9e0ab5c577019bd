#include "replay/verify.h"

#include "ledger/sha256.h"

namespace ledger {
namespace json = boost::json;

Result<Checkpoint> ParseCheckpoint(std::string_view text) {
  const Error bad{ErrorCode::kInvalidArgument,
                  "--expect must be SEQ:HASH, as printed by `ledgerctl checkpoint` (seq and head)"};
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 19) return bad;
  Checkpoint c;
  for (char ch : text.substr(0, colon)) {
    if (ch < '0' || ch > '9') return bad;
    c.seq = c.seq * 10 + static_cast<Seq>(ch - '0');
  }
  auto hash = HashFromHex(text.substr(colon + 1));
  if (!hash || c.seq == 0) return bad;
  c.hash = *hash;
  return c;
}

json::object CheckpointJson(const EventLog& log) {
  const Head head = log.head();
  return json::object{{"seq", head.seq}, {"head", ToHex(head.hash)}};
}

Result<CheckpointCheck> CheckCheckpoint(const EventLog& log, const Checkpoint& c) {
  CheckpointCheck out{c};
  const Seq head = log.head().seq;
  if (c.seq > head) {
    out.problem = "the ledger ends at seq " + std::to_string(head) +
                  ", before the checkpoint's seq " + std::to_string(c.seq) +
                  ": events were removed, or the checkpoint is of another ledger";
    return out;
  }
  Hash found{};
  Status s = log.ReadRange(c.seq, c.seq, [&](const StoredEventView& v) {
    found = v.hash();
    return false;
  });
  if (!s) return s.error();
  out.ok = found == c.hash;
  if (!out.ok) {
    out.found = found;
    out.problem = "the event at seq " + std::to_string(c.seq) +
                  " no longer has the checkpoint's hash: history up to it was rewritten";
  }
  return out;
}

json::object CheckpointCheckJson(const CheckpointCheck& check) {
  json::object out{{"seq", check.checkpoint.seq}, {"hash", ToHex(check.checkpoint.hash)}};
  out["ok"] = check.ok;
  if (check.found) out["found"] = ToHex(*check.found);
  if (!check.ok) out["problem"] = check.problem;
  return out;
}

Result<VerifyAnswer> VerifyLedger(const EventLog& log, const std::optional<Checkpoint>& expect,
                                  const std::function<void(Seq, Seq)>& progress) {
  auto chain = progress ? log.Verify(progress) : log.Verify();
  if (!chain) return chain.error();
  VerifyAnswer answer{*chain, std::nullopt};
  if (answer.chain.ok && expect) {
    auto check = CheckCheckpoint(log, *expect);
    if (!check) return check.error();
    answer.checkpoint = std::move(*check);
  }
  return answer;
}

json::object VerifyAnswerJson(const VerifyAnswer& answer) {
  const VerifyReport& report = answer.chain;
  json::object out;
  out["ok"] = answer.ok();
  out["events"] = report.events;
  if (report.ok) {
    out["head"] = ToHex(report.head);
  } else {
    out["first_bad_seq"] = report.first_bad_seq;
    out["problem"] = report.problem;
  }
  if (answer.checkpoint) out["checkpoint"] = CheckpointCheckJson(*answer.checkpoint);
  return out;
}

}  // namespace ledger
