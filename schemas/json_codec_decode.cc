// JSON -> Cap'n Proto (json_codec.h): one function per event kind, dispatched by an exhaustive
// switch; the envelope (id, type, occurred_on, expected_version) read once before.
#include <algorithm>
#include <string>
#include <vector>

#include "schemas/json_codec.h"
#include "schemas/json_codec_reader.h"

namespace ledger {
namespace json = boost::json;
using schema::Event;
using namespace codec;  // NOLINT: this file is the codec

namespace {

// True when a JSON document holds a number that is not an integer.
bool HasNonInteger(const json::value& v) {
  switch (v.kind()) {
    case json::kind::double_:
      return true;
    case json::kind::array:
      for (const auto& e : v.get_array()) {
        if (HasNonInteger(e)) return true;
      }
      return false;
    case json::kind::object:
      for (const auto& kv : v.get_object()) {
        if (HasNonInteger(kv.value())) return true;
      }
      return false;
    case json::kind::null:
    case json::kind::bool_:
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::string:
      return false;
  }
  return false;
}

constexpr int64_t kMinutesMax = 24 * 60;
constexpr int64_t kCountMax = 1000000;

void DecodeNetworkRegistered(Reader& r, const json::object& o, CivilDay /*day*/,
                             Event::Body::Builder body) {
  r.CheckKeys(
      o, "", {"id", "type", "occurred_on", "expected_version", "network_id", "name", "population"});
  auto b = body.initNetworkRegistered();
  b.setNetworkId(std::string(r.Id(o, "", "network_id")));
  b.setName(std::string(r.Str(o, "", "name")));
  b.setPopulation(r.Enum(o, "", "population", kPopulations));
}

void DecodeProviderEnrolled(Reader& r, const json::object& o, CivilDay /*day*/,
                            Event::Body::Builder body) {
  r.CheckKeys(
      o, "",
      {"id", "type", "occurred_on", "expected_version", "provider_id", "network_id", "profession"});
  auto b = body.initProviderEnrolled();
  b.setProviderId(std::string(r.Id(o, "", "provider_id")));
  b.setNetworkId(std::string(r.Id(o, "", "network_id")));
  b.setProfession(r.Enum(o, "", "profession", kProfessions));
}

void DecodeProviderLeft(Reader& r, const json::object& o, CivilDay /*day*/,
                        Event::Body::Builder body) {
  r.CheckKeys(o, "",
              {"id", "type", "occurred_on", "expected_version", "provider_id", "network_id"});
  auto b = body.initProviderLeft();
  b.setProviderId(std::string(r.Id(o, "", "provider_id")));
  b.setNetworkId(std::string(r.Id(o, "", "network_id")));
}

void DecodeBudgetAllocated(Reader& r, const json::object& o, CivilDay /*day*/,
                           Event::Body::Builder body) {
  r.CheckKeys(
      o, "",
      {"id", "type", "occurred_on", "expected_version", "network_id", "year", "care_budget_cents"});
  auto b = body.initBudgetAllocated();
  b.setNetworkId(std::string(r.Id(o, "", "network_id")));
  b.setYear(static_cast<int32_t>(r.Int(o, "", "year", 1900, 9999)));
  b.setCareBudgetCents(r.Int(o, "", "care_budget_cents", 0, INT64_MAX / 4));
}

void DecodeRulesetPublished(Reader& r, const json::object& o, CivilDay /*day*/,
                            Event::Body::Builder body) {
  r.CheckKeys(o, "", {"id", "type", "occurred_on", "expected_version", "ruleset", "reason"});
  auto b = body.initRulesetPublished();
  const json::value* rs = r.Find(o, "", "ruleset", true);
  if (rs && !r.failed()) {
    if (!rs->is_object()) {
      r.Fail("ruleset", "must be an object (the ruleset document)");
    } else {
      // Stored as text, so it must parse back to the same document: money in rulesets is
      // integer cents, and a fractional or out-of-range number would not round-trip.
      std::string text = json::serialize(*rs);
      boost::system::error_code ec;
      json::parse(text, ec);
      if (HasNonInteger(*rs)) {
        r.Fail("ruleset", "numbers must be integers (money in integer cents)");
      } else if (ec) {
        r.Fail("ruleset", "must not nest too deeply");
      } else {
        b.setRulesetJson(std::move(text));
      }
    }
  }
  b.setReason(std::string(r.Str(o, "", "reason")));
}

void DecodeAssessmentRecorded(Reader& r, const json::object& o, CivilDay day,
                              Event::Body::Builder body) {
  r.CheckKeys(o, "",
              {"id", "type", "occurred_on", "expected_version", "provider_id", "network_id",
               "beneficiary"});
  auto b = body.initAssessmentRecorded();
  b.setProviderId(std::string(r.Id(o, "", "provider_id")));
  b.setNetworkId(std::string(r.Id(o, "", "network_id")));
  if (auto* v = r.Find(o, "", "beneficiary", true); v && !r.failed()) {
    r.Beneficiary(*v, "beneficiary", day, b.initBeneficiary());
  }
}

void DecodeExceptionGranted(Reader& r, const json::object& o, CivilDay day,
                            Event::Body::Builder body) {
  r.CheckKeys(o, "",
              {"id", "type", "occurred_on", "expected_version", "provider_id", "network_id",
               "beneficiary", "function", "reason"});
  auto b = body.initExceptionGranted();
  b.setProviderId(std::string(r.Id(o, "", "provider_id")));
  b.setNetworkId(std::string(r.Id(o, "", "network_id")));
  if (auto* v = r.Find(o, "", "beneficiary", true); v && !r.failed()) {
    r.Beneficiary(*v, "beneficiary", day, b.initBeneficiary());
  }
  b.setFunction(r.Enum(o, "", "function", kFunctions));
  b.setReason(std::string(r.Str(o, "", "reason")));
}

void DecodeSessionIndividual(Reader& r, const json::object& o, CivilDay day,
                             Event::Body::Builder body) {
  r.CheckKeys(o, "",
              {"id", "type", "occurred_on", "expected_version", "provider_id", "network_id",
               "beneficiary", "function", "minutes", "location", "with_context", "organiser"});
  auto b = body.initSessionIndividual();
  b.setProviderId(std::string(r.Id(o, "", "provider_id")));
  b.setNetworkId(std::string(r.Id(o, "", "network_id")));
  if (auto* v = r.Find(o, "", "beneficiary", true); v && !r.failed()) {
    r.Beneficiary(*v, "beneficiary", day, b.initBeneficiary());
  }
  b.setFunction(r.Enum(o, "", "function", kFunctions));
  b.setMinutes(static_cast<int32_t>(r.Int(o, "", "minutes", 1, kMinutesMax)));
  b.setLocation(r.Enum(o, "", "location", kLocations));
  b.setWithContext(r.Bool(o, "", "with_context"));
  b.setOrganiser(r.Enum(o, "", "organiser", kOrganisers, schema::Organiser::NONE, false));
}

void DecodeSessionGroup(Reader& r, const json::object& o, CivilDay day, Event::Body::Builder body) {
  r.CheckKeys(o, "",
              {"id", "type", "occurred_on", "expected_version", "facilitators", "network_id",
               "function", "minutes", "location", "participants", "organiser"});
  auto b = body.initSessionGroup();
  r.Facilitators(o, [&](unsigned n) { return b.initFacilitators(n); });
  b.setNetworkId(std::string(r.Id(o, "", "network_id")));
  b.setFunction(r.Enum(o, "", "function", kFunctions));
  b.setMinutes(static_cast<int32_t>(r.Int(o, "", "minutes", 1, kMinutesMax)));
  b.setLocation(r.Enum(o, "", "location", kLocations));
  if (const json::array* a = r.Array(o, "", "participants", false, kGroupParticipantsMax)) {
    auto list = b.initParticipants(static_cast<unsigned>(a->size()));
    for (size_t i = 0; i < a->size() && !r.failed(); ++i) {
      r.Beneficiary((*a)[i], "participants[" + std::to_string(i) + "]", day, list[i]);
    }
    r.RefuseRepeats("participants", "niss", a->size(), [&](size_t i) {
      return std::string_view(list[i].getNiss().cStr(), list[i].getNiss().size());
    });
  }
  b.setOrganiser(r.Enum(o, "", "organiser", kOrganisers, schema::Organiser::NONE, false));
}

void DecodeCommunityIntervention(Reader& r, const json::object& o, CivilDay /*day*/,
                                 Event::Body::Builder body) {
  r.CheckKeys(o, "",
              {"id", "type", "occurred_on", "expected_version", "facilitators", "network_id",
               "minutes", "interaction_minutes", "participant_count", "defined_group", "host"});
  auto b = body.initCommunityIntervention();
  r.Facilitators(o, [&](unsigned n) { return b.initFacilitators(n); });
  b.setNetworkId(std::string(r.Id(o, "", "network_id")));
  b.setMinutes(static_cast<int32_t>(r.Int(o, "", "minutes", 1, kMinutesMax)));
  b.setInteractionMinutes(
      static_cast<int32_t>(r.Int(o, "", "interaction_minutes", 0, kMinutesMax)));
  b.setParticipantCount(static_cast<int32_t>(r.Int(o, "", "participant_count", 0, kCountMax)));
  b.setDefinedGroup(r.Bool(o, "", "defined_group"));
  b.setHost(std::string(r.Str(o, "", "host")));
}

void DecodeSupportMission(Reader& r, const json::object& o, CivilDay /*day*/,
                          Event::Body::Builder body) {
  r.CheckKeys(o, "",
              {"id", "type", "occurred_on", "expected_version", "provider_id", "network_id",
               "minutes", "kind"});
  auto b = body.initSupportMission();
  b.setProviderId(std::string(r.Id(o, "", "provider_id")));
  b.setNetworkId(std::string(r.Id(o, "", "network_id")));
  b.setMinutes(static_cast<int32_t>(r.Int(o, "", "minutes", 1, kMinutesMax)));
  b.setKind(r.Enum(o, "", "kind", kMissionKinds));
}

void DecodeConcertationHeld(Reader& r, const json::object& o, CivilDay day,
                            Event::Body::Builder body) {
  r.CheckKeys(o, "",
              {"id", "type", "occurred_on", "expected_version", "network_id", "beneficiary",
               "units", "participants"});
  auto b = body.initConcertationHeld();
  b.setNetworkId(std::string(r.Id(o, "", "network_id")));
  if (auto* v = r.Find(o, "", "beneficiary", true); v && !r.failed()) {
    r.Beneficiary(*v, "beneficiary", day, b.initBeneficiary());
  }
  b.setUnits(static_cast<int32_t>(r.Int(o, "", "units", 1, 96)));
  if (const json::array* a = r.Array(o, "", "participants", false, kConcertationParticipantsMax)) {
    auto list = b.initParticipants(static_cast<unsigned>(a->size()));
    for (size_t i = 0; i < a->size() && !r.failed(); ++i) {
      const std::string path = "participants[" + std::to_string(i) + "]";
      const json::object* p = r.Object((*a)[i], path);
      if (!p) break;
      r.CheckKeys(*p, path, {"provider_id", "role", "care_provider"});
      list[i].setProviderId(std::string(r.Id(*p, path, "provider_id", false)));
      list[i].setRole(std::string(r.Str(*p, path, "role", 64)));
      list[i].setCareProvider(r.Bool(*p, path, "care_provider", true));
    }
    // Participants without a provider id (a general practitioner, a teacher) are not
    // compared: nothing says two of them are one person.
    r.RefuseRepeats("participants", "provider_id", a->size(), [&](size_t i) {
      return std::string_view(list[i].getProviderId().cStr(), list[i].getProviderId().size());
    });
  }
}

void DecodeEventVoided(Reader& r, const json::object& o, CivilDay /*day*/,
                       Event::Body::Builder body) {
  r.CheckKeys(o, "", {"id", "type", "occurred_on", "expected_version", "target", "reason"});
  auto b = body.initEventVoided();
  b.setTarget(std::string(r.Id(o, "", "target")));
  b.setReason(std::string(r.Str(o, "", "reason")));
}

void DecodeInvoiceIssued(Reader& r, const json::object& o, CivilDay /*day*/,
                         Event::Body::Builder body) {
  r.CheckKeys(
      o, "",
      {"id", "type", "occurred_on", "expected_version", "provider_id", "month", "ruleset",
       "fee_cents", "copay_cents", "insurer_cents", "lines", "lines_sha256", "regularisations"});
  auto b = body.initInvoiceIssued();
  b.setProviderId(std::string(r.Id(o, "", "provider_id")));
  std::string_view month = r.Str(o, "", "month", 8);
  if (!r.failed()) {
    auto m = ParseMonth(month);
    if (!m) r.Fail("month", "must be YYYY-MM");
    b.setMonth(m.value_or(0));
  }
  if (auto* v = r.Find(o, "", "ruleset", true); v && !r.failed()) {
    if (const json::object* rs = r.Object(*v, "ruleset")) {
      r.CheckKeys(*rs, "ruleset", {"id", "version"});
      b.setRulesetId(std::string(r.Id(*rs, "ruleset", "id")));
      b.setRulesetVersion(static_cast<int32_t>(r.Int(*rs, "ruleset", "version", 1, INT32_MAX)));
    }
  }
  constexpr int64_t kBig = INT64_MAX / 4;
  b.setFeeCents(r.Int(o, "", "fee_cents", -kBig, kBig));
  b.setCopayCents(r.Int(o, "", "copay_cents", -kBig, kBig));
  b.setInsurerCents(r.Int(o, "", "insurer_cents", -kBig, kBig));
  b.setLines(static_cast<int32_t>(r.Int(o, "", "lines", 0, INT32_MAX)));
  b.setLinesSha256(std::string(r.Str(o, "", "lines_sha256", 64, false)));
  if (const json::array* a = o.contains("regularisations")
                                 ? r.Array(o, "", "regularisations", false, kRegularisationsMax)
                                 : nullptr;
      a && !a->empty()) {
    auto list = b.initRegularisations(static_cast<unsigned>(a->size()));
    for (size_t i = 0; i < a->size() && !r.failed(); ++i) {
      const std::string path = "regularisations[" + std::to_string(i) + "]";
      const json::object* g = r.Object((*a)[i], path);
      if (!g) break;
      r.CheckKeys(*g, path, {"month", "fee_cents", "copay_cents", "insurer_cents"});
      std::string_view m = r.Str(*g, path, "month", 8);
      if (r.failed()) break;
      auto parsed = ParseMonth(m);
      if (!parsed) {
        r.Fail(path + ".month", "must be YYYY-MM");
        break;
      }
      list[i].setMonth(*parsed);
      list[i].setFeeCents(r.Int(*g, path, "fee_cents", -kBig, kBig));
      list[i].setCopayCents(r.Int(*g, path, "copay_cents", -kBig, kBig));
      list[i].setInsurerCents(r.Int(*g, path, "insurer_cents", -kBig, kBig));
    }
    // A month billed twice in one invoice would be paid twice.
    std::vector<std::string> months(a->size());
    for (size_t i = 0; i < a->size() && !r.failed(); ++i) {
      months[i] = std::to_string(list[i].getMonth());
    }
    r.RefuseRepeats(
        "regularisations", "month", a->size(),
        [&](size_t i) { return std::string_view(months[i]); },
        "one month is regularised once per invoice");
  }
}

void DecodeBody(Reader& r, const json::object& o, Event::Body::Which which, CivilDay day,
                Event::Builder ev) {
  auto body = ev.initBody();
  switch (which) {
    case Event::Body::NETWORK_REGISTERED:
      return DecodeNetworkRegistered(r, o, day, body);
    case Event::Body::PROVIDER_ENROLLED:
      return DecodeProviderEnrolled(r, o, day, body);
    case Event::Body::PROVIDER_LEFT:
      return DecodeProviderLeft(r, o, day, body);
    case Event::Body::BUDGET_ALLOCATED:
      return DecodeBudgetAllocated(r, o, day, body);
    case Event::Body::RULESET_PUBLISHED:
      return DecodeRulesetPublished(r, o, day, body);
    case Event::Body::ASSESSMENT_RECORDED:
      return DecodeAssessmentRecorded(r, o, day, body);
    case Event::Body::EXCEPTION_GRANTED:
      return DecodeExceptionGranted(r, o, day, body);
    case Event::Body::SESSION_INDIVIDUAL:
      return DecodeSessionIndividual(r, o, day, body);
    case Event::Body::SESSION_GROUP:
      return DecodeSessionGroup(r, o, day, body);
    case Event::Body::COMMUNITY_INTERVENTION:
      return DecodeCommunityIntervention(r, o, day, body);
    case Event::Body::SUPPORT_MISSION:
      return DecodeSupportMission(r, o, day, body);
    case Event::Body::CONCERTATION_HELD:
      return DecodeConcertationHeld(r, o, day, body);
    case Event::Body::EVENT_VOIDED:
      return DecodeEventVoided(r, o, day, body);
    case Event::Body::INVOICE_ISSUED:
      return DecodeInvoiceIssued(r, o, day, body);
  }
  r.Fail("type", "unknown type");
}

}  // namespace

DecodedEvent::DecodedEvent()
    : message_(std::make_unique<capnp::MallocMessageBuilder>(kFirstSegmentWords)) {}

const char* EventTypeName(Event::Body::Which which) {
  for (const auto& t : kTypes) {
    if (t.which == which) return t.name;
  }
  return "?";
}

Result<DecodedEvent> DecodeEventValue(const json::value& value, int64_t index,
                                      CivilDay recording_day) {
  Reader r(index, recording_day);
  if (!value.is_object()) {
    r.Fail("", "an event must be a JSON object");
    return r.TakeError();
  }
  const json::object& o = value.get_object();
  DecodedEvent out;
  Event::Builder ev = out.builder();
  // The id first, so that every later error can name it.
  if (const json::value* id = o.if_contains("id"); id && id->is_string()) {
    const json::string& s = id->get_string();
    if (IsValidId(std::string_view(s.data(), s.size()))) r.set_id(s);
  }
  std::string_view id = r.Id(o, "", "id");
  if (r.failed()) return r.TakeError();
  ev.setId(std::string(id));

  std::string_view type = r.Str(o, "", "type", 64);
  if (r.failed()) return r.TakeError();
  const TypeName* t = std::find_if(std::begin(kTypes), std::end(kTypes),
                                   [&](const TypeName& n) { return type == n.name; });
  if (t == std::end(kTypes)) {
    r.Fail("type", "unknown type");
    return r.TakeError();
  }
  const CivilDay day = r.Date(o, "", "occurred_on");
  ev.setOccurredOn(day);
  if (o.contains("expected_version")) {
    out.expected_version = r.Int(o, "", "expected_version", 0, INT64_MAX);
  }
  if (r.failed()) return r.TakeError();
  DecodeBody(r, o, t->which, day, ev);
  if (r.failed()) return r.TakeError();
  return out;
}

Result<DecodedEvent> DecodeEventJson(std::string_view text, int64_t index, CivilDay recording_day) {
  if (text.size() > kEventJsonBytesMax) {
    return Error{ErrorCode::kInvalidEvent,
                 "event larger than " + std::to_string(kEventJsonBytesMax) + " bytes", index};
  }
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 16;
  // The parsed tree lives only for this call: a monotonic arena on the stack saves the
  // allocations of a typical event (it spills to the heap for larger ones).
  unsigned char arena[8192];
  json::monotonic_resource resource(arena, sizeof arena);
  json::value v = json::parse(json::string_view(text.data(), text.size()), ec, &resource, opts);
  if (ec) {
    return Error{ErrorCode::kInvalidEvent, "malformed JSON: " + ec.message(), index};
  }
  auto decoded = DecodeEventValue(v, index, recording_day);
  // Checked once the event decodes: every key is then a field of the contract, so the path
  // names no client data.
  if (decoded) {
    if (auto dup = FindDuplicateKey(text)) return DuplicateKeyError(*dup, v, index);
  }
  return decoded;
}

Error DuplicateKeyError(const DuplicateKey& dup, const json::value& event, int64_t index) {
  Error e{ErrorCode::kInvalidEvent, "field given twice in one object", index, "", dup.path};
  if (const json::object* o = event.if_object()) {
    if (const json::value* id = o->if_contains("id"); id && id->is_string()) {
      e.id = std::string(id->get_string());
    }
  }
  return e;
}

}  // namespace ledger
