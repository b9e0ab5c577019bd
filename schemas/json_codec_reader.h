// Internal to the JSON codec (json_codec.h): the contract's names of types and enums, and the
// strict reader of one event object that json_codec_decode.cc builds each kind's body with.
// Not for use outside schemas/.
#pragma once

#include <algorithm>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "schemas/json_codec.h"
#include "schemas/niss.h"

namespace ledger::codec {
namespace json = boost::json;
using schema::Event;

inline constexpr uint32_t kFirstSegmentWords = 256;

template <typename E>
struct EnumName {
  E value;
  const char* name;
};

inline constexpr EnumName<schema::Population> kPopulations[] = {
    {schema::Population::CHILDREN, "children"},
    {schema::Population::ADULTS, "adults"},
    {schema::Population::MIXED, "mixed"}};
inline constexpr EnumName<schema::Profession> kProfessions[] = {
    {schema::Profession::PSYCHOLOGIST, "psychologist"},
    {schema::Profession::ORTHOPEDAGOGUE, "orthopedagogue"},
    {schema::Profession::OTHER, "other"}};
inline constexpr EnumName<schema::CareFunction> kFunctions[] = {
    {schema::CareFunction::SUPPORT, "support"}, {schema::CareFunction::TREATMENT, "treatment"}};
inline constexpr EnumName<schema::Location> kLocations[] = {
    {schema::Location::PRACTICE, "practice"},
    {schema::Location::OUTREACH, "outreach"},
    {schema::Location::VIDEO, "video"},
    {schema::Location::HOME, "home"},
    {schema::Location::SCHOOL, "school"}};
inline constexpr EnumName<schema::Organiser> kOrganisers[] = {{schema::Organiser::CPMS, "cpms"}};
inline constexpr EnumName<schema::MissionKind> kMissionKinds[] = {
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
inline constexpr TypeName kTypes[] = {
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

inline bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '-';
}

inline bool IsValidId(std::string_view id) {
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

}  // namespace ledger::codec
