// The JSON contract of events (shared/domain/events.md) <-> the Cap'n Proto form
// (schemas/event.capnp). Decoding is strict: unknown or missing fields, wrong JSON types,
// unknown enum values, bad ids, invalid NISS, impossible dates or dates after the day of
// recording, minutes <= 0, empty facilitator lists, lists longer than their bound, the same
// person twice in one event (a NISS among a group's participants, a provider among facilitators
// or a concertation's participants) and a birth date that contradicts the NISS are errors that
// name the event's index in its batch, its id and the field. Decoding never throws; it is safe
// on any input.
//
// What the decoder cannot know is checked by the ledger: that a void's target exists, that an
// id is not a conflict, that `expected_version` matches.
#pragma once

#include <capnp/message.h>

#include <boost/json.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "schemas/civil_date.h"
#include "schemas/event.capnp.h"
#include "schemas/json_keys.h"
#include "schemas/result.h"

namespace ledger {

// Largest accepted text of one event line, and of free-text fields.
inline constexpr size_t kEventJsonBytesMax = 1 << 20;
inline constexpr size_t kFreeTextBytesMax = 1024;
// The bounds of an event's lists (shared/domain/events.md): a group session's participants, the
// facilitators of a group session or community intervention, a concertation's participants, and
// an invoice's regularisations (one per earlier month: a century of them).
inline constexpr size_t kGroupParticipantsMax = 100;
inline constexpr size_t kFacilitatorsMax = 10;
inline constexpr size_t kConcertationParticipantsMax = 20;
inline constexpr size_t kRegularisationsMax = 1200;

// One decoded event: its own Cap'n Proto message plus the append precondition, which is not
// part of the recorded fact.
class DecodedEvent {
 public:
  DecodedEvent();
  schema::Event::Builder builder() { return message_->getRoot<schema::Event>(); }
  schema::Event::Reader event() const { return message_->getRoot<schema::Event>().asReader(); }
  std::optional<int64_t> expected_version;

 private:
  std::unique_ptr<capnp::MallocMessageBuilder> message_;
};

// Decodes one JSON object (one line of a JSON Lines file). `index` is the event's position in
// its batch (0-based), used in errors; `recording_day` is the UTC day of the append.
Result<DecodedEvent> DecodeEventJson(std::string_view text, int64_t index, CivilDay recording_day);
Result<DecodedEvent> DecodeEventValue(const boost::json::value& value, int64_t index,
                                      CivilDay recording_day);
// DecodeEventJson refuses an event that names a field twice in one object (schemas/json_keys.h).
// A caller that parses a batch itself and decodes its values checks the text with
// FindDuplicateKey, and reports with this (the event's id taken from `event`).
Error DuplicateKeyError(const DuplicateKey& dup, const boost::json::value& event, int64_t index);

// The event's public face: the client's fields, in the contract's order.
boost::json::object EncodeEvent(schema::Event::Reader event);
// With the ledger's envelope: seq first, then the event, then recorded_at and hash (hex).
boost::json::object EncodeStoredEvent(schema::StoredEvent::Reader stored,
                                      std::string_view hash_hex);

// The contract's name of an event type ("session.individual").
const char* EventTypeName(schema::Event::Body::Which which);

}  // namespace ledger
