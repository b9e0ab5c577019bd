#include "projections/ruleset.h"

#include <algorithm>
#include <initializer_list>

#include "projections/shipped_rulesets.h"
#include "schemas/json_keys.h"

namespace ledger {
namespace json = boost::json;

namespace {

struct FeeItemName_ {
  FeeItem item;
  const char* name;
};
constexpr FeeItemName_ kFeeItems[] = {
    {FeeItem::kIndividualSession, "individual_session"},
    {FeeItem::kGroupSessionPsychologist, "group_session_psychologist"},
    {FeeItem::kGroupSessionOther, "group_session_other"},
    {FeeItem::kCommunityPsychologist, "community_intervention_psychologist"},
    {FeeItem::kCommunityOther, "community_intervention_other"},
    {FeeItem::kSupportMissionHour, "support_mission_hour"},
    {FeeItem::kConcertationUnit, "concertation_unit"},
};

// Strict reading of the document; the first problem is kept, readers return neutral values
// after it.
class DocReader {
 public:
  std::optional<Error> error;

  void Fail(const std::string& field, const std::string& message) {
    if (!error) error = Error{ErrorCode::kInvalidArgument, "ruleset: " + message, -1, "", field};
  }
  static std::string Join(const std::string& prefix, std::string_view key) {
    return prefix.empty() ? std::string(key) : prefix + "." + std::string(key);
  }
  const json::object* Obj(const json::value* v, const std::string& path,
                          std::initializer_list<std::string_view> keys) {
    if (!v || error) return nullptr;
    if (!v->is_object()) {
      Fail(path, path.empty() ? "the document must be a JSON object" : "must be an object");
      return nullptr;
    }
    for (const auto& kv : v->get_object()) {
      if (std::find(keys.begin(), keys.end(), kv.key()) == keys.end()) {
        Fail(Join(path, kv.key()), "unknown field");
        return nullptr;
      }
    }
    for (std::string_view k : keys) {
      if (!v->get_object().contains(k)) {
        Fail(Join(path, k), "missing field");
        return nullptr;
      }
    }
    return &v->get_object();
  }
  const json::value* At(const json::object* o, std::string_view key) {
    return o && !error ? o->if_contains(key) : nullptr;
  }
  // `nullable`: whether null (no value) is allowed; the message says so only then.
  std::optional<int64_t> OptInt(const json::object* o, const std::string& path,
                                std::string_view key, int64_t min, int64_t max,
                                bool nullable = true) {
    const json::value* v = At(o, key);
    if (!v || (nullable && v->is_null())) return std::nullopt;
    if (!v->is_int64() || v->get_int64() < min || v->get_int64() > max) {
      Fail(Join(path, key), "must be an integer from " + std::to_string(min) + " to " +
                                std::to_string(max) + (nullable ? " (or null)" : ""));
      return std::nullopt;
    }
    return v->get_int64();
  }
  int64_t Int(const json::object* o, const std::string& path, std::string_view key, int64_t min,
              int64_t max) {
    return OptInt(o, path, key, min, max, false).value_or(0);
  }
  bool Bool(const json::object* o, const std::string& path, std::string_view key) {
    const json::value* v = At(o, key);
    if (!v) return false;
    if (!v->is_bool()) Fail(Join(path, key), "must be true or false");
    return v->is_bool() && v->get_bool();
  }
  std::string Str(const json::object* o, const std::string& path, std::string_view key) {
    const json::value* v = At(o, key);
    if (!v) return "";
    if (!v->is_string()) {
      Fail(Join(path, key), "must be a string");
      return "";
    }
    return std::string(v->get_string());
  }
  std::optional<CivilDay> OptDate(const json::object* o, const std::string& path,
                                  std::string_view key, bool nullable = true) {
    const json::value* v = At(o, key);
    if (!v || (nullable && v->is_null())) return std::nullopt;
    auto d = v->is_string() ? ParseDate(std::string_view(v->get_string())) : std::nullopt;
    if (!d) {
      Fail(Join(path, key),
           std::string("must be a real date YYYY-MM-DD") + (nullable ? " (or null)" : ""));
      return std::nullopt;
    }
    return ToDay(*d);
  }
  CivilDay Date(const json::object* o, const std::string& path, std::string_view key) {
    return OptDate(o, path, key, false).value_or(0);
  }
  std::vector<std::string> Strings(const json::object* o, const std::string& path,
                                   std::string_view key,
                                   std::initializer_list<std::string_view> allowed) {
    std::vector<std::string> out;
    const json::value* v = At(o, key);
    if (!v) return out;
    if (!v->is_array()) {
      Fail(Join(path, key), "must be an array of strings");
      return out;
    }
    for (const auto& e : v->get_array()) {
      if (!e.is_string()) {
        Fail(Join(path, key), "must be an array of strings");
        return out;
      }
      const std::string_view value(e.get_string());
      if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
        std::string names;
        for (std::string_view a : allowed) names += (names.empty() ? "" : ", ") + std::string(a);
        Fail(Join(path, key),
             "has an unknown value \"" + std::string(value) + "\" (allowed: " + names + ")");
        return out;
      }
      out.emplace_back(value);
    }
    return out;
  }
};

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

void ReadCounters(DocReader& r, const json::object* o, const std::string& path, CounterTable* out) {
  const json::object* c =
      r.Obj(r.At(o, path.substr(path.rfind('.') + 1)), path,
            {"support_individual", "support_group", "treatment_individual", "treatment_group"});
  auto get = [&](std::string_view k) {
    auto v = r.OptInt(c, path, k, 0, 1000);
    return v ? std::optional<int32_t>(static_cast<int32_t>(*v)) : std::nullopt;
  };
  out->support_individual = get("support_individual");
  out->support_group = get("support_group");
  out->treatment_individual = get("treatment_individual");
  out->treatment_group = get("treatment_group");
}

void ReadFees(DocReader& r, const json::object* o, Ruleset* rs) {
  const json::value* v = r.At(o, "fees");
  if (!v || r.error) return;
  if (!v->is_array()) return r.Fail("fees", "must be an array");
  for (size_t i = 0; i < v->get_array().size() && !r.error; ++i) {
    const std::string path = "fees[" + std::to_string(i) + "]";
    const json::value& e = v->get_array()[i];
    // "default" is optional: it marks a figure of the book that is not official.
    const json::object* f = e.is_object() && e.get_object().contains("default")
                                ? r.Obj(&e, path, {"item", "cents", "from", "to", "default"})
                                : r.Obj(&e, path, {"item", "cents", "from", "to"});
    if (!f) return;
    const std::string item = r.Str(f, path, "item");
    auto it = std::find_if(std::begin(kFeeItems), std::end(kFeeItems),
                           [&](const FeeItemName_& n) { return item == n.name; });
    if (it == std::end(kFeeItems)) {
      std::string names;
      for (const FeeItemName_& n : kFeeItems)
        names += (names.empty() ? "" : ", ") + std::string(n.name);
      return r.Fail(path + ".item", "unknown fee item \"" + item + "\" (known: " + names + ")");
    }
    FeeRow row{it->item, Cents{r.Int(f, path, "cents", 0, 100000000)}, r.Date(f, path, "from"),
               r.OptDate(f, path, "to"), r.Bool(f, path, "default")};
    if (row.to && *row.to < row.from) {
      return r.Fail(path + ".to", "lies before " + path + ".from (" + FormatDay(row.from) + ")");
    }
    for (size_t j = 0; j < rs->fees.size(); ++j) {
      const FeeRow& other = rs->fees[j];
      const bool overlap = other.item == row.item && (!other.to || *other.to >= row.from) &&
                           (!row.to || *row.to >= other.from);
      if (overlap) {
        return r.Fail(path, "overlaps fees[" + std::to_string(j) + "] (" + item + " from " +
                                FormatDay(other.from) + "): one row per item and date");
      }
    }
    rs->fees.push_back(row);
  }
}

}  // namespace

const char* ColumnName(Column c) { return c == Column::kChildren ? "children" : "adults"; }

const char* FeeItemName(FeeItem item) {
  for (const auto& n : kFeeItems) {
    if (n.item == item) return n.name;
  }
  return "?";
}

const FeeRow* Ruleset::Fee(FeeItem item, CivilDay day) const {
  for (const FeeRow& f : fees) {
    if (f.item == item && day >= f.from && (!f.to || day <= *f.to)) return &f;
  }
  return nullptr;
}

std::string Ruleset::RuleLabel(FeeItem item) const { return Label() + ":" + FeeItemName(item); }

Result<Ruleset> ParseRuleset(const json::value& document) {
  DocReader r;
  Ruleset rs;
  const json::object* o =
      r.Obj(&document, "",
            {"id", "version", "title", "valid_from", "valid_to", "billable_functions", "trajectory",
             "ages", "counters", "exceptions", "daily_individual_sessions_max", "fees", "copay",
             "groups", "community", "concertation"});
  rs.id = r.Str(o, "", "id");
  if (!r.error && (rs.id.empty() || rs.id.size() > 64)) r.Fail("id", "must be 1-64 characters");
  rs.version = static_cast<int32_t>(r.Int(o, "", "version", 1, 1000000));
  rs.title = r.Str(o, "", "title");
  rs.valid_from = r.Date(o, "", "valid_from");
  rs.valid_to = r.OptDate(o, "", "valid_to");
  if (!r.error && rs.valid_to && *rs.valid_to < rs.valid_from) {
    r.Fail("valid_to", "lies before valid_from");
  }
  auto functions = r.Strings(o, "", "billable_functions", {"community", "support", "treatment"});
  rs.community_billable = Contains(functions, "community");
  rs.support_billable = Contains(functions, "support");
  rs.treatment_billable = Contains(functions, "treatment");

  const json::object* t = r.Obj(r.At(o, "trajectory"), "trajectory", {"window_months", "anchor"});
  rs.window_months = static_cast<int32_t>(r.Int(t, "trajectory", "window_months", 1, 120));
  if (!r.error && r.Str(t, "trajectory", "anchor") != "first_session") {
    r.Fail("trajectory.anchor", "only \"first_session\" is implemented");
  }
  const json::object* a =
      r.Obj(r.At(o, "ages"), "ages",
            {"reference", "children_max_age", "adults_min_age", "mixed_children_max_age"});
  if (!r.error && r.Str(a, "ages", "reference") != "care_date") {
    r.Fail("ages.reference", "only \"care_date\" is implemented");
  }
  rs.children_max_age = static_cast<int32_t>(r.Int(a, "ages", "children_max_age", 0, 150));
  rs.adults_min_age = static_cast<int32_t>(r.Int(a, "ages", "adults_min_age", 0, 150));
  rs.mixed_children_max_age =
      static_cast<int32_t>(r.Int(a, "ages", "mixed_children_max_age", 0, 150));

  const json::object* c = r.Obj(r.At(o, "counters"), "counters", {"children", "adults"});
  ReadCounters(r, c, "counters.children", &rs.counters[0]);
  ReadCounters(r, c, "counters.adults", &rs.counters[1]);

  const json::object* e =
      r.Obj(r.At(o, "exceptions"), "exceptions",
            {"extra_individual_sessions", "functions", "network_share_max_percent", "enforced"});
  rs.exception_extra_sessions =
      static_cast<int32_t>(r.Int(e, "exceptions", "extra_individual_sessions", 0, 100));
  auto exc_functions = r.Strings(e, "exceptions", "functions", {"support", "treatment"});
  rs.exception_support = Contains(exc_functions, "support");
  rs.exception_treatment = Contains(exc_functions, "treatment");
  rs.exception_share_max_percent =
      static_cast<int32_t>(r.Int(e, "exceptions", "network_share_max_percent", 0, 100));
  if (!r.error && r.Bool(e, "exceptions", "enforced")) {
    r.Fail("exceptions.enforced", "enforcing the exception share is not implemented");
  }
  rs.daily_individual_max =
      static_cast<int32_t>(r.Int(o, "", "daily_individual_sessions_max", 1, 100));
  ReadFees(r, o, &rs);

  const json::object* cp = r.Obj(r.At(o, "copay"), "copay",
                                 {"individual_cents", "individual_bim_cents",
                                  "group_participant_cents", "first_individual_session_free",
                                  "young_free", "cpms_school_free_from", "group_collected_by"});
  rs.copay_individual = Cents{r.Int(cp, "copay", "individual_cents", 0, 1000000)};
  rs.copay_individual_bim = Cents{r.Int(cp, "copay", "individual_bim_cents", 0, 1000000)};
  rs.copay_group_participant = Cents{r.Int(cp, "copay", "group_participant_cents", 0, 1000000)};
  rs.first_individual_free = r.Bool(cp, "copay", "first_individual_session_free");
  if (const json::value* y = r.At(cp, "young_free"); y && !y->is_null()) {
    if (!y->is_object()) r.Fail("copay.young_free", "must be {\"max_age\", \"from\"} or null");
    const json::object* yo = r.Obj(y, "copay.young_free", {"max_age", "from"});
    rs.young_free_max_age = static_cast<int32_t>(r.Int(yo, "copay.young_free", "max_age", 0, 150));
    rs.young_free_from = r.Date(yo, "copay.young_free", "from");
  }
  rs.cpms_school_free_from = r.OptDate(cp, "copay", "cpms_school_free_from");
  if (!r.error && r.Str(cp, "copay", "group_collected_by") != "first_paid_facilitator") {
    r.Fail("copay.group_collected_by", "only \"first_paid_facilitator\" is implemented");
  }

  const json::object* g = r.Obj(r.At(o, "groups"), "groups", {"min_participants"});
  rs.group_min_participants = static_cast<int32_t>(r.Int(g, "groups", "min_participants", 1, 1000));
  const json::object* cm =
      r.Obj(r.At(o, "community"), "community",
            {"min_participants", "min_minutes", "min_interaction_minutes", "min_facilitators"});
  rs.community_min_participants =
      static_cast<int32_t>(r.Int(cm, "community", "min_participants", 0, 100000));
  rs.community_min_minutes = static_cast<int32_t>(r.Int(cm, "community", "min_minutes", 0, 1440));
  rs.community_min_interaction_minutes =
      static_cast<int32_t>(r.Int(cm, "community", "min_interaction_minutes", 0, 1440));
  rs.community_min_facilitators =
      static_cast<int32_t>(r.Int(cm, "community", "min_facilitators", 0, 100));
  const json::object* cc =
      r.Obj(r.At(o, "concertation"), "concertation",
            {"units_max", "units_max_per_trajectory", "count_max_per_trajectory",
             "min_participants", "min_care_providers"});
  rs.concertation_units_max = static_cast<int32_t>(r.Int(cc, "concertation", "units_max", 1, 96));
  rs.concertation_units_max_per_trajectory =
      static_cast<int32_t>(r.Int(cc, "concertation", "units_max_per_trajectory", 1, 1000));
  if (auto n = r.OptInt(cc, "concertation", "count_max_per_trajectory", 1, 1000)) {
    rs.concertation_count_max_per_trajectory = static_cast<int32_t>(*n);
  }
  rs.concertation_min_participants =
      static_cast<int32_t>(r.Int(cc, "concertation", "min_participants", 0, 100));
  rs.concertation_min_care_providers =
      static_cast<int32_t>(r.Int(cc, "concertation", "min_care_providers", 0, 100));
  if (r.error) return *r.error;
  rs.document = document.get_object();
  return rs;
}

Result<Ruleset> ParseRulesetText(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec) return Error{ErrorCode::kInvalidArgument, "ruleset: malformed JSON: " + ec.message()};
  // Boost.JSON keeps the last of a repeated key: which figure was meant is ambiguous.
  if (auto dup = FindDuplicateKey(text)) {
    return Error{ErrorCode::kInvalidArgument, "ruleset: a field given twice in one object", -1, "",
                 dup->path};
  }
  return ParseRuleset(v);
}

const std::vector<Ruleset>& ShippedRulesets() {
  static const std::vector<Ruleset> shipped = [] {
    std::vector<Ruleset> out;
    for (std::string_view text : kShippedRulesetDocuments) {
      auto rs = ParseRulesetText(text);
      if (!rs) std::abort();  // a shipped ruleset that does not parse is a build defect
      out.push_back(std::move(rs).value());
    }
    return out;
  }();
  return shipped;
}

RulesetCatalog::RulesetCatalog() {
  for (const Ruleset& rs : ShippedRulesets()) Add(rs);
}

RulesetCatalog RulesetCatalog::Empty() { return RulesetCatalog(EmptyTag{}); }

void RulesetCatalog::Add(Ruleset ruleset) {
  auto it = by_id_.find(ruleset.id);
  if (it != by_id_.end() && it->second.version >= ruleset.version) return;
  std::string id = ruleset.id;
  by_id_.insert_or_assign(std::move(id), std::move(ruleset));
}

const Ruleset* RulesetCatalog::InForce(CivilDay day) const {
  const Ruleset* best = nullptr;
  for (const auto& [id, rs] : by_id_) {
    if (rs.Covers(day) && (!best || rs.valid_from > best->valid_from)) best = &rs;
  }
  return best;
}

const Ruleset* RulesetCatalog::Find(std::string_view id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &it->second;
}

std::vector<const Ruleset*> RulesetCatalog::All() const {
  std::vector<const Ruleset*> out;
  for (const auto& [id, rs] : by_id_) out.push_back(&rs);
  return out;
}

}  // namespace ledger
