#include "schemas/json_codec.h"

#include <capnp/message.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <iterator>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "schemas/civil_date.h"
#include "schemas/result.h"

namespace ledger {
namespace {

namespace json = boost::json;
using schema::Event;

// The day of recording used unless a test says otherwise: after every date below.
CivilDay RecordingDay() { return ToDay({2024, 12, 31}); }

Result<DecodedEvent> Decode(std::string_view text, int64_t index = 0) {
  return DecodeEventJson(text, index, RecordingDay());
}

// Valid lines, in the canonical form the encoder writes (contract field order; with_context,
// defined_group and organiser only when set).
constexpr const char* kNetwork =
    R"({"id":"c1-net","type":"network.registered","occurred_on":"2021-01-01",)"
    R"("network_id":"N-ADULT-BXL","name":"Brussels adults","population":"adults"})";
constexpr const char* kBudget =
    R"({"id":"c1-budget","type":"budget.allocated","occurred_on":"2024-01-01",)"
    R"("network_id":"N-ADULT-BXL","year":2024,"care_budget_cents":100000000})";
constexpr const char* kIndividual =
    R"({"id":"c1-s1","type":"session.individual","occurred_on":"2024-04-02",)"
    R"("provider_id":"P-100","network_id":"N-ADULT-BXL",)"
    R"("beneficiary":{"niss":"90031210192","birth_date":"1990-03-12","bim":false},)"
    R"("function":"support","minutes":60,"location":"practice"})";
constexpr const char* kGroup =
    R"({"id":"c3-g1","type":"session.group","occurred_on":"2024-05-20",)"
    R"("facilitators":[{"provider_id":"P-300","role":"psychologist"},)"
    R"({"provider_id":"P-301","role":"other"}],"network_id":"N-ADULT-GNT",)"
    R"("function":"support","minutes":120,"location":"outreach","participants":[)"
    R"({"niss":"80113004536","birth_date":"1980-11-30","bim":true},)"
    R"({"niss":"75061533358","birth_date":"1975-06-15","bim":false},)"
    R"({"niss":"85090901709","birth_date":"1985-09-09","bim":false},)"
    R"({"niss":"70012012276","birth_date":"1970-01-20","bim":false}]})";
constexpr const char* kCommunity =
    R"({"id":"c5-ci","type":"community.intervention","occurred_on":"2024-03-14",)"
    R"("facilitators":[{"provider_id":"P-500","role":"orthopedagogue"}],)"
    R"("network_id":"N-CHILD-LIE","minutes":90,"interaction_minutes":60,)"
    R"("participant_count":14,"defined_group":true,"host":"Maison de jeunes Ste-Marguerite"})";
constexpr const char* kConcertation =
    R"({"id":"c3-conc","type":"concertation.held","occurred_on":"2024-05-23",)"
    R"("network_id":"N-ADULT-GNT",)"
    R"("beneficiary":{"niss":"80113004536","birth_date":"1980-11-30","bim":true},"units":2,)"
    R"("participants":[{"provider_id":"P-300","role":"psychologist","care_provider":true},)"
    R"({"provider_id":"P-302","role":"psychologist","care_provider":true},)"
    R"({"role":"general_practitioner","care_provider":true}]})";
constexpr const char* kEnrolled =
    R"({"id":"c1-prov","type":"provider.enrolled","occurred_on":"2021-06-01",)"
    R"("provider_id":"P-100","network_id":"N-ADULT-BXL","profession":"psychologist"})";
constexpr const char* kRuleset =
    R"({"id":"rules-2024.3","type":"ruleset.published","occurred_on":"2024-01-01",)"
    R"("ruleset":{"id":"rules-2024","version":3,"valid_from":"2024-01-01",)"
    R"("fees":{"individual":{"support":4336,"treatment":5418}},"ratio":25,)"
    R"("flags":[true,false,null],"limits":[],"notes":{}},"reason":"annual indexation"})";
constexpr const char* kMission =
    R"({"id":"c3-mission","type":"support.mission","occurred_on":"2024-05-27",)"
    R"("provider_id":"P-302","network_id":"N-ADULT-GNT","minutes":90,"kind":"co_consultation"})";
constexpr const char* kVoided =
    R"({"id":"c4-void","type":"event.voided","occurred_on":"2024-06-20","target":"c4-s1",)"
    R"("reason":"recorded for the wrong beneficiary"})";
constexpr const char* kInvoice =
    R"({"id":"inv-P-100-2024-04","type":"invoice.issued","occurred_on":"2024-05-01",)"
    R"("provider_id":"P-100","month":"2024-04","ruleset":{"id":"rules-2024","version":3},)"
    R"("fee_cents":43345,"copay_cents":4400,"insurer_cents":38945,"lines":5})";

// ---------------------------------------------------------------------------------------------
// Round trip: JSON -> event -> JSON gives the same fields back, in the same order.

struct RoundTripCase {
  const char* name;
  const char* line;
};

constexpr RoundTripCase kRoundTrips[] = {
    {"NetworkRegisteredAdults", kNetwork},
    {"NetworkRegisteredChildren",
     R"({"id":"c2-net","type":"network.registered","occurred_on":"2021-01-01",)"
     R"("network_id":"N-CHILD-LIE","name":"Liege children and adolescents",)"
     R"("population":"children"})"},
    {"NetworkRegisteredMixed",
     R"({"id":"n-mixed","type":"network.registered","occurred_on":"2022-02-01",)"
     R"("network_id":"N-MIX","name":"R\u00e9seau mixte \"Nord\"","population":"mixed"})"},
    {"ProviderEnrolledPsychologist", kEnrolled},
    {"ProviderEnrolledOrthopedagogue",
     R"({"id":"c2-prov","type":"provider.enrolled","occurred_on":"2021-09-01",)"
     R"("provider_id":"P-200","network_id":"N-CHILD-LIE","profession":"orthopedagogue"})"},
    {"ProviderEnrolledOther",
     R"({"id":"c3-p301","type":"provider.enrolled","occurred_on":"2022-01-01",)"
     R"("provider_id":"P-301","network_id":"N-ADULT-GNT","profession":"other"})"},
    {"ProviderLeft", R"({"id":"c1-left","type":"provider.left","occurred_on":"2024-09-30",)"
                     R"("provider_id":"P-100","network_id":"N-ADULT-BXL"})"},
    {"BudgetAllocated", kBudget},
    {"RulesetPublished", kRuleset},
    {"AssessmentRecorded",
     R"({"id":"c3-assess-c","type":"assessment.recorded","occurred_on":"2024-05-02",)"
     R"("provider_id":"P-300","network_id":"N-ADULT-GNT",)"
     R"("beneficiary":{"niss":"80113004536","birth_date":"1980-11-30","bim":true}})"},
    {"ExceptionGranted",
     R"({"id":"exc-1","type":"exception.granted","occurred_on":"2024-06-01",)"
     R"("provider_id":"P-300","network_id":"N-ADULT-GNT",)"
     R"("beneficiary":{"niss":"75061533358","birth_date":"1975-06-15","bim":false},)"
     R"("function":"treatment","reason":"complex case, approved by the network"})"},
    {"SessionIndividual", kIndividual},
    {"SessionIndividualWithContext",
     R"({"id":"c2-s1","type":"session.individual","occurred_on":"2023-11-06",)"
     R"("provider_id":"P-200","network_id":"N-CHILD-LIE",)"
     R"("beneficiary":{"niss":"03070120206","birth_date":"2003-07-01","bim":false},)"
     R"("function":"treatment","minutes":45,"location":"video","with_context":true})"},
    {"SessionIndividualOrganiserCpms",
     R"({"id":"s-cpms","type":"session.individual","occurred_on":"2024-02-12",)"
     R"("provider_id":"P-200","network_id":"N-CHILD-LIE",)"
     R"("beneficiary":{"niss":"03070120206","birth_date":"2003-07-01","bim":true},)"
     R"("function":"support","minutes":30,"location":"school","organiser":"cpms"})"},
    {"SessionIndividualWithContextAndCpms",
     R"({"id":"s-both","type":"session.individual","occurred_on":"2024-02-13",)"
     R"("provider_id":"P-200","network_id":"N-CHILD-LIE",)"
     R"("beneficiary":{"niss":"03070120206","birth_date":"2003-07-01","bim":false},)"
     R"("function":"support","minutes":1440,"location":"home","with_context":true,)"
     R"("organiser":"cpms"})"},
    {"SessionIndividualOutreach",
     R"({"id":"s-out","type":"session.individual","occurred_on":"2024-02-14",)"
     R"("provider_id":"P-100","network_id":"N-ADULT-BXL",)"
     R"("beneficiary":{"niss":"88120105504","birth_date":"1988-12-01","bim":false},)"
     R"("function":"support","minutes":1,"location":"outreach"})"},
    {"SessionGroup", kGroup},
    {"SessionGroupOrganiserCpms",
     R"({"id":"g-cpms","type":"session.group","occurred_on":"2024-03-01",)"
     R"("facilitators":[{"provider_id":"P-200","role":"orthopedagogue"}],)"
     R"("network_id":"N-CHILD-LIE","function":"treatment","minutes":90,"location":"school",)"
     R"("participants":[{"niss":"03070120206","birth_date":"2003-07-01","bim":false}],)"
     R"("organiser":"cpms"})"},
    {"CommunityInterventionDefinedGroup", kCommunity},
    {"CommunityIntervention",
     R"({"id":"c5-ci2","type":"community.intervention","occurred_on":"2024-03-15",)"
     R"("facilitators":[{"provider_id":"P-500","role":"orthopedagogue"},)"
     R"({"provider_id":"P-501","role":"psychologist"}],"network_id":"N-CHILD-LIE",)"
     R"("minutes":120,"interaction_minutes":0,"participant_count":0,"host":"CPAS Ixelles"})"},
    {"SupportMissionCaseSupport",
     R"({"id":"m-1","type":"support.mission","occurred_on":"2024-05-27",)"
     R"("provider_id":"P-302","network_id":"N-ADULT-GNT","minutes":30,"kind":"case_support"})"},
    {"SupportMissionCoConsultation", kMission},
    {"SupportMissionKnowledgeSharing",
     R"({"id":"m-3","type":"support.mission","occurred_on":"2024-05-28",)"
     R"("provider_id":"P-302","network_id":"N-ADULT-GNT","minutes":60,)"
     R"("kind":"knowledge_sharing"})"},
    {"SupportMissionOutreachCoordination",
     R"({"id":"m-4","type":"support.mission","occurred_on":"2024-05-29",)"
     R"("provider_id":"P-302","network_id":"N-ADULT-GNT","minutes":45,)"
     R"("kind":"outreach_coordination"})"},
    {"ConcertationHeld", kConcertation},
    {"EventVoided", kVoided},
    {"InvoiceIssued", kInvoice},
    {"InvoiceIssuedWithLinesDigest",
     R"({"id":"inv-2","type":"invoice.issued","occurred_on":"2024-06-01",)"
     R"("provider_id":"P-100","month":"2024-05","ruleset":{"id":"rules-2024","version":3},)"
     R"("fee_cents":26007,"copay_cents":3300,"insurer_cents":22707,"lines":4,)"
     R"("lines_sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"})"},
    {"InvoiceIssuedWithRegularisations",
     R"({"id":"inv-3","type":"invoice.issued","occurred_on":"2024-07-31",)"
     R"("provider_id":"P-100","month":"2024-07","ruleset":{"id":"rules-2024","version":4},)"
     R"("fee_cents":0,"copay_cents":0,"insurer_cents":0,"lines":0,"regularisations":[)"
     R"({"month":"2024-05","fee_cents":924,"copay_cents":0,"insurer_cents":924},)"
     R"({"month":"2024-06","fee_cents":-8669,"copay_cents":-1100,"insurer_cents":-7569}]})"},
};

class RoundTripTest : public ::testing::TestWithParam<RoundTripCase> {};

TEST_P(RoundTripTest, EncodeGivesTheInputBack) {
  const std::string_view line = GetParam().line;
  const json::value input = json::parse(line);
  const auto decoded = Decode(line);
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
  EXPECT_FALSE(decoded->expected_version.has_value());
  EXPECT_STREQ(EventTypeName(decoded->event().getBody().which()),
               input.at("type").as_string().c_str());

  const json::object encoded = EncodeEvent(decoded->event());
  EXPECT_EQ(json::value(encoded), input);
  // json::value equality ignores the order of keys; the serialised text does not, so this
  // checks that the encoder writes the contract's field order at every level.
  EXPECT_EQ(json::serialize(encoded), json::serialize(input));
}

TEST_P(RoundTripTest, EncodedEventDecodesToTheSameEvent) {
  const auto first = Decode(GetParam().line);
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  const std::string encoded = json::serialize(EncodeEvent(first->event()));
  const auto second = Decode(encoded);
  ASSERT_TRUE(second.ok()) << second.error().ToString();
  EXPECT_EQ(json::serialize(EncodeEvent(second->event())), encoded);
}

INSTANTIATE_TEST_SUITE_P(AllTypes, RoundTripTest, ::testing::ValuesIn(kRoundTrips),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(JsonCodecTest, RoundTripCasesCoverEveryEventType) {
  std::set<Event::Body::Which> seen;
  for (const auto& c : kRoundTrips) {
    const auto decoded = Decode(c.line);
    ASSERT_TRUE(decoded.ok()) << c.name << ": " << decoded.error().ToString();
    seen.insert(decoded->event().getBody().which());
  }
  const std::set<std::string> names = [&] {
    std::set<std::string> s;
    for (auto which : seen) s.insert(EventTypeName(which));
    return s;
  }();
  const std::set<std::string> expected = {
      "network.registered", "provider.enrolled",      "provider.left",     "budget.allocated",
      "ruleset.published",  "assessment.recorded",    "exception.granted", "session.individual",
      "session.group",      "community.intervention", "support.mission",   "concertation.held",
      "event.voided",       "invoice.issued"};
  EXPECT_EQ(names, expected);
}

TEST(JsonCodecTest, WithContextFalseIsTheDefault) {
  // The explicit default is accepted, and encodes as the canonical form without the field.
  json::value v = json::parse(kIndividual);
  v.as_object()["with_context"] = false;
  const auto decoded = Decode(json::serialize(v));
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
  EXPECT_FALSE(decoded->event().getBody().getSessionIndividual().getWithContext());
  EXPECT_EQ(json::value(EncodeEvent(decoded->event())), json::parse(kIndividual));
}

TEST(JsonCodecTest, DecodedSessionIndividualFields) {
  const auto decoded = Decode(kIndividual);
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
  const auto ev = decoded->event();
  EXPECT_EQ(std::string(ev.getId().cStr()), "c1-s1");
  EXPECT_EQ(ev.getOccurredOn(), ToDay({2024, 4, 2}));
  ASSERT_EQ(ev.getBody().which(), Event::Body::SESSION_INDIVIDUAL);
  const auto s = ev.getBody().getSessionIndividual();
  EXPECT_EQ(std::string(s.getProviderId().cStr()), "P-100");
  EXPECT_EQ(std::string(s.getNetworkId().cStr()), "N-ADULT-BXL");
  EXPECT_EQ(std::string(s.getBeneficiary().getNiss().cStr()), "90031210192");
  EXPECT_EQ(s.getBeneficiary().getBirthDay(), ToDay({1990, 3, 12}));
  EXPECT_FALSE(s.getBeneficiary().getBim());
  EXPECT_EQ(s.getFunction(), schema::CareFunction::SUPPORT);
  EXPECT_EQ(s.getMinutes(), 60);
  EXPECT_EQ(s.getLocation(), schema::Location::PRACTICE);
  EXPECT_FALSE(s.getWithContext());
  EXPECT_EQ(s.getOrganiser(), schema::Organiser::NONE);
}

TEST(JsonCodecTest, DecodedGroupAndConcertationFields) {
  const auto group = Decode(kGroup);
  ASSERT_TRUE(group.ok()) << group.error().ToString();
  const auto g = group->event().getBody().getSessionGroup();
  ASSERT_EQ(g.getFacilitators().size(), 2u);
  EXPECT_EQ(g.getFacilitators()[1].getRole(), schema::Profession::OTHER);
  ASSERT_EQ(g.getParticipants().size(), 4u);
  EXPECT_TRUE(g.getParticipants()[0].getBim());
  EXPECT_EQ(g.getParticipants()[3].getBirthDay(), ToDay({1970, 1, 20}));

  const auto conc = Decode(kConcertation);
  ASSERT_TRUE(conc.ok()) << conc.error().ToString();
  const auto c = conc->event().getBody().getConcertationHeld();
  EXPECT_EQ(c.getUnits(), 2);
  ASSERT_EQ(c.getParticipants().size(), 3u);
  EXPECT_EQ(std::string(c.getParticipants()[0].getProviderId().cStr()), "P-300");
  EXPECT_EQ(c.getParticipants()[2].getProviderId().size(), 0u);
  EXPECT_EQ(std::string(c.getParticipants()[2].getRole().cStr()), "general_practitioner");
  EXPECT_TRUE(c.getParticipants()[2].getCareProvider());

  const auto inv = Decode(kInvoice);
  ASSERT_TRUE(inv.ok()) << inv.error().ToString();
  const auto i = inv->event().getBody().getInvoiceIssued();
  EXPECT_EQ(i.getMonth(), 202404);
  EXPECT_EQ(std::string(i.getRulesetId().cStr()), "rules-2024");
  EXPECT_EQ(i.getRulesetVersion(), 3);
  EXPECT_EQ(i.getFeeCents(), 43345);
  EXPECT_EQ(i.getLinesSha256().size(), 0u);
}

TEST(JsonCodecTest, ExpectedVersionIsDecodedButNotEncoded) {
  json::value v = json::parse(kIndividual);
  v.as_object()["expected_version"] = 7;
  const auto decoded = Decode(json::serialize(v));
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
  EXPECT_EQ(decoded->expected_version, 7);
  const json::object encoded = EncodeEvent(decoded->event());
  EXPECT_FALSE(encoded.contains("expected_version"));
  EXPECT_EQ(json::value(encoded), json::parse(kIndividual));

  v.as_object()["expected_version"] = 0;
  const auto zero = Decode(json::serialize(v));
  ASSERT_TRUE(zero.ok()) << zero.error().ToString();
  EXPECT_EQ(zero->expected_version, 0);

  const auto absent = Decode(kIndividual);
  ASSERT_TRUE(absent.ok());
  EXPECT_EQ(absent->expected_version, std::nullopt);
}

TEST(JsonCodecTest, DecodeEventValueMatchesDecodeEventJson) {
  const auto from_value = DecodeEventValue(json::parse(kGroup), 2, RecordingDay());
  ASSERT_TRUE(from_value.ok()) << from_value.error().ToString();
  EXPECT_EQ(json::value(EncodeEvent(from_value->event())), json::parse(kGroup));
}

TEST(JsonCodecTest, EncodeStoredEventWrapsTheEnvelope) {
  const auto decoded = Decode(kMission);
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
  capnp::MallocMessageBuilder message;
  auto stored = message.initRoot<schema::StoredEvent>();
  stored.setSeq(42);
  stored.setRecordedAtUs(1714564800123456);
  stored.setEvent(decoded->event());
  const std::string hash(64, 'a');
  const json::object o = EncodeStoredEvent(stored.asReader(), hash);

  std::vector<std::string> keys;
  for (const auto& kv : o) keys.emplace_back(kv.key());
  const std::vector<std::string> expected = {"seq",         "id",         "type",    "occurred_on",
                                             "provider_id", "network_id", "minutes", "kind",
                                             "recorded_at", "hash"};
  EXPECT_EQ(keys, expected);
  EXPECT_EQ(o.at("seq"), json::value(42u));
  EXPECT_EQ(o.at("recorded_at"), json::value("2024-05-01T12:00:00.123456Z"));
  EXPECT_EQ(o.at("hash"), json::value(hash));
  EXPECT_EQ(o.at("kind"), json::value("co_consultation"));
}

// ---------------------------------------------------------------------------------------------
// Bad input.

// The value at a field path as the codec names it ("beneficiary.niss", "participants[2].bim");
// object members are created when missing.
json::value& At(json::value& root, std::string_view path) {
  json::value* cur = &root;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '.') {
      ++i;
    } else if (path[i] == '[') {
      const size_t close = path.find(']', i);
      cur = &cur->as_array().at(std::stoul(std::string(path.substr(i + 1, close - i - 1))));
      i = close + 1;
    } else {
      size_t end = path.find_first_of(".[", i);
      if (end == std::string_view::npos) end = path.size();
      cur = &cur->as_object()[path.substr(i, end - i)];
      i = end;
    }
  }
  return *cur;
}

// `s` as a JSON string (for plain text without characters to escape).
std::string Quoted(std::string_view s) {
  std::string q;
  q.reserve(s.size() + 2);
  q += '"';
  q += s;
  q += '"';
  return q;
}

// `line` with the field at `path` set to the JSON text `value`.
std::string With(std::string_view line, std::string_view path, std::string_view value) {
  json::value v = json::parse(line);
  At(v, path) = json::parse(value);
  return json::serialize(v);
}

// `line` without the object member at `path`.
std::string Without(std::string_view line, std::string_view path) {
  json::value v = json::parse(line);
  const size_t dot = path.rfind('.');
  json::value& parent = dot == std::string_view::npos ? v : At(v, path.substr(0, dot));
  const std::string_view key = dot == std::string_view::npos ? path : path.substr(dot + 1);
  EXPECT_EQ(parent.as_object().erase(key), 1u) << "no field " << path;
  return json::serialize(v);
}

::testing::AssertionResult Rejected(const Result<DecodedEvent>& r, int64_t index,
                                    std::string_view id, std::string_view field) {
  if (r.ok()) return ::testing::AssertionFailure() << "accepted";
  const Error& e = r.error();
  if (e.code != ErrorCode::kInvalidEvent || e.index != index || e.id != id || e.field != field ||
      e.message.empty()) {
    return ::testing::AssertionFailure()
           << "got code " << ErrorCodeName(e.code) << ", index " << e.index << ", id '" << e.id
           << "', field '" << e.field << "', message '" << e.message << "'; want index " << index
           << ", id '" << id << "', field '" << field << "'";
  }
  return ::testing::AssertionSuccess() << e.ToString();
}

TEST(JsonCodecBadInputTest, MalformedJson) {
  for (const char* text : {R"({"id":"c1-s1",)", "", "   ", "{'id':'c1-s1'}", "nul",
                           R"({"id":"c1-s1"} {"id":"c1-s2"})", R"({"id":"c1-s1","type":})",
                           "{\"id\":\"c1-s1\",\"name\":\"\xff\"}", R"({"id":"a\ud800"})"}) {
    const auto r = Decode(text, 4);
    EXPECT_TRUE(Rejected(r, 4, "", "")) << '"' << text << '"';
    if (!r.ok()) {
      EXPECT_EQ(r.error().message.rfind("malformed JSON", 0), 0u) << r.error().message;
    }
  }
}

TEST(JsonCodecBadInputTest, NotAnObject) {
  for (const char* text : {"[]", R"(["c1-s1"])", R"("c1-s1")", "42", "null", "true"}) {
    EXPECT_TRUE(Rejected(Decode(text, 5), 5, "", "")) << text;
  }
  EXPECT_TRUE(Rejected(DecodeEventValue(json::array{}, 6, RecordingDay()), 6, "", ""));
}

TEST(JsonCodecBadInputTest, UnknownType) {
  for (const char* type :
       {R"("session.unknown")", R"("Session.Individual")", R"("")", R"("session.individual ")"}) {
    EXPECT_TRUE(Rejected(Decode(With(kIndividual, "type", type), 1), 1, "c1-s1", "type")) << type;
  }
  EXPECT_TRUE(Rejected(Decode(With(kIndividual, "type", "7"), 1), 1, "c1-s1", "type"));
}

TEST(JsonCodecBadInputTest, UnknownTopLevelField) {
  // Includes the ledger's own envelope fields, which a client may not set, and a field of
  // another event type.
  for (const char* field : {"extra", "seq", "recorded_at", "hash", "kind", "Minutes"}) {
    EXPECT_TRUE(Rejected(Decode(With(kIndividual, field, "1"), 2), 2, "c1-s1", field)) << field;
  }
  EXPECT_TRUE(Rejected(Decode(With(kVoided, "target_id", R"("x")"), 2), 2, "c4-void", "target_id"));
}

TEST(JsonCodecBadInputTest, UnknownNestedField) {
  EXPECT_TRUE(Rejected(Decode(With(kIndividual, "beneficiary.foo", "1"), 0), 0, "c1-s1",
                       "beneficiary.foo"));
  EXPECT_TRUE(
      Rejected(Decode(With(kGroup, "facilitators[0].x", "1"), 0), 0, "c3-g1", "facilitators[0].x"));
  EXPECT_TRUE(
      Rejected(Decode(With(kGroup, "participants[1].y", "1"), 0), 0, "c3-g1", "participants[1].y"));
  EXPECT_TRUE(Rejected(Decode(With(kConcertation, "participants[1].y", "1"), 0), 0, "c3-conc",
                       "participants[1].y"));
  EXPECT_TRUE(Rejected(Decode(With(kInvoice, "ruleset.sha", R"("x")"), 0), 0, "inv-P-100-2024-04",
                       "ruleset.sha"));
  EXPECT_TRUE(Rejected(Decode(With(kInvoice, "regularisations",
                                   R"([{"month":"2024-03","fee_cents":1,"copay_cents":0,)"
                                   R"("insurer_cents":1,"x":2}])"),
                              0),
                       0, "inv-P-100-2024-04", "regularisations[0].x"));
}

TEST(JsonCodecBadInputTest, AFieldGivenTwiceIsRefused) {
  // Top level, nested, and inside a list: the path names the repeated field.
  std::string twice = kIndividual;
  twice.insert(twice.size() - 1, R"(,"minutes":45)");
  EXPECT_TRUE(Rejected(Decode(twice, 0), 0, "c1-s1", "minutes"));
  std::string nested = kIndividual;
  const size_t bim = nested.find(R"("bim")");
  ASSERT_NE(bim, std::string::npos);
  nested.insert(bim, R"("bim":true,)");
  EXPECT_TRUE(Rejected(Decode(nested, 0), 0, "c1-s1", "beneficiary.bim"));
  auto dup = FindDuplicateKey(R"([{"a":1},{"b":[{"c":1},{"c":2,"c":3}]}])");
  ASSERT_TRUE(dup.has_value());
  EXPECT_EQ(dup->index, 1);
  EXPECT_EQ(dup->path, "b[1].c");
  EXPECT_FALSE(FindDuplicateKey(R"({"a":{"x":1},"b":{"x":1}})").has_value());
  EXPECT_FALSE(FindDuplicateKey(kIndividual).has_value());
  // A large object (past the linear search): still found, still named.
  std::string big = R"({"e":{)";
  for (int i = 0; i < 40; ++i) big += "\"k" + std::to_string(i) + "\":1,";
  EXPECT_FALSE(FindDuplicateKey(big + R"("z":1}})").has_value());
  dup = FindDuplicateKey(big + R"("k7":2}})");
  ASSERT_TRUE(dup.has_value());
  EXPECT_EQ(dup->path, "e.k7");
}

TEST(JsonCodecBadInputTest, InvoiceRegularisationsAreChecked) {
  const auto reg = [](const char* entry) {
    return Decode(With(kInvoice, "regularisations", std::string("[") + entry + "]"), 0);
  };
  EXPECT_TRUE(Rejected(reg(R"({"month":"2024-13","fee_cents":1,"copay_cents":0,)"
                           R"("insurer_cents":1})"),
                       0, "inv-P-100-2024-04", "regularisations[0].month"));
  EXPECT_TRUE(Rejected(reg(R"({"month":"2024-03","copay_cents":0,"insurer_cents":1})"), 0,
                       "inv-P-100-2024-04", "regularisations[0].fee_cents"));
  EXPECT_TRUE(Rejected(reg(R"({"month":"2024-03","fee_cents":1.5,"copay_cents":0,)"
                           R"("insurer_cents":1})"),
                       0, "inv-P-100-2024-04", "regularisations[0].fee_cents"));
  EXPECT_TRUE(Rejected(reg(R"("2024-03")"), 0, "inv-P-100-2024-04", "regularisations[0]"));
  // An empty list is the same fact as none: it stores (and digests) the same.
  auto none = Decode(kInvoice, 0);
  auto empty = Decode(With(kInvoice, "regularisations", "[]"), 0);
  ASSERT_TRUE(none.ok() && empty.ok());
  EXPECT_EQ(json::serialize(EncodeEvent(empty->event())),
            json::serialize(EncodeEvent(none->event())));
}

struct FieldCase {
  const char* line;
  const char* id;
  const char* path;
};

TEST(JsonCodecBadInputTest, MissingRequiredField) {
  const FieldCase cases[] = {
      {kIndividual, "c1-s1", "type"},
      {kIndividual, "c1-s1", "occurred_on"},
      {kIndividual, "c1-s1", "provider_id"},
      {kIndividual, "c1-s1", "network_id"},
      {kIndividual, "c1-s1", "beneficiary"},
      {kIndividual, "c1-s1", "beneficiary.niss"},
      {kIndividual, "c1-s1", "beneficiary.birth_date"},
      {kIndividual, "c1-s1", "beneficiary.bim"},
      {kIndividual, "c1-s1", "function"},
      {kIndividual, "c1-s1", "minutes"},
      {kIndividual, "c1-s1", "location"},
      {kGroup, "c3-g1", "facilitators"},
      {kGroup, "c3-g1", "facilitators[0].role"},
      {kGroup, "c3-g1", "facilitators[1].provider_id"},
      {kGroup, "c3-g1", "participants"},
      {kGroup, "c3-g1", "participants[2].bim"},
      {kCommunity, "c5-ci", "interaction_minutes"},
      {kCommunity, "c5-ci", "participant_count"},
      {kCommunity, "c5-ci", "host"},
      {kConcertation, "c3-conc", "units"},
      {kConcertation, "c3-conc", "participants[0].care_provider"},
      {kConcertation, "c3-conc", "participants[2].role"},
      {kNetwork, "c1-net", "name"},
      {kNetwork, "c1-net", "population"},
      {kBudget, "c1-budget", "year"},
      {kBudget, "c1-budget", "care_budget_cents"},
      {kMission, "c3-mission", "kind"},
      {kVoided, "c4-void", "target"},
      {kVoided, "c4-void", "reason"},
      {kInvoice, "inv-P-100-2024-04", "month"},
      {kInvoice, "inv-P-100-2024-04", "ruleset"},
      {kInvoice, "inv-P-100-2024-04", "ruleset.version"},
      {kInvoice, "inv-P-100-2024-04", "lines"},
  };
  for (const auto& c : cases) {
    EXPECT_TRUE(Rejected(Decode(Without(c.line, c.path), 9), 9, c.id, c.path)) << c.path;
  }
  // Without an id the error cannot name one.
  EXPECT_TRUE(Rejected(Decode(Without(kIndividual, "id"), 9), 9, "", "id"));
}

struct ValueCase {
  const char* line;
  const char* id;
  const char* path;
  const char* value;  // JSON text
};

void ExpectAllRejected(const std::vector<ValueCase>& cases, int64_t index) {
  for (const auto& c : cases) {
    EXPECT_TRUE(Rejected(Decode(With(c.line, c.path, c.value), index), index, c.id, c.path))
        << c.path << " = " << c.value;
  }
}

TEST(JsonCodecBadInputTest, WrongJsonType) {
  ExpectAllRejected(
      {
          {kIndividual, "c1-s1", "minutes", R"("60")"},
          {kIndividual, "c1-s1", "minutes", "60.0"},
          {kIndividual, "c1-s1", "minutes", "null"},
          {kIndividual, "c1-s1", "minutes", "9223372036854775808"},
          {kIndividual, "c1-s1", "beneficiary.bim", "0"},
          {kIndividual, "c1-s1", "beneficiary.bim", R"("false")"},
          {kIndividual, "c1-s1", "beneficiary.niss", "90031210192"},
          {kIndividual, "c1-s1", "beneficiary", "[]"},
          {kIndividual, "c1-s1", "beneficiary", "null"},
          {kIndividual, "c1-s1", "with_context", "1"},
          {kIndividual, "c1-s1", "with_context", R"("yes")"},
          {kIndividual, "c1-s1", "occurred_on", "20240402"},
          {kIndividual, "c1-s1", "network_id", "42"},
          {kIndividual, "c1-s1", "expected_version", R"("7")"},
          {kIndividual, "c1-s1", "expected_version", "1.5"},
          {kBudget, "c1-budget", "year", "2024.5"},
          {kBudget, "c1-budget", "year", R"("2024")"},
          {kBudget, "c1-budget", "care_budget_cents", "1e8"},
          {kNetwork, "c1-net", "name", "null"},
          {kGroup, "c3-g1", "facilitators", "{}"},
          {kGroup, "c3-g1", "facilitators[0]", R"("P-300")"},
          {kGroup, "c3-g1", "participants", "{}"},
          {kGroup, "c3-g1", "participants[0]", R"("80113004536")"},
          {kCommunity, "c5-ci", "defined_group", R"("true")"},
          {kConcertation, "c3-conc", "units", "true"},
          {kConcertation, "c3-conc", "participants[1].care_provider", R"("yes")"},
          {kConcertation, "c3-conc", "participants[2].role", "3"},
          {kInvoice, "inv-P-100-2024-04", "ruleset", R"("rules-2024")"},
          {kInvoice, "inv-P-100-2024-04", "ruleset.version", R"("3")"},
          {kInvoice, "inv-P-100-2024-04", "month", "202404"},
          {kInvoice, "inv-P-100-2024-04", "fee_cents", "433.45"},
          {kRuleset, "rules-2024.3", "ruleset", "[1,2]"},
      },
      11);
}

TEST(JsonCodecBadInputTest, NegativeExpectedVersion) {
  EXPECT_TRUE(Rejected(Decode(With(kIndividual, "expected_version", "-1"), 0), 0, "c1-s1",
                       "expected_version"));
}

TEST(JsonCodecBadInputTest, EnumValueNotAllowed) {
  ExpectAllRejected(
      {
          {kIndividual, "c1-s1", "location", R"("office")"},
          {kIndividual, "c1-s1", "location", R"("Practice")"},
          {kIndividual, "c1-s1", "location", "0"},
          {kIndividual, "c1-s1", "function", R"("therapy")"},
          {kIndividual, "c1-s1", "organiser", R"("none")"},
          {kIndividual, "c1-s1", "organiser", R"("CPMS")"},
          {kIndividual, "c1-s1", "organiser", "null"},
          {kGroup, "c3-g1", "facilitators[0].role", R"("nurse")"},
          {kGroup, "c3-g1", "facilitators[1].role", R"("")"},
          {kNetwork, "c1-net", "population", R"("elderly")"},
          {kEnrolled, "c1-prov", "profession", R"("doctor")"},
          {kMission, "c3-mission", "kind", R"("coConsultation")"},
      },
      3);
}

TEST(JsonCodecBadInputTest, InvalidEventId) {
  for (const std::string& id :
       {std::string(R"("")"), Quoted(std::string(65, 'a')), std::string(R"("a b")"),
        std::string(R"("é")"), std::string(R"("c1/s1")"), std::string(R"("c1\ns1")"),
        std::string("42"), std::string("null")}) {
    // The invalid id is not echoed as the event's id.
    EXPECT_TRUE(Rejected(Decode(With(kIndividual, "id", id), 8), 8, "", "id")) << id;
  }
  const std::string longest(64, 'a');
  const auto ok = Decode(With(kIndividual, "id", Quoted(longest)));
  ASSERT_TRUE(ok.ok()) << ok.error().ToString();
  EXPECT_EQ(std::string(ok->event().getId().cStr()), longest);
  EXPECT_TRUE(Decode(With(kIndividual, "id", R"("Az09._:-")")).ok());
}

TEST(JsonCodecBadInputTest, InvalidReferenceIds) {
  const std::string too_long = Quoted(std::string(65, 't'));
  ExpectAllRejected(
      {
          {kIndividual, "c1-s1", "provider_id", R"("P 100")"},
          {kIndividual, "c1-s1", "network_id", R"("")"},
          {kGroup, "c3-g1", "facilitators[1].provider_id", R"("P/301")"},
          {kConcertation, "c3-conc", "participants[2].provider_id", R"("")"},
          {kVoided, "c4-void", "target", R"("")"},
          {kVoided, "c4-void", "target", too_long.c_str()},
          {kInvoice, "inv-P-100-2024-04", "ruleset.id", R"("rules 2024")"},
      },
      12);
}

TEST(JsonCodecBadInputTest, InvalidNissIsNamedButNotEchoed) {
  struct NissCase {
    const char* line;
    const char* id;
    const char* path;
    const char* niss;
  };
  const NissCase cases[] = {
      {kIndividual, "c1-s1", "beneficiary.niss", "90031210193"},      // check off by one
      {kIndividual, "c1-s1", "beneficiary.niss", "90031210292"},      // a digit changed
      {kIndividual, "c1-s1", "beneficiary.niss", "9003121019"},       // 10 digits
      {kIndividual, "c1-s1", "beneficiary.niss", "9003121019x"},      // not digits
      {kIndividual, "c1-s1", "beneficiary.niss", "90.03.12-101.92"},  // printed form
      {kGroup, "c3-g1", "participants[2].niss", "85090901708"},
      {kConcertation, "c3-conc", "beneficiary.niss", "80113004535"},
  };
  for (const auto& c : cases) {
    const auto r = Decode(With(c.line, c.path, Quoted(c.niss)), 1);
    ASSERT_TRUE(Rejected(r, 1, c.id, c.path)) << c.niss;
    EXPECT_EQ(r.error().message.find(c.niss), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().ToString().find(c.niss), std::string::npos) << r.error().ToString();
    // Not even the birth-date part of it.
    EXPECT_EQ(r.error().ToString().find(std::string(c.niss).substr(0, 6)), std::string::npos);
  }
}

TEST(JsonCodecBadInputTest, NissOfTheOtherCenturyIsInvalid) {
  // 03070120206 is valid for a birth in 2003; with a birth date in 1903 it is not.
  const std::string line = With(With(kIndividual, "beneficiary.niss", R"("03070120206")"),
                                "beneficiary.birth_date", R"("1903-07-01")");
  EXPECT_TRUE(Rejected(Decode(line, 0), 0, "c1-s1", "beneficiary.niss"));
  // And 90031210192 (valid for a birth in 1990) is not valid for a birth in 2000.
  const std::string line2 = With(kIndividual, "beneficiary.birth_date", R"("2000-03-12")");
  EXPECT_TRUE(Rejected(Decode(line2, 0), 0, "c1-s1", "beneficiary.niss"));
}

TEST(JsonCodecBadInputTest, ImpossibleDates) {
  ExpectAllRejected(
      {
          {kIndividual, "c1-s1", "occurred_on", R"("2023-02-30")"},
          {kIndividual, "c1-s1", "occurred_on", R"("2023-02-29")"},
          {kIndividual, "c1-s1", "occurred_on", R"("2024-4-02")"},
          {kIndividual, "c1-s1", "occurred_on", R"("2024-04-02T10:00:00Z")"},
          {kIndividual, "c1-s1", "occurred_on", R"("1899-12-31")"},
          {kIndividual, "c1-s1", "beneficiary.birth_date", R"("2023-02-30")"},
          {kIndividual, "c1-s1", "beneficiary.birth_date", R"("1990-13-12")"},
          {kGroup, "c3-g1", "participants[3].birth_date", R"("1970-01-32")"},
          {kInvoice, "inv-P-100-2024-04", "month", R"("2024-13")"},
          {kInvoice, "inv-P-100-2024-04", "month", R"("2024-04-01")"},
      },
      7);
}

TEST(JsonCodecBadInputTest, OccurredOnAfterTheRecordingDay) {
  // kIndividual occurred on 2024-04-02.
  const auto after = DecodeEventJson(kIndividual, 3, ToDay({2024, 4, 1}));
  EXPECT_TRUE(Rejected(after, 3, "c1-s1", "occurred_on"));
  const auto same_day = DecodeEventJson(kIndividual, 3, ToDay({2024, 4, 2}));
  EXPECT_TRUE(same_day.ok()) << same_day.error().ToString();
  // The error says which day of recording it was checked against.
  if (!after.ok()) {
    EXPECT_NE(after.error().message.find("2024-04-01"), std::string::npos);
  }
}

TEST(JsonCodecBadInputTest, BirthDateAfterOccurredOn) {
  // Born 2003-07-01 (a NISS valid for that birth date), care on the day before.
  std::string line = With(kIndividual, "beneficiary.niss", R"("03070120206")");
  line = With(line, "beneficiary.birth_date", R"("2003-07-01")");
  EXPECT_TRUE(Rejected(Decode(With(line, "occurred_on", R"("2003-06-30")"), 4), 4, "c1-s1",
                       "beneficiary.birth_date"));
  const auto born_that_day = Decode(With(line, "occurred_on", R"("2003-07-01")"));
  EXPECT_TRUE(born_that_day.ok()) << born_that_day.error().ToString();

  std::string group = With(kGroup, "participants[1].niss", R"("03070120206")");
  group = With(group, "participants[1].birth_date", R"("2003-07-01")");
  group = With(group, "occurred_on", R"("2003-06-30")");
  EXPECT_TRUE(Rejected(Decode(group, 4), 4, "c3-g1", "participants[1].birth_date"));
}

TEST(JsonCodecBadInputTest, MinutesMustBePositive) {
  ExpectAllRejected(
      {
          {kIndividual, "c1-s1", "minutes", "0"},
          {kIndividual, "c1-s1", "minutes", "-5"},
          {kGroup, "c3-g1", "minutes", "0"},
          {kGroup, "c3-g1", "minutes", "-5"},
          {kCommunity, "c5-ci", "minutes", "0"},
          {kMission, "c3-mission", "minutes", "-5"},
      },
      2);
}

TEST(JsonCodecBadInputTest, EmptyFacilitators) {
  EXPECT_TRUE(Rejected(Decode(With(kGroup, "facilitators", "[]"), 3), 3, "c3-g1", "facilitators"));
  EXPECT_TRUE(
      Rejected(Decode(With(kCommunity, "facilitators", "[]"), 3), 3, "c5-ci", "facilitators"));
}

// A valid NISS for a birth on year-month-day (the month raised by `bis` for a BIS number, or
// given as 0 for an unknown one), with `serial` (1-998) and the check number of its century.
std::string Niss(int year, int month, int day, int serial, int bis = 0) {
  const int64_t base =
      ((int64_t{year % 100} * 100 + (month == 0 ? bis : month + bis)) * 100 + day) * 1000 + serial;
  const int64_t check = 97 - ((year >= 2000 ? 2000000000LL : 0) + base) % 97;
  char out[32];
  std::snprintf(out, sizeof out, "%09lld%02lld", static_cast<long long>(base),
                static_cast<long long>(check));
  return out;
}

// `n` distinct participants born on 1980-01-01, as a JSON array.
std::string Participants(int n) {
  std::string a = "[";
  for (int i = 0; i < n; ++i) {
    a += std::string(i ? "," : "") + R"({"niss":")" + Niss(1980, 1, 1, i + 1) +
         R"(","birth_date":"1980-01-01","bim":false})";
  }
  return a + "]";
}

// `n` distinct facilitators.
std::string Facilitators(int n) {
  std::string a = "[";
  for (int i = 0; i < n; ++i) {
    a += std::string(i ? "," : "") + R"({"provider_id":"P-)" + std::to_string(i) +
         R"(","role":"psychologist"})";
  }
  return a + "]";
}

TEST(JsonCodecBadInputTest, TheSameNissTwiceInAGroupIsRefusedUnechoed) {
  // The fourth participant is the first again (same NISS, same birth date).
  const std::string first = json::serialize(json::parse(kGroup).at("participants").at(0));
  const auto r = Decode(With(kGroup, "participants[3]", first), 2);
  ASSERT_TRUE(Rejected(r, 2, "c3-g1", "participants[3].niss"));
  EXPECT_NE(r.error().message.find("participants[0]"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().ToString().find("80113004536"), std::string::npos) << r.error().ToString();
  // Four times: the first repeat is named.
  std::string four = With(kGroup, "participants[1]", first);
  four = With(four, "participants[2]", first);
  EXPECT_TRUE(Rejected(Decode(With(four, "participants[3]", first), 0), 0, "c3-g1",
                       "participants[1].niss"));
}

TEST(JsonCodecBadInputTest, TheSameFacilitatorTwiceIsRefused) {
  // Whatever the role given the second time.
  EXPECT_TRUE(Rejected(Decode(With(kGroup, "facilitators[1].provider_id", R"("P-300")"), 1), 1,
                       "c3-g1", "facilitators[1].provider_id"));
  const std::string twice = With(
      kCommunity, "facilitators",
      R"([{"provider_id":"P-500","role":"orthopedagogue"},{"provider_id":"P-501","role":"other"},)"
      R"({"provider_id":"P-500","role":"psychologist"}])");
  EXPECT_TRUE(Rejected(Decode(twice, 1), 1, "c5-ci", "facilitators[2].provider_id"));
}

TEST(JsonCodecBadInputTest, TheSameProviderTwiceInAConcertationIsRefused) {
  EXPECT_TRUE(Rejected(Decode(With(kConcertation, "participants[1].provider_id", R"("P-300")"), 0),
                       0, "c3-conc", "participants[1].provider_id"));
  // Participants without a provider id are not the same person for that.
  const std::string gps = With(kConcertation, "participants[1]",
                               R"({"role":"general_practitioner","care_provider":true})");
  const auto ok = Decode(gps);
  EXPECT_TRUE(ok.ok()) << ok.error().ToString();
}

TEST(JsonCodecBadInputTest, ListsLongerThanTheirBoundAreRefused) {
  struct Bound {
    const char* line;
    const char* id;
    const char* field;
    std::string at_bound, over;
  };
  // Concertation participants without provider ids (never repeats of each other).
  auto teachers = [](int n) {
    std::string a = "[";
    for (int i = 0; i < n; ++i) {
      a += std::string(i ? "," : "") + R"({"role":"teacher","care_provider":false})";
    }
    return a + "]";
  };
  const std::string gps_at = teachers(20), gps_over = teachers(21);
  const Bound bounds[] = {
      {kGroup, "c3-g1", "participants", Participants(100), Participants(101)},
      {kGroup, "c3-g1", "facilitators", Facilitators(10), Facilitators(11)},
      {kCommunity, "c5-ci", "facilitators", Facilitators(10), Facilitators(11)},
      {kConcertation, "c3-conc", "participants", gps_at, gps_over},
  };
  for (const Bound& b : bounds) {
    const auto at = Decode(With(b.line, b.field, b.at_bound));
    EXPECT_TRUE(at.ok()) << b.id << " " << b.field << ": " << at.error().ToString();
    const auto over = Decode(With(b.line, b.field, b.over), 5);
    EXPECT_TRUE(Rejected(over, 5, b.id, b.field));
  }
  // 100,000 places of one person, in a request body parsed whole (the HTTP API decodes each
  // event of a JSON array as a value, without the size limit of one line): refused for its
  // length.
  json::value flood = json::parse(kGroup);
  const json::value one = flood.at("participants").at(0);
  json::array& places = flood.at("participants").as_array();
  places.clear();
  for (int i = 0; i < 100000; ++i) places.push_back(one);
  const auto r = DecodeEventValue(flood, 0, RecordingDay());
  ASSERT_TRUE(Rejected(r, 0, "c3-g1", "participants"));
  EXPECT_NE(r.error().message.find("100"), std::string::npos) << r.error().message;
}

TEST(JsonCodecBadInputTest, AMonthRegularisedTwiceInOneInvoiceIsRefused) {
  const std::string twice = With(kInvoice, "regularisations",
                                 R"([{"month":"2024-02","fee_cents":1,"copay_cents":0,)"
                                 R"("insurer_cents":1},{"month":"2024-03","fee_cents":2,)"
                                 R"("copay_cents":0,"insurer_cents":2},{"month":"2024-02",)"
                                 R"("fee_cents":1,"copay_cents":0,"insurer_cents":1}])");
  EXPECT_TRUE(Rejected(Decode(twice, 0), 0, "inv-P-100-2024-04", "regularisations[2].month"));
}

TEST(JsonCodecBadInputTest, ABirthDateThatContradictsTheNissIsRefused) {
  // kIndividual: 90031210192, born 1990-03-12. Another day, month or year of the same century.
  for (const char* birth : {"1990-03-13", "1990-04-12", "1991-03-12", "1980-03-12"}) {
    const auto r = Decode(With(kIndividual, "beneficiary.birth_date", Quoted(birth)), 1);
    ASSERT_TRUE(Rejected(r, 1, "c1-s1", "beneficiary.birth_date")) << birth;
    // Neither the NISS nor its date digits are echoed.
    EXPECT_EQ(r.error().ToString().find("900312"), std::string::npos) << r.error().ToString();
  }
  EXPECT_TRUE(Rejected(Decode(With(kGroup, "participants[2].birth_date", R"("1985-09-10")"), 0), 0,
                       "c3-g1", "participants[2].birth_date"));
  EXPECT_TRUE(Rejected(Decode(With(kConcertation, "beneficiary.birth_date", R"("1980-12-30")"), 0),
                       0, "c3-conc", "beneficiary.birth_date"));
}

TEST(JsonCodecBadInputTest, TheNissDateRulesForBisNumbersAndUnknownPartsAreRespected) {
  struct Person {
    std::string niss;
    const char* birth;
    bool matches;
  };
  const Person people[] = {
      {Niss(1990, 3, 12, 101, 20), "1990-03-12", true},   // BIS, month + 20
      {Niss(1990, 3, 12, 101, 40), "1990-03-12", true},   // BIS, month + 40
      {Niss(2005, 5, 6, 333, 40), "2005-05-06", true},    // BIS, born from 2000
      {Niss(1990, 3, 12, 101, 40), "1990-04-12", false},  // BIS, another month
      {Niss(1990, 0, 12, 101), "1990-07-12", true},       // month unknown: any month
      {Niss(1990, 0, 12, 101), "1990-07-13", false},      // ... but the day it gives
      {Niss(1990, 0, 12, 101, 20), "1990-07-12", true},   // BIS, month unknown
      {Niss(1990, 0, 12, 101, 40), "1990-01-12", true},   // BIS, month unknown
      {Niss(1990, 3, 0, 101), "1990-03-28", true},        // day unknown: any day
      {Niss(1990, 3, 0, 101), "1990-04-28", false},       // ... of the month it gives
      {Niss(1990, 0, 0, 101), "1990-11-30", true},        // only the year known
      {Niss(1990, 0, 0, 101), "1991-11-30", false},       // ... and checked
  };
  for (const Person& p : people) {
    std::string line = With(kIndividual, "beneficiary.niss", Quoted(p.niss));
    line = With(line, "beneficiary.birth_date", Quoted(p.birth));
    const auto r = Decode(line, 0);
    if (p.matches) {
      EXPECT_TRUE(r.ok()) << p.niss << " " << p.birth << ": " << r.error().ToString();
    } else {
      EXPECT_TRUE(Rejected(r, 0, "c1-s1", "beneficiary.birth_date")) << p.niss << " " << p.birth;
    }
  }
}

TEST(JsonCodecBadInputTest, UnitsMustBePositive) {
  EXPECT_TRUE(Rejected(Decode(With(kConcertation, "units", "0"), 0), 0, "c3-conc", "units"));
  EXPECT_TRUE(Rejected(Decode(With(kConcertation, "units", "-1"), 0), 0, "c3-conc", "units"));
}

TEST(JsonCodecBadInputTest, OverlongFreeText) {
  const std::string longest = Quoted(std::string(kFreeTextBytesMax, 'x'));
  const std::string too_long = Quoted(std::string(kFreeTextBytesMax + 1, 'x'));
  const auto ok = Decode(With(kVoided, "reason", longest));
  ASSERT_TRUE(ok.ok()) << ok.error().ToString();
  EXPECT_EQ(ok->event().getBody().getEventVoided().getReason().size(), kFreeTextBytesMax);

  ExpectAllRejected(
      {
          {kVoided, "c4-void", "reason", too_long.c_str()},
          {kNetwork, "c1-net", "name", too_long.c_str()},
          {kCommunity, "c5-ci", "host", too_long.c_str()},
          {kConcertation, "c3-conc", "participants[0].role", too_long.c_str()},
          {kInvoice, "inv-P-100-2024-04", "lines_sha256", too_long.c_str()},
      },
      6);
}

TEST(JsonCodecBadInputTest, EventLineLargerThanTheLimit) {
  // Whitespace padding keeps the JSON valid, so only the size can reject it.
  std::string line = kVoided;
  line.append(kEventJsonBytesMax - line.size(), ' ');
  ASSERT_EQ(line.size(), kEventJsonBytesMax);
  const auto at_limit = Decode(line, 5);
  EXPECT_TRUE(at_limit.ok()) << at_limit.error().ToString();

  line.push_back(' ');
  const auto over = Decode(line, 5);
  EXPECT_TRUE(Rejected(over, 5, "", ""));
}

std::string Nested(int depth) {
  std::string s;
  for (int i = 0; i < depth; ++i) s += "{\"a\":";
  s += "1";
  for (int i = 0; i < depth; ++i) s += "}";
  return s;
}

TEST(JsonCodecBadInputTest, DeeplyNestedJson) {
  const char* ruleset = kRuleset;
  // A ruleset document a few levels deep is fine.
  EXPECT_TRUE(Decode(With(ruleset, "ruleset.deep", Nested(8))).ok());

  for (const int depth : {40, 100000}) {
    std::string line = R"({"id":"r","type":"ruleset.published","occurred_on":"2024-01-01",)"
                       R"("reason":"x","ruleset":)" +
                       Nested(depth) + "}";
    EXPECT_TRUE(Rejected(Decode(line, 2), 2, "", "")) << "depth " << depth;
  }
  std::string arrays =
      R"({"id":"x","deep":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_TRUE(Rejected(Decode(arrays, 2), 2, "", ""));
}

TEST(JsonCodecBadInputTest, TextWithNulIsRejected) {
  // A NUL inside a string is valid JSON, but Cap'n Proto Text would silently cut the string
  // there: the event would not round-trip, and two different events would store the same.
  ExpectAllRejected(
      {
          {kNetwork, "c1-net", "name", R"("Brussels\u0000adults")"},
          {kVoided, "c4-void", "reason", R"("wrong\u0000")"},
          {kCommunity, "c5-ci", "host", R"("\u0000")"},
          {kConcertation, "c3-conc", "participants[2].role", R"("general\u0000practitioner")"},
          {kIndividual, "c1-s1", "beneficiary.niss", R"("9003121019\u0000")"},
          {kIndividual, "c1-s1", "provider_id", R"("P-100\u0000")"},
      },
      1);
}

TEST(JsonCodecBadInputTest, OutOfRangeNumbers) {
  // 1e400 is valid JSON that parses to infinity; it is never a valid integer field.
  std::string line = kIndividual;
  line.replace(line.find(R"("minutes":60)"), 12, R"("minutes":1e400)");
  EXPECT_TRUE(Rejected(Decode(line, 2), 2, "c1-s1", "minutes"));

  // The ruleset document is stored as text, which must parse back for the event to
  // round-trip; Boost.JSON would write infinity as the non-JSON "Infinity".
  for (const char* number : {"1e400", "-1e400", "0.25", "2.75e103"}) {
    std::string ruleset = kRuleset;
    ruleset.replace(ruleset.find(R"("ratio":25)"), 10, std::string(R"("ratio":)") + number);
    EXPECT_TRUE(Rejected(Decode(ruleset, 2), 2, "rules-2024.3", "ruleset")) << number;
  }
  json::value v = json::parse(kRuleset);
  At(v, "ruleset.ratio") = std::numeric_limits<double>::infinity();
  EXPECT_TRUE(Rejected(DecodeEventValue(v, 2, RecordingDay()), 2, "rules-2024.3", "ruleset"));
}

TEST(JsonCodecBadInputTest, RulesetTooDeepToParseBackIsRejected) {
  // A value built in memory (not parsed with the line's depth limit) can nest deeper than
  // the encoder can parse back; it is rejected rather than stored.
  json::value v = json::parse(kRuleset);
  At(v, "ruleset.deep") = json::parse(Nested(40), {}, [] {
    json::parse_options opts;
    opts.max_depth = 64;
    return opts;
  }());
  EXPECT_TRUE(Rejected(DecodeEventValue(v, 0, RecordingDay()), 0, "rules-2024.3", "ruleset"));
}

TEST(JsonCodecBadInputTest, ErrorToStringNamesIndexIdAndField) {
  const auto r = Decode(With(kIndividual, "minutes", "0"), 3);
  ASSERT_FALSE(r.ok());
  const std::string s = r.error().ToString();
  EXPECT_EQ(s, "event 3 (id c1-s1), field minutes: " + r.error().message);

  const auto nested = Decode(With(kGroup, "facilitators[0].role", R"("nurse")"), 12);
  ASSERT_FALSE(nested.ok());
  EXPECT_EQ(nested.error().ToString().rfind("event 12 (id c3-g1), field facilitators[0].role: ", 0),
            0u)
      << nested.error().ToString();

  const auto no_id = Decode("[]", 0);
  ASSERT_FALSE(no_id.ok());
  EXPECT_EQ(no_id.error().ToString().rfind("event 0: ", 0), 0u) << no_id.error().ToString();
}

// ---------------------------------------------------------------------------------------------
// Decoding never throws, whatever the input.

// Checks one decode of arbitrary input; returns true when it was accepted.
// `names_field`: the input is a JSON object, so a rejection must name the field.
bool DecodeSafely(std::string_view text, int64_t index, bool names_field) {
  try {
    const auto r = Decode(text, index);
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, ErrorCode::kInvalidEvent);
      EXPECT_EQ(r.error().index, index);
      EXPECT_FALSE(r.error().message.empty()) << text;
      if (names_field) {
        EXPECT_FALSE(r.error().field.empty()) << text << ": " << r.error().message;
      }
      return false;
    }
    // Whatever was accepted encodes to a line that decodes to the same event.
    const std::string encoded = json::serialize(EncodeEvent(r->event()));
    const auto again = Decode(encoded, index);
    EXPECT_TRUE(again.ok()) << encoded << ": " << again.error().ToString();
    if (again.ok()) {
      EXPECT_EQ(json::serialize(EncodeEvent(again->event())), encoded);
    }
    return true;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw " << e.what() << " on " << text;
  } catch (...) {
    ADD_FAILURE() << "threw a non-std exception on " << text;
  }
  return false;
}

TEST(JsonCodecRobustnessTest, ByteMutationsNeverThrow) {
  const std::string bases[] = {kIndividual, kGroup, kConcertation, kInvoice, kRuleset};
  std::mt19937 rng(0x1ed9e5);
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  constexpr char kInteresting[] = "{}[]\",:0123456789-.eE\\u tfn\x00\x7f\xc3\xa9\xff";
  const std::string interesting(kInteresting, sizeof kInteresting - 1);
  int accepted = 0;
  for (int i = 0; i < 400; ++i) {
    std::string s = bases[pick(std::size(bases))];
    const int mutations = 1 + static_cast<int>(pick(4));
    for (int m = 0; m < mutations && !s.empty(); ++m) {
      const size_t pos = pick(s.size());
      switch (pick(5)) {
        case 0:  // replace a byte with any byte
          s[pos] = static_cast<char>(pick(256));
          break;
        case 1:  // replace a byte with a JSON-significant one
          s[pos] = interesting[pick(interesting.size())];
          break;
        case 2:  // delete a run of bytes
          s.erase(pos, 1 + pick(8));
          break;
        case 3:  // duplicate a run of bytes
          s.insert(pos, s.substr(pick(s.size()), 1 + pick(16)));
          break;
        case 4:  // truncate
          s.resize(pos);
          break;
      }
    }
    if (DecodeSafely(s, i, false)) ++accepted;
  }
  // Some mutations (inside free text, say) leave a valid event; most do not.
  EXPECT_GT(accepted, 0);
  EXPECT_LT(accepted, 400);
}

// Every path to a value inside `v`, in the codec's notation.
void CollectPaths(const json::value& v, const std::string& prefix, std::vector<std::string>* out) {
  if (v.is_object()) {
    for (const auto& kv : v.get_object()) {
      const std::string path =
          prefix.empty() ? std::string(kv.key()) : prefix + "." + std::string(kv.key());
      out->push_back(path);
      CollectPaths(kv.value(), path, out);
    }
  } else if (v.is_array()) {
    for (size_t i = 0; i < v.get_array().size(); ++i) {
      const std::string path = prefix + "[" + std::to_string(i) + "]";
      out->push_back(path);
      CollectPaths(v.get_array()[i], path, out);
    }
  }
}

TEST(JsonCodecRobustnessTest, ValueMutationsNeverThrowAndNameAField) {
  const char* bases[] = {kIndividual, kGroup,   kCommunity, kConcertation,
                         kInvoice,    kMission, kBudget,    kRuleset};
  const char* replacements[] = {"null",
                                "true",
                                "false",
                                "0",
                                "-1",
                                "1.5",
                                "1e300",
                                "9223372036854775807",
                                "18446744073709551615",
                                "-9223372036854775808",
                                R"("")",
                                R"("x")",
                                "[]",
                                "{}",
                                R"([{}])",
                                R"("2024-02-30")",
                                R"("9999-12-31")",
                                R"("P-1")",
                                R"("support")",
                                R"({"niss":"1","birth_date":"2024-01-01","bim":true})"};
  std::mt19937 rng(20240520);
  int accepted = 0;
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  for (int i = 0; i < 400; ++i) {
    const char* base = bases[pick(std::size(bases))];
    json::value v = json::parse(base);
    std::vector<std::string> paths;
    CollectPaths(v, "", &paths);
    const std::string path = paths[pick(paths.size())];
    const size_t dot = path.rfind('.');
    const bool member = path.back() != ']';
    switch (pick(3)) {
      case 0:
        At(v, path) = json::parse(replacements[pick(std::size(replacements))]);
        break;
      case 1:
        if (member) {
          json::value& parent = dot == std::string::npos ? v : At(v, path.substr(0, dot));
          parent.as_object().erase(dot == std::string::npos ? path : path.substr(dot + 1));
        } else {
          At(v, path) = json::parse(replacements[pick(std::size(replacements))]);
        }
        break;
      case 2:
        if (At(v, path).is_object()) {
          At(v, path).as_object()["zz"] = 1;
        } else {
          v.as_object()["zz"] = 1;
        }
        break;
    }
    if (DecodeSafely(json::serialize(v), i, true)) ++accepted;
  }
  EXPECT_GT(accepted, 0);
  EXPECT_LT(accepted, 400);
}

}  // namespace
}  // namespace ledger
