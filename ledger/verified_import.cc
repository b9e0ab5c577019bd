#include "ledger/verified_import.h"

#include "schemas/civil_date.h"
#include "schemas/json_keys.h"

namespace ledger {

namespace {

Error Bad(int64_t index, std::string id, std::string field, std::string message,
          ErrorCode code = ErrorCode::kInvalidEvent) {
  return Error{code, std::move(message), index, std::move(id), std::move(field)};
}

}  // namespace

Result<RecordedEvent> ParseRecordedEvent(const boost::json::value& value, int64_t index) {
  if (!value.is_object()) return Bad(index, "", "", "not a JSON object");
  boost::json::object event = value.get_object();
  const auto* id_value = event.if_contains("id");
  const std::string id =
      id_value && id_value->is_string() ? std::string(id_value->get_string()) : std::string();
  RecordedEvent out;
  const auto* seq = event.if_contains("seq");
  const bool positive = seq && ((seq->is_int64() && seq->get_int64() > 0) ||
                                (seq->is_uint64() && seq->get_uint64() > 0));
  if (!positive) return Bad(index, id, "seq", "must be a whole number from 1");
  out.seq = seq->to_number<uint64_t>();
  const auto* at = event.if_contains("recorded_at");
  auto us = at && at->is_string() ? ParseTimestampUs(at->get_string()) : std::nullopt;
  if (!us) return Bad(index, id, "recorded_at", "must be an RFC 3339 UTC time");
  out.recorded_at_us = *us;
  const auto* hash = event.if_contains("hash");
  auto h = hash && hash->is_string() ? HashFromHex(hash->get_string()) : std::nullopt;
  if (!h) return Bad(index, id, "hash", "must be 64 hex digits");
  out.hash = *h;
  event.erase("seq");
  event.erase("recorded_at");
  event.erase("hash");
  auto decoded = DecodeEventValue(event, index, DayOfTimestampUs(out.recorded_at_us));
  if (!decoded) return decoded.error();
  out.event = std::move(*decoded);
  return out;
}

Result<RecordedEvent> ParseRecordedEventText(std::string_view text, int64_t index) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(text, ec);
  if (ec) return Bad(index, "", "", "malformed JSON: " + ec.message());
  if (auto dup = FindDuplicateKey(text)) return DuplicateKeyError(*dup, v, index);
  return ParseRecordedEvent(v, index);
}

VerifiedImport::VerifiedImport(EventLog& log)
    : log_(log), append_(log.BeginAppend()), last_recorded_at_us_(log.head().recorded_at_us) {}

Status VerifiedImport::Add(const RecordedEvent& e) {
  const int64_t index = index_++;
  const std::string id(e.event.event().getId().cStr());
  auto fail = [&](Error error) -> Status {
    failed_ = true;
    return error;
  };
  if (failed_) return fail(Bad(index, id, "", "the batch already failed"));
  const Seq expected = append_->next_seq();
  if (e.seq != expected) {
    return fail(Bad(index, id, "seq",
                    "expected seq " + std::to_string(expected) +
                        (e.seq > expected ? " (events are missing before it)"
                                          : " (this seq is already stored or was given twice)") +
                        ", got " + std::to_string(e.seq),
                    ErrorCode::kConflict));
  }
  if (e.recorded_at_us < last_recorded_at_us_) {
    return fail(Bad(
        index, id, "recorded_at",
        "recorded before the event preceding it (" + FormatTimestampUs(last_recorded_at_us_) + ")",
        ErrorCode::kCorruption));
  }
  append_->SetRecordedAt(e.recorded_at_us);
  last_recorded_at_us_ = e.recorded_at_us;
  if (Status s = append_->Add(e.event); !s) {
    Error error = s.error();
    error.index = index;
    return fail(error);
  }
  if (append_->next_seq() != expected + 1) {
    // The log answered a duplicate: this id is stored already, at another seq.
    return fail(Bad(index, id, "id", "this id is already stored (at an earlier seq)",
                    ErrorCode::kConflict));
  }
  if (append_->last_hash() != e.hash) {
    return fail(Bad(index, id, "hash",
                    "does not chain: the previous hash and this event's content give " +
                        ToHex(append_->last_hash()) + ", not " + ToHex(e.hash),
                    ErrorCode::kCorruption));
  }
  return Ok();
}

Result<Head> VerifiedImport::Commit() {
  if (failed_) return Error{ErrorCode::kInvalidArgument, "the batch failed; nothing was stored"};
  auto result = append_->Commit();
  if (!result) return result.error();
  const Head head = log_.head();  // read while the writer is still held: this batch's
  append_.reset();
  return head;
}

Result<Head> ImportVerified(EventLog& log, const std::vector<RecordedEvent>& events) {
  VerifiedImport import(log);
  for (const RecordedEvent& e : events) {
    if (Status s = import.Add(e); !s) return s.error();
  }
  return import.Commit();
}

}  // namespace ledger
