#include "schemas/json_codec.h"

#include <algorithm>
#include <array>
#include <initializer_list>

#include "schemas/niss.h"

namespace ledger {
namespace json = boost::json;
using schema::Event;

namespace {

constexpr uint32_t kFirstSegmentWords = 256;

template <typename E>
struct EnumName {
  E value;
  const char* name;
};

constexpr EnumName<schema::Population> kPopulations[] = {{schema::Population::CHILDREN, "children"},
                                                         {schema::Population::ADULTS, "adults"},
                                                         {schema::Population::MIXED, "mixed"}};
constexpr EnumName<schema::Profession> kProfessions[] = {
    {schema::Profession::PSYCHOLOGIST, "psychologist"},
    {schema::Profession::ORTHOPEDAGOGUE, "orthopedagogue"},
    {schema::Profession::OTHER, "other"}};
constexpr EnumName<schema::CareFunction> kFunctions[] = {
    {schema::CareFunction::SUPPORT, "support"}, {schema::CareFunction::TREATMENT, "treatment"}};
constexpr EnumName<schema::Location> kLocations[] = {{schema::Location::PRACTICE, "practice"},
                                                     {schema::Location::OUTREACH, "outreach"},
                                                     {schema::Location::VIDEO, "video"},
                                                     {schema::Location::HOME, "home"},
                                                     {schema::Location::SCHOOL, "school"}};
constexpr EnumName<schema::Organiser> kOrganisers[] = {{schema::Organiser::CPMS, "cpms"}};
constexpr EnumName<schema::MissionKind> kMissionKinds[] = {
    {schema::MissionKind::CASE_SUPPORT, "case_support"},
    {schema::MissionKind::CO_CONSULTATION, "co_consultation"},
    {schema::MissionKind::KNOWLEDGE_SHARING, "knowledge_sharing"},
    {schema::MissionKind::OUTREACH_COORDINATION, "outreach_coordination"}};

template <typename E, size_t N>
const char* NameOf(const EnumName<E> (&table)[N], E value) {
  for (const auto& e : table) {
    if (e.value == value) return e.name;
  }
  return "?";
}

struct TypeName {
  Event::Body::Which which;
  const char* name;
};
constexpr TypeName kTypes[] = {
    {Event::Body::NETWORK_REGISTERED, "network.registered"},
    {Event::Body::PROVIDER_ENROLLED, "provider.enrolled"},
    {Event::Body::PROVIDER_LEFT, "provider.left"},
    {Event::Body::BUDGET_ALLOCATED, "budget.allocated"},
    {Event::Body::RULESET_PUBLISHED, "ruleset.published"},
    {Event::Body::ASSESSMENT_RECORDED, "assessment.recorded"},
    {Event::Body::EXCEPTION_GRANTED, "exception.granted"},
    {Event::Body::SESSION_INDIVIDUAL, "session.individual"},
    {Event::Body::SESSION_GROUP, "session.group"},
    {Event::Body::COMMUNITY_INTERVENTION, "community.intervention"},
    {Event::Body::SUPPORT_MISSION, "support.mission"},
    {Event::Body::CONCERTATION_HELD, "concertation.held"},
    {Event::Body::EVENT_VOIDED, "event.voided"},
    {Event::Body::INVOICE_ISSUED, "invoice.issued"},
};

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '-';
}

bool IsValidId(std::string_view id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), IsIdChar);
}

// Reads one event object. The first problem found is kept in `error_`; every reader returns
// a neutral value after an error, so the caller checks `failed()` once at the end of a step.
class Reader {
 public:
  Reader(int64_t index, CivilDay recording_day) : index_(index), recording_day_(recording_day) {}

  bool failed() const { return error_.has_value(); }
  Error TakeError() { return std::move(*error_); }
  void set_id(std::string_view id) { id_ = std::string(id); }

  void Fail(std::string_view field, std::string message) {
    if (error_) return;
    error_ = Error{ErrorCode::kInvalidEvent, std::move(message), index_, id_, std::string(field)};
  }

  // Every key of `obj` must be one of `allowed`.
  void CheckKeys(const json::object& obj, std::string_view prefix,
                 std::initializer_list<std::string_view> allowed) {
    for (const auto& kv : obj) {
      const std::string_view key = kv.key();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        // The client's key is echoed only when short and made of id characters: an error
        // message must never carry personal data.
        const bool printable = key.size() <= 64 && std::all_of(key.begin(), key.end(), IsIdChar);
        Fail(Path(prefix, printable ? key : std::string_view("<unprintable key>")),
             "unknown field");
        return;
      }
    }
  }

  const json::value* Find(const json::object& obj, std::string_view prefix, std::string_view key,
                          bool required) {
    const json::value* v = obj.if_contains(key);
    if (!v && required) Fail(Path(prefix, key), "missing required field");
    return v;
  }

  std::string_view Str(const json::object& obj, std::string_view prefix, std::string_view key,
                       size_t max_len = kFreeTextBytesMax, bool required = true) {
    const json::value* v = Find(obj, prefix, key, required);
    if (!v || failed()) return {};
    if (!v->is_string()) {
      Fail(Path(prefix, key), "must be a string");
      return {};
    }
    const json::string& s = v->get_string();
    if (s.size() > max_len) {
      Fail(Path(prefix, key), "longer than " + std::to_string(max_len) + " bytes");
      return {};
    }
    // Cap'n Proto Text is NUL-terminated: a NUL would silently cut the stored string.
    if (std::string_view(s.data(), s.size()).find('\0') != std::string_view::npos) {
      Fail(Path(prefix, key), "must not contain a NUL character");
      return {};
    }
    return std::string_view(s.data(), s.size());
  }

  std::string_view Id(const json::object& obj, std::string_view prefix, std::string_view key,
                      bool required = true) {
    std::string_view s = Str(obj, prefix, key, 64, required);
    if (!failed() && (required || obj.contains(key)) && !IsValidId(s)) {
      Fail(Path(prefix, key), "must be 1-64 characters of A-Za-z0-9._:-");
    }
    return s;
  }

  int64_t Int(const json::object& obj, std::string_view prefix, std::string_view key, int64_t min,
              int64_t max, bool required = true) {
    const json::value* v = Find(obj, prefix, key, required);
    if (!v || failed()) return 0;
    int64_t n = 0;
    if (v->is_int64()) {
      n = v->get_int64();
    } else if (v->is_uint64() && v->get_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
      n = static_cast<int64_t>(v->get_uint64());
    } else {
      Fail(Path(prefix, key), "must be an integer");
      return 0;
    }
    if (n < min || n > max) {
      Fail(Path(prefix, key),
           "must be between " + std::to_string(min) + " and " + std::to_string(max));
      return 0;
    }
    return n;
  }

  bool Bool(const json::object& obj, std::string_view prefix, std::string_view key,
            bool required = false) {
    const json::value* v = Find(obj, prefix, key, required);
    if (!v || failed()) return false;
    if (!v->is_bool()) {
      Fail(Path(prefix, key), "must be true or false");
      return false;
    }
    return v->get_bool();
  }

  // A date that exists and does not lie after the day of recording.
  CivilDay Date(const json::object& obj, std::string_view prefix, std::string_view key) {
    std::string_view s = Str(obj, prefix, key, 16);
    if (failed()) return 0;
    auto d = ParseDate(s);
    if (!d) {
      Fail(Path(prefix, key), "must be a real calendar date YYYY-MM-DD");
      return 0;
    }
    const CivilDay day = ToDay(*d);
    if (day > recording_day_) {
      Fail(Path(prefix, key), "lies after the day of recording " + FormatDay(recording_day_));
      return 0;
    }
    return day;
  }

  template <typename E, size_t N>
  E Enum(const json::object& obj, std::string_view prefix, std::string_view key,
         const EnumName<E> (&table)[N], E absent = E{}, bool required = true) {
    const json::value* v = Find(obj, prefix, key, required);
    if (!v || failed()) return absent;
    if (v->is_string()) {
      for (const auto& e : table) {
        if (v->get_string() == e.name) return e.value;
      }
    }
    std::string names;
    for (const auto& e : table) names += std::string(names.empty() ? "" : ", ") + e.name;
    Fail(Path(prefix, key), "must be one of: " + names);
    return absent;
  }

  const json::object* Object(const json::value& v, std::string_view path) {
    if (!v.is_object()) {
      Fail(path, "must be an object");
      return nullptr;
    }
    return &v.get_object();
  }

  // A list of at most `max` entries (checked before any entry is read).
  const json::array* Array(const json::object& obj, std::string_view prefix, std::string_view key,
                           bool non_empty, size_t max) {
    const json::value* v = Find(obj, prefix, key, true);
    if (!v || failed()) return nullptr;
    if (!v->is_array()) {
      Fail(Path(prefix, key), "must be an array");
      return nullptr;
    }
    if (non_empty && v->get_array().empty()) {
      Fail(Path(prefix, key), "must not be empty");
      return nullptr;
    }
    if (v->get_array().size() > max) {
      Fail(Path(prefix, key), "must not list more than " + std::to_string(max) + " entries");
      return nullptr;
    }
    return &v->get_array();
  }

  // The same person twice in one event would be paid twice: `key(i)` is entry i's identity
  // (empty: none, never a repeat); the second of two equal ones is named by `list[i].field`.
  // The identity itself is not echoed (a NISS is personal data).
  template <typename Key>
  void RefuseRepeats(std::string_view list, std::string_view field, size_t count, Key key,
                     std::string_view rule = "one person is listed once per event") {
    for (size_t i = 1; i < count && !failed(); ++i) {
      const std::string_view k = key(i);
      if (k.empty()) continue;
      for (size_t j = 0; j < i; ++j) {
        if (key(j) != k) continue;
        const std::string at = std::string(list) + "[" + std::to_string(i) + "]";
        Fail(Path(at, field), "the same " + std::string(field) + " as " + std::string(list) + "[" +
                                  std::to_string(j) + "]: " + std::string(rule));
        return;
      }
    }
  }

  void Beneficiary(const json::value& v, std::string_view path, CivilDay care_day,
                   schema::Beneficiary::Builder out) {
    const json::object* o = Object(v, path);
    if (!o) return;
    CheckKeys(*o, path, {"niss", "birth_date", "bim"});
    std::string_view niss = Str(*o, path, "niss", 16);
    const CivilDay birth = Date(*o, path, "birth_date");
    const bool bim = Bool(*o, path, "bim", true);
    if (failed()) return;
    if (!IsValidNiss(niss, FromDay(birth).year)) {
      // The number itself is never echoed: it is personal data.
      Fail(Path(path, "niss"), "not a valid NISS (11 digits with a matching check number)");
      return;
    }
    if (birth > care_day) {
      Fail(Path(path, "birth_date"), "lies after occurred_on");
      return;
    }
    if (const CivilDate b = FromDay(birth); !NissMatchesBirthDate(niss, b.year, b.month, b.day)) {
      // Neither the NISS nor its date digits are echoed.
      Fail(Path(path, "birth_date"),
           "contradicts the NISS, whose first six digits are the birth date YYMMDD");
      return;
    }
    out.setNiss(std::string(niss));
    out.setBirthDay(birth);
    out.setBim(bim);
  }

  template <typename Init>
  void Facilitators(const json::object& obj, Init init) {
    const json::array* a = Array(obj, "", "facilitators", true, kFacilitatorsMax);
    if (!a) return;
    auto list = init(static_cast<unsigned>(a->size()));
    for (size_t i = 0; i < a->size() && !failed(); ++i) {
      const std::string path = "facilitators[" + std::to_string(i) + "]";
      const json::object* f = Object((*a)[i], path);
      if (!f) return;
      CheckKeys(*f, path, {"provider_id", "role"});
      std::string_view pid = Id(*f, path, "provider_id");
      auto role = Enum(*f, path, "role", kProfessions);
      if (failed()) return;
      list[i].setProviderId(std::string(pid));
      list[i].setRole(role);
    }
    RefuseRepeats("facilitators", "provider_id", a->size(), [&](size_t i) {
      return std::string_view(list[i].getProviderId().cStr(), list[i].getProviderId().size());
    });
  }

  static std::string Path(std::string_view prefix, std::string_view key) {
    if (prefix.empty()) return std::string(key);
    return std::string(prefix) + "." + std::string(key);
  }

  CivilDay recording_day() const { return recording_day_; }

 private:
  int64_t index_;
  CivilDay recording_day_;
  std::string id_;
  std::optional<Error> error_;
};

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
    default:
      return false;
  }
}

constexpr int64_t kMinutesMax = 24 * 60;
constexpr int64_t kCountMax = 1000000;

void DecodeBody(Reader& r, const json::object& o, Event::Body::Which which, CivilDay day,
                Event::Builder ev) {
  auto body = ev.initBody();
  switch (which) {
    case Event::Body::NETWORK_REGISTERED: {
      r.CheckKeys(
          o, "",
          {"id", "type", "occurred_on", "expected_version", "network_id", "name", "population"});
      auto b = body.initNetworkRegistered();
      b.setNetworkId(std::string(r.Id(o, "", "network_id")));
      b.setName(std::string(r.Str(o, "", "name")));
      b.setPopulation(r.Enum(o, "", "population", kPopulations));
      return;
    }
    case Event::Body::PROVIDER_ENROLLED: {
      r.CheckKeys(o, "",
                  {"id", "type", "occurred_on", "expected_version", "provider_id", "network_id",
                   "profession"});
      auto b = body.initProviderEnrolled();
      b.setProviderId(std::string(r.Id(o, "", "provider_id")));
      b.setNetworkId(std::string(r.Id(o, "", "network_id")));
      b.setProfession(r.Enum(o, "", "profession", kProfessions));
      return;
    }
    case Event::Body::PROVIDER_LEFT: {
      r.CheckKeys(o, "",
                  {"id", "type", "occurred_on", "expected_version", "provider_id", "network_id"});
      auto b = body.initProviderLeft();
      b.setProviderId(std::string(r.Id(o, "", "provider_id")));
      b.setNetworkId(std::string(r.Id(o, "", "network_id")));
      return;
    }
    case Event::Body::BUDGET_ALLOCATED: {
      r.CheckKeys(o, "",
                  {"id", "type", "occurred_on", "expected_version", "network_id", "year",
                   "care_budget_cents"});
      auto b = body.initBudgetAllocated();
      b.setNetworkId(std::string(r.Id(o, "", "network_id")));
      b.setYear(static_cast<int32_t>(r.Int(o, "", "year", 1900, 9999)));
      b.setCareBudgetCents(r.Int(o, "", "care_budget_cents", 0, INT64_MAX / 4));
      return;
    }
    case Event::Body::RULESET_PUBLISHED: {
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
      return;
    }
    case Event::Body::ASSESSMENT_RECORDED: {
      r.CheckKeys(o, "",
                  {"id", "type", "occurred_on", "expected_version", "provider_id", "network_id",
                   "beneficiary"});
      auto b = body.initAssessmentRecorded();
      b.setProviderId(std::string(r.Id(o, "", "provider_id")));
      b.setNetworkId(std::string(r.Id(o, "", "network_id")));
      if (auto* v = r.Find(o, "", "beneficiary", true); v && !r.failed()) {
        r.Beneficiary(*v, "beneficiary", day, b.initBeneficiary());
      }
      return;
    }
    case Event::Body::EXCEPTION_GRANTED: {
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
      return;
    }
    case Event::Body::SESSION_INDIVIDUAL: {
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
      return;
    }
    case Event::Body::SESSION_GROUP: {
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
      return;
    }
    case Event::Body::COMMUNITY_INTERVENTION: {
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
      return;
    }
    case Event::Body::SUPPORT_MISSION: {
      r.CheckKeys(o, "",
                  {"id", "type", "occurred_on", "expected_version", "provider_id", "network_id",
                   "minutes", "kind"});
      auto b = body.initSupportMission();
      b.setProviderId(std::string(r.Id(o, "", "provider_id")));
      b.setNetworkId(std::string(r.Id(o, "", "network_id")));
      b.setMinutes(static_cast<int32_t>(r.Int(o, "", "minutes", 1, kMinutesMax)));
      b.setKind(r.Enum(o, "", "kind", kMissionKinds));
      return;
    }
    case Event::Body::CONCERTATION_HELD: {
      r.CheckKeys(o, "",
                  {"id", "type", "occurred_on", "expected_version", "network_id", "beneficiary",
                   "units", "participants"});
      auto b = body.initConcertationHeld();
      b.setNetworkId(std::string(r.Id(o, "", "network_id")));
      if (auto* v = r.Find(o, "", "beneficiary", true); v && !r.failed()) {
        r.Beneficiary(*v, "beneficiary", day, b.initBeneficiary());
      }
      b.setUnits(static_cast<int32_t>(r.Int(o, "", "units", 1, 96)));
      if (const json::array* a =
              r.Array(o, "", "participants", false, kConcertationParticipantsMax)) {
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
      return;
    }
    case Event::Body::EVENT_VOIDED: {
      r.CheckKeys(o, "", {"id", "type", "occurred_on", "expected_version", "target", "reason"});
      auto b = body.initEventVoided();
      b.setTarget(std::string(r.Id(o, "", "target")));
      b.setReason(std::string(r.Str(o, "", "reason")));
      return;
    }
    case Event::Body::INVOICE_ISSUED: {
      r.CheckKeys(o, "",
                  {"id", "type", "occurred_on", "expected_version", "provider_id", "month",
                   "ruleset", "fee_cents", "copay_cents", "insurer_cents", "lines", "lines_sha256",
                   "regularisations"});
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
      return;
    }
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

namespace {

json::object EncodeBeneficiary(schema::Beneficiary::Reader b) {
  json::object o;
  o["niss"] = std::string_view(b.getNiss().cStr(), b.getNiss().size());
  o["birth_date"] = FormatDay(b.getBirthDay());
  o["bim"] = b.getBim();
  return o;
}

json::array EncodeFacilitators(capnp::List<schema::Facilitator>::Reader list) {
  json::array a;
  for (auto f : list) {
    json::object o;
    o["provider_id"] = f.getProviderId().cStr();
    o["role"] = NameOf(kProfessions, f.getRole());
    a.emplace_back(std::move(o));
  }
  return a;
}

void EncodeOrganiser(json::object& o, schema::Organiser org) {
  if (org != schema::Organiser::NONE) o["organiser"] = NameOf(kOrganisers, org);
}

void EncodeBody(Event::Body::Reader body, json::object& o) {
  switch (body.which()) {
    case Event::Body::NETWORK_REGISTERED: {
      auto b = body.getNetworkRegistered();
      o["network_id"] = b.getNetworkId().cStr();
      o["name"] = b.getName().cStr();
      o["population"] = NameOf(kPopulations, b.getPopulation());
      return;
    }
    case Event::Body::PROVIDER_ENROLLED: {
      auto b = body.getProviderEnrolled();
      o["provider_id"] = b.getProviderId().cStr();
      o["network_id"] = b.getNetworkId().cStr();
      o["profession"] = NameOf(kProfessions, b.getProfession());
      return;
    }
    case Event::Body::PROVIDER_LEFT: {
      auto b = body.getProviderLeft();
      o["provider_id"] = b.getProviderId().cStr();
      o["network_id"] = b.getNetworkId().cStr();
      return;
    }
    case Event::Body::BUDGET_ALLOCATED: {
      auto b = body.getBudgetAllocated();
      o["network_id"] = b.getNetworkId().cStr();
      o["year"] = b.getYear();
      o["care_budget_cents"] = b.getCareBudgetCents();
      return;
    }
    case Event::Body::RULESET_PUBLISHED: {
      auto b = body.getRulesetPublished();
      boost::system::error_code ec;
      o["ruleset"] = json::parse(b.getRulesetJson().cStr(), ec);
      o["reason"] = b.getReason().cStr();
      return;
    }
    case Event::Body::ASSESSMENT_RECORDED: {
      auto b = body.getAssessmentRecorded();
      o["provider_id"] = b.getProviderId().cStr();
      o["network_id"] = b.getNetworkId().cStr();
      o["beneficiary"] = EncodeBeneficiary(b.getBeneficiary());
      return;
    }
    case Event::Body::EXCEPTION_GRANTED: {
      auto b = body.getExceptionGranted();
      o["provider_id"] = b.getProviderId().cStr();
      o["network_id"] = b.getNetworkId().cStr();
      o["beneficiary"] = EncodeBeneficiary(b.getBeneficiary());
      o["function"] = NameOf(kFunctions, b.getFunction());
      o["reason"] = b.getReason().cStr();
      return;
    }
    case Event::Body::SESSION_INDIVIDUAL: {
      auto b = body.getSessionIndividual();
      o["provider_id"] = b.getProviderId().cStr();
      o["network_id"] = b.getNetworkId().cStr();
      o["beneficiary"] = EncodeBeneficiary(b.getBeneficiary());
      o["function"] = NameOf(kFunctions, b.getFunction());
      o["minutes"] = b.getMinutes();
      o["location"] = NameOf(kLocations, b.getLocation());
      if (b.getWithContext()) o["with_context"] = true;
      EncodeOrganiser(o, b.getOrganiser());
      return;
    }
    case Event::Body::SESSION_GROUP: {
      auto b = body.getSessionGroup();
      o["facilitators"] = EncodeFacilitators(b.getFacilitators());
      o["network_id"] = b.getNetworkId().cStr();
      o["function"] = NameOf(kFunctions, b.getFunction());
      o["minutes"] = b.getMinutes();
      o["location"] = NameOf(kLocations, b.getLocation());
      json::array ps;
      for (auto p : b.getParticipants()) ps.emplace_back(EncodeBeneficiary(p));
      o["participants"] = std::move(ps);
      EncodeOrganiser(o, b.getOrganiser());
      return;
    }
    case Event::Body::COMMUNITY_INTERVENTION: {
      auto b = body.getCommunityIntervention();
      o["facilitators"] = EncodeFacilitators(b.getFacilitators());
      o["network_id"] = b.getNetworkId().cStr();
      o["minutes"] = b.getMinutes();
      o["interaction_minutes"] = b.getInteractionMinutes();
      o["participant_count"] = b.getParticipantCount();
      if (b.getDefinedGroup()) o["defined_group"] = true;
      o["host"] = b.getHost().cStr();
      return;
    }
    case Event::Body::SUPPORT_MISSION: {
      auto b = body.getSupportMission();
      o["provider_id"] = b.getProviderId().cStr();
      o["network_id"] = b.getNetworkId().cStr();
      o["minutes"] = b.getMinutes();
      o["kind"] = NameOf(kMissionKinds, b.getKind());
      return;
    }
    case Event::Body::CONCERTATION_HELD: {
      auto b = body.getConcertationHeld();
      o["network_id"] = b.getNetworkId().cStr();
      o["beneficiary"] = EncodeBeneficiary(b.getBeneficiary());
      o["units"] = b.getUnits();
      json::array ps;
      for (auto p : b.getParticipants()) {
        json::object po;
        if (p.getProviderId().size() > 0) po["provider_id"] = p.getProviderId().cStr();
        po["role"] = p.getRole().cStr();
        po["care_provider"] = p.getCareProvider();
        ps.emplace_back(std::move(po));
      }
      o["participants"] = std::move(ps);
      return;
    }
    case Event::Body::EVENT_VOIDED: {
      auto b = body.getEventVoided();
      o["target"] = b.getTarget().cStr();
      o["reason"] = b.getReason().cStr();
      return;
    }
    case Event::Body::INVOICE_ISSUED: {
      auto b = body.getInvoiceIssued();
      o["provider_id"] = b.getProviderId().cStr();
      o["month"] = FormatMonth(b.getMonth());
      json::object rs;
      rs["id"] = b.getRulesetId().cStr();
      rs["version"] = b.getRulesetVersion();
      o["ruleset"] = std::move(rs);
      o["fee_cents"] = b.getFeeCents();
      o["copay_cents"] = b.getCopayCents();
      o["insurer_cents"] = b.getInsurerCents();
      o["lines"] = b.getLines();
      if (b.getLinesSha256().size() > 0) o["lines_sha256"] = b.getLinesSha256().cStr();
      if (b.getRegularisations().size() > 0) {
        json::array regs;
        for (auto g : b.getRegularisations()) {
          regs.emplace_back(json::object{{"month", FormatMonth(g.getMonth())},
                                         {"fee_cents", g.getFeeCents()},
                                         {"copay_cents", g.getCopayCents()},
                                         {"insurer_cents", g.getInsurerCents()}});
        }
        o["regularisations"] = std::move(regs);
      }
      return;
    }
  }
}

}  // namespace

json::object EncodeEvent(Event::Reader event) {
  json::object o;
  o["id"] = event.getId().cStr();
  o["type"] = EventTypeName(event.getBody().which());
  o["occurred_on"] = FormatDay(event.getOccurredOn());
  EncodeBody(event.getBody(), o);
  return o;
}

json::object EncodeStoredEvent(schema::StoredEvent::Reader stored, std::string_view hash_hex) {
  json::object o;
  o["seq"] = stored.getSeq();
  for (auto& kv : EncodeEvent(stored.getEvent())) o[kv.key()] = kv.value();
  o["recorded_at"] = FormatTimestampUs(stored.getRecordedAtUs());
  o["hash"] = hash_hex;
  return o;
}

}  // namespace ledger
