// Internal to generator/: the synthetic history's tables (networks, age bands, reasons), its
// randomness, the text it writes, the state of what is in care, and the Generator itself, whose
// members are defined by concept in generator_setup.cc (providers, budgets), generator_run.cc
// (the day-by-day run), generator_people.cc (people and providers drawn), generator_life.cc (an
// entity's steps) and generator_writing.cc (the JSON lines). Not for use outside generator/.
#pragma once

#include <algorithm>
#include <array>
#include <cassert>
#include <charconv>
#include <cstring>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "generator/care_cost.h"
#include "generator/generator.h"
#include "generator/tariff.h"

namespace ledger::generator_internal {

using gen::AgeOn;
using gen::Function;
using gen::Population;

// ---------------------------------------------------------------------------------------------
// Randomness: splitmix64 and a bounded draw by rejection, so that every platform draws the same
// numbers (std distributions are implementation-defined).

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) : state_(seed) {}

  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), n > 0.
  uint64_t Below(uint64_t n) {
    assert(n > 0);
    const uint64_t reject_under = (0 - n) % n;  // 2^64 mod n: the biased low values
    for (;;) {
      const uint64_t r = Next();
      if (r >= reject_under) return r % n;
    }
  }
  // Uniform in [lo, hi], lo <= hi.
  int32_t Range(int32_t lo, int32_t hi) {
    assert(lo <= hi);
    return lo + static_cast<int32_t>(Below(static_cast<uint64_t>(hi - lo) + 1));
  }
  bool PerMille(uint32_t p) { return Below(1000) < p; }

 private:
  uint64_t state_;
};

// ---------------------------------------------------------------------------------------------
// The fixed world: 32 networks (20 adults, 11 children, the German-speaking mixed one) with a
// relative size that shares out the care (and so the budgets) between them.

enum class Profession : uint8_t { kPsychologist, kOrthopedagogue, kOther };
enum class Location : uint8_t { kPractice, kOutreach, kVideo, kHome, kSchool };

constexpr const char* kPopulationNames[] = {"children", "adults", "mixed"};
constexpr const char* kProfessionNames[] = {"psychologist", "orthopedagogue", "other"};
constexpr const char* kFunctionNames[] = {"support", "treatment"};
constexpr const char* kLocationNames[] = {"practice", "outreach", "video", "home", "school"};
constexpr const char* kMissionKinds[] = {"case_support", "co_consultation", "knowledge_sharing",
                                         "outreach_coordination"};
constexpr const char* kHosts[] = {"secondary school",
                                  "primary school",
                                  "public social welfare centre",
                                  "youth centre",
                                  "community health centre",
                                  "sports club",
                                  "public library",
                                  "reception centre for asylum seekers",
                                  "local employment office"};
constexpr const char* kExceptionReasons[] = {"clinical need documented by the network coordinator",
                                             "continuity of care during a crisis period"};
struct Role {
  const char* name;
  bool care_provider;
};
constexpr Role kConcertationRoles[] = {{"general_practitioner", true},
                                       {"psychiatrist", true},
                                       {"social_worker", true},
                                       {"school_counsellor", false},
                                       {"teacher", false}};
// Voids: the first kCorrectableReasons are followed by a corrected session.
constexpr const char* kVoidReasons[] = {"wrong duration recorded", "wrong location recorded",
                                        "session did not take place", "duplicate entry",
                                        "recorded for the wrong beneficiary"};
constexpr uint32_t kCorrectableReasons = 2;

struct NetworkSpec {
  const char* id;
  const char* name;
  Population population;
  int32_t weight;  // relative size (budget and care)
};

constexpr NetworkSpec kNetworks[] = {
    {"N-ADULT-01", "Antwerpen adults", Population::kAdults, 62},
    {"N-ADULT-02", "Kempen adults", Population::kAdults, 48},
    {"N-ADULT-03", "Mechelen-Rupel adults", Population::kAdults, 34},
    {"N-ADULT-04", "Limburg adults", Population::kAdults, 58},
    {"N-ADULT-05", "Gent-Eeklo adults", Population::kAdults, 52},
    {"N-ADULT-06", "Waas en Dender adults", Population::kAdults, 38},
    {"N-ADULT-07", "Zuid-Oost-Vlaanderen adults", Population::kAdults, 40},
    {"N-ADULT-08", "Noord-West-Vlaanderen adults", Population::kAdults, 36},
    {"N-ADULT-09", "Zuid-West-Vlaanderen adults", Population::kAdults, 40},
    {"N-ADULT-10", "Midden-West-Vlaanderen adults", Population::kAdults, 24},
    {"N-ADULT-11", "Leuven-Tervuren adults", Population::kAdults, 36},
    {"N-ADULT-12", "Halle-Vilvoorde adults", Population::kAdults, 42},
    {"N-ADULT-13", "Brussels adults", Population::kAdults, 75},
    {"N-ADULT-14", "Brabant wallon adults", Population::kAdults, 26},
    {"N-ADULT-15", "Hainaut occidental adults", Population::kAdults, 22},
    {"N-ADULT-16", "Mons-Centre adults", Population::kAdults, 34},
    {"N-ADULT-17", "Charleroi-Thudinie adults", Population::kAdults, 30},
    {"N-ADULT-18", "Namur adults", Population::kAdults, 32},
    {"N-ADULT-19", "Liege adults", Population::kAdults, 62},
    {"N-ADULT-20", "Luxembourg adults", Population::kAdults, 20},
    {"N-CHILD-01", "Antwerpen children and adolescents", Population::kChildren, 40},
    {"N-CHILD-02", "Limburg children and adolescents", Population::kChildren, 18},
    {"N-CHILD-03", "Oost-Vlaanderen children and adolescents", Population::kChildren, 30},
    {"N-CHILD-04", "West-Vlaanderen children and adolescents", Population::kChildren, 24},
    {"N-CHILD-05", "Vlaams-Brabant children and adolescents", Population::kChildren, 22},
    {"N-CHILD-06", "Brussels children and adolescents", Population::kChildren, 26},
    {"N-CHILD-07", "Brabant wallon children and adolescents", Population::kChildren, 9},
    {"N-CHILD-08", "Hainaut children and adolescents", Population::kChildren, 28},
    {"N-CHILD-09", "Liege children and adolescents", Population::kChildren, 22},
    {"N-CHILD-10", "Luxembourg children and adolescents", Population::kChildren, 6},
    {"N-CHILD-11", "Namur children and adolescents", Population::kChildren, 10},
    {"N-MIXED-DG", "Ostbelgien (German-speaking community)", Population::kMixed, 5},
};
constexpr size_t kNetworkCount = std::size(kNetworks);
static_assert(kNetworkCount == 32);

struct AgeBand {
  int32_t lo, hi, weight;  // years, inclusive
};
// Children networks: up to 23, a few over. Adults: from 15, a few under. Mixed: all ages.
constexpr AgeBand kChildrenAges[] = {
    {3, 5, 5}, {6, 11, 22}, {12, 17, 43}, {18, 23, 27}, {24, 26, 3}};
constexpr AgeBand kAdultAges[] = {{10, 14, 2},  {15, 17, 5},  {18, 25, 24},
                                  {26, 40, 34}, {41, 60, 27}, {61, 85, 8}};
constexpr AgeBand kMixedAges[] = {{3, 11, 12},  {12, 17, 18}, {18, 25, 16},
                                  {26, 40, 24}, {41, 60, 22}, {61, 85, 8}};

// ---------------------------------------------------------------------------------------------
// Dates and text.

// a * b / c rounded down, for a >= 0 and b, c > 0 with b * c within int64_t (a * b may not be).
inline int64_t MulDiv(int64_t a, int64_t b, int64_t c) { return a / c * b + a % c * b / c; }

inline int32_t Weekday(CivilDay day) { return ((day + 3) % 7 + 7) % 7; }  // 0 Monday .. 6 Sunday
constexpr int32_t kSunday = 6;
constexpr int32_t kSaturday = 5;

inline void AppendDigits(char* out, int64_t value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

inline void WriteDate(char out[10], CivilDay day) {
  const CivilDate d = FromDay(day);
  AppendDigits(out, d.year, 4);
  out[4] = '-';
  AppendDigits(out + 5, d.month, 2);
  out[7] = '-';
  AppendDigits(out + 8, d.day, 2);
}

inline void AppendInt(std::string& s, int64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  s.append(buf, r.ptr);
}

inline void AppendDate(std::string& s, CivilDay day) {
  char buf[10];
  WriteDate(buf, day);
  s.append(buf, sizeof buf);
}

// `,"key":"text"`. Every text written here is ours and needs no JSON escaping.
inline void FieldStr(std::string& s, std::string_view key, std::string_view text) {
  s += ",\"";
  s += key;
  s += "\":\"";
  s += text;
  s += '"';
}

inline void FieldInt(std::string& s, std::string_view key, int64_t v) {
  s += ",\"";
  s += key;
  s += "\":";
  AppendInt(s, v);
}

// ---------------------------------------------------------------------------------------------
// People, providers, and what is in care.

struct Person {
  char niss[11];
  char birth[10];  // YYYY-MM-DD
  bool bim;
  CivilDay birth_day;
  CivilDay assessed = INT32_MAX;  // a planned first assessment in the network (for Plan)
};

inline void AppendPerson(std::string& s, const Person& p) {
  s += "{\"niss\":\"";
  s.append(p.niss, sizeof p.niss);
  s += "\",\"birth_date\":\"";
  s.append(p.birth, sizeof p.birth);
  s += p.bim ? "\",\"bim\":true}" : "\",\"bim\":false}";
}

inline void FieldPerson(std::string& s, std::string_view key, const Person& p) {
  s += ",\"";
  s += key;
  s += "\":";
  AppendPerson(s, p);
}

constexpr CivilDay kNever = INT32_MAX;

struct Provider {
  std::string id;
  uint32_t network;
  Profession profession;
  CivilDay enrolled;
  CivilDay left;  // kNever when the provider stays

  bool EnrolledOn(CivilDay day) const { return enrolled <= day && day <= left; }
};

constexpr size_t kRecentPeople = 8;

struct Network {
  std::vector<uint32_t> clinical;  // psychologists and orthopedagogues; [0] and [1] never leave
  std::vector<uint32_t> others;
  std::array<Person, kRecentPeople> recent;  // people who started individual care lately
  size_t recent_count = 0;
};

constexpr size_t kGroupSizeMax = 8;

enum class EntityKind : uint8_t { kIndividual, kGroup };
enum class Step : uint8_t { kAssessment, kSession, kConcertation, kException };
enum class FollowUp : uint8_t { kNone, kTreatment, kRepeat };

// One beneficiary's individual care, or one therapy group, while it lasts. Its choices come
// from its own Rng, so that its whole future can be counted in advance (Generator::Planned).
struct Entity {
  Rng rng;
  CivilDay day = 0;         // the day of the next step
  int32_t pending_gap = 0;  // after an interposed step: days left to the next session
  uint32_t provider[2] = {0, 0};
  EntityKind kind = EntityKind::kIndividual;
  Step next = Step::kSession;
  FollowUp follow_up = FollowUp::kNone;
  Function function = Function::kSupport;
  Location location = Location::kPractice;
  bool cpms = false;
  uint8_t network = 0;
  uint8_t people_count = 0;
  uint8_t facilitator_count = 0;
  uint8_t sessions_left = 0;
  uint8_t sessions_done = 0;
  uint8_t concertation_after = 0;  // 0: none
  uint8_t exception_after = 0;     // 0: none
  uint8_t gap_days = 7;
  int16_t minutes = 60;
  uint32_t group = 0;  // a group: where its participants are (Generator::groups_)
  Person person{};     // individual care: the beneficiary
};

using Participants = std::array<Person, kGroupSizeMax>;

enum class ActionKind : uint8_t { kAssessment, kIndividual, kGroup, kConcertation, kException };

// One event an entity's step produces, with everything needed to write it later.
struct Action {
  ActionKind kind = ActionKind::kIndividual;
  Function function = Function::kSupport;
  Location location = Location::kPractice;
  bool cpms = false;
  bool with_context = false;
  bool voided = false;
  uint8_t person = 0;         // assessment: which participant
  uint8_t attendance = 0;     // group session: bit i = participant i is present
  uint8_t units = 0;          // concertation
  uint8_t reason = 0;         // index into kVoidReasons / kExceptionReasons / kConcertationRoles
  uint8_t extra_role = 0xff;  // concertation: a fourth participant's role, 0xff for none
  int16_t minutes = 0;
  CivilDay day = 0;
  CivilDay release = 0;      // > day: recorded late, written when the simulation reaches it
  CivilDay void_day = 0;     // when voided
  int64_t co_provider = -1;  // concertation: a second provider of the network, or -1

  bool corrected() const { return voided && reason < kCorrectableReasons; }
  int64_t events() const { return 1 + (voided ? 1 : 0) + (corrected() ? 1 : 0); }
};

struct Actions {
  std::array<Action, kGroupSizeMax> items;
  size_t size = 0;

  Action& Add(ActionKind kind, CivilDay day) {
    assert(size < items.size());
    Action& a = items[size++];
    a = Action{};
    a.kind = kind;
    a.day = day;
    return a;
  }
};

struct CalendarItem {
  enum Kind : uint8_t { kBudget, kEnrolled, kLeft } kind;
  CivilDay day;
  uint32_t index;  // network (budget) or provider
  int32_t year;
  int64_t cents;                 // filled in by SizeBudgets
  int32_t revision_percent = 0;  // a revision on 1 July: this much above the January figure
};

struct HeapItem {
  CivilDay day;
  uint64_t order;
  uint32_t slot;
  // std heaps are max-heaps: "greater" puts the earliest day, then the first pushed, on top.
  bool operator<(const HeapItem& o) const { return day != o.day ? day > o.day : order > o.order; }
};

struct Deferred {
  CivilDay day;
  uint64_t order;
  std::string line;
  bool operator<(const Deferred& o) const { return day != o.day ? day > o.day : order > o.order; }
};

// ---------------------------------------------------------------------------------------------

// What a start plans: its events (up to the end of the history) and their insurer spend.
struct Planned {
  int64_t events = 0;
  int64_t spend = 0;
  CivilDay first_assessment = INT32_MAX;  // individual care
};

// A community intervention or a support mission, drawn before it is priced and written.
struct CommunityPlan {
  std::array<uint32_t, 3> facilitators{};
  size_t count = 0;
  int32_t minutes = 0, interaction_minutes = 0, participants = 0;
  bool defined_group = false;
  size_t host = 0;
};
struct MissionPlan {
  uint32_t provider = 0;
  int32_t minutes = 0;
  size_t kind = 0;
};

enum class StartKind : uint8_t { kCommunity, kMission, kGroup, kIndividual };

class Generator {
 public:
  Generator(const GeneratorOptions& o, const EventSink& sink);
  GeneratorStats Run();

 private:
  // Set-up: the fixed part of the history.
  void SetUpProviders();
  void AddProvider(uint32_t n, size_t i, CivilDay span);
  void PlanTargets();
  void PlanBudgets();
  void PlanBudgetRevisions(int32_t year);
  void SizeBudgets();
  std::vector<int64_t> ForecastSpend() const;
  void SampleMonth(CivilDay first, CivilDay last, StartKind kind, int64_t samples, Rng& r,
                   int64_t* events, std::vector<int64_t>* spend) const;
  int64_t DayWeight(CivilDay day) const;

  // The day loop.
  void WriteCalendar(CivilDay through);
  void WriteCalendarItem(const CalendarItem& c);
  void ReleaseDeferred(CivilDay through);
  void StartArrivals(CivilDay today);
  int64_t StartOne(CivilDay today);
  Planned StartIndividual(CivilDay today, uint32_t n, std::vector<int64_t>* by_year);
  Planned StartGroup(CivilDay today, uint32_t n, std::vector<int64_t>* by_year);
  Planned Admit(const Entity& e, std::vector<int64_t>* by_year);
  void RunCare(CivilDay today);

  // People and providers.
  uint32_t SteerNetwork(size_t year) const;
  uint32_t PickNetwork(Rng& r) const;
  const Person& PersonOf(const Entity& e, size_t i) const {
    return e.kind == EntityKind::kGroup ? groups_[e.group][i] : e.person;
  }
  CivilDay DrawBirth(Population population, CivilDay today, Rng& r) const;
  Person NewPerson(Population population, CivilDay today);
  Person SamplePerson(Population population, CivilDay today, Rng& r) const;
  int64_t PickFrom(const std::vector<uint32_t>& pool, CivilDay day, Rng& r,
                   int64_t exclude = -1) const;
  uint32_t PickClinical(uint32_t n, CivilDay day, Rng& r, int64_t exclude = -1) const;

  // What starts: drawn from `r` (the main Rng, or the forecast's own), from the fixed world.
  static StartKind KindOf(uint64_t per_mille, bool convention_2024);
  Entity DrawIndividual(CivilDay today, uint32_t n, const Person& person, Rng& r) const;
  template <typename NewParticipant>
  Entity DrawGroup(CivilDay today, uint32_t n, Rng& r, Participants* people,
                   NewParticipant&& participant) const;
  CommunityPlan DrawCommunity(CivilDay day, uint32_t n, Rng& r) const;
  MissionPlan DrawMission(CivilDay day, uint32_t n, Rng& r) const;
  int64_t CostOf(const CommunityPlan& c, CivilDay day) const;
  int64_t CostOf(const MissionPlan& m, CivilDay day) const;

  // An entity's life. StepOnce() depends only on the entity and the fixed world (networks,
  // providers), never on what was written, so Plan() can run it ahead on a copy, counting its
  // events and pricing them (spend by care year into `by_year` from `first_year`, if given).
  Planned Plan(Entity e, std::span<const Person> people, std::vector<int64_t>* by_year,
               int32_t first_year) const;
  void Price(const Entity& e, const Action& a, gen::CareCost& cost) const;
  bool StepOnce(Entity& e, Actions& out) const;
  bool StepIndividual(Entity& e, Actions& out) const;
  bool StepGroup(Entity& e, Actions& out) const;
  bool AfterSession(Entity& e) const;
  bool FollowUpOrEnd(Entity& e) const;
  void PlanTrajectory(Entity& e) const;
  void PlanGroup(Entity& e) const;
  void AddIndividualSessions(Entity& e, Actions& out) const;
  void AddConcertation(Entity& e, Actions& out) const;
  void MaybeVoidOrLate(Rng& r, Action& a, uint32_t void_per_mille, uint32_t late_per_mille) const;
  bool Advance(Entity& e, int32_t gap) const;
  int32_t NextGap(Entity& e) const;
  int32_t SupportCounter(const Entity& e) const;

  // Writing.
  void Begin(const char* tag, const char* type, CivilDay day);
  void End() { line_ += '}'; }
  void Emit(std::string_view line);
  void Defer(CivilDay day, std::string line);
  void Render(const Entity& e, const Action& a);
  void WriteIndividual(const Entity& e, const Action& a, CivilDay day, int16_t minutes,
                       Location location);
  void WriteGroup(const Entity& e, const Action& a, int16_t minutes, Location location);
  std::string CurrentId() const;
  void WriteConcertation(const Entity& e, const Action& a);
  void WriteVoid(const Entity& e, const Action& a, const std::string& target);
  void WriteFacilitators(const uint32_t* providers, size_t count);
  void WriteCommunity(CivilDay day, uint32_t n, const CommunityPlan& c);
  void WriteMission(CivilDay day, uint32_t n, const MissionPlan& m);

  const GeneratorOptions o_;
  const EventSink& sink_;
  Rng rng_;
  std::string seed_text_;
  CivilDay registered_on_ = 0;
  CivilDay convention_2024_ = 0;
  CivilDay birth_base_ = 0;
  int32_t first_year_ = 0, last_year_ = 0;
  gen::Tariff tariff_;

  std::vector<Network> networks_;
  std::vector<Provider> providers_;
  std::vector<CalendarItem> calendar_;
  size_t calendar_next_ = 0;
  std::vector<uint16_t> serials_;  // NISS serials issued, per birth day since birth_base_
  std::array<uint32_t, kNetworkCount> network_cumulative_weight_{};

  // Budgets: the consumption each network-year is sized for, per mille, by year from
  // first_year_; the networks that run out of their budget from the second year on.
  std::vector<std::array<int32_t, kNetworkCount>> target_per_mille_;
  std::array<bool, kNetworkCount> saturating_{};
  // What the care started so far will cost by care year (from first_year_) and network, plus a
  // cent per event (SteerNetwork); the sum over networks; a start's own, by year.
  std::vector<std::array<int64_t, kNetworkCount>> planned_spend_;
  std::vector<int64_t> planned_spend_total_;
  std::vector<int64_t> start_spend_;

  std::vector<Entity> slots_;
  std::vector<uint32_t> free_slots_;
  std::vector<Participants> groups_;  // kept apart: most entities are one person
  std::vector<uint32_t> free_groups_;
  std::vector<HeapItem> heap_;
  std::vector<Deferred> deferred_;
  uint64_t order_ = 0;

  int64_t care_target_ = 0;
  int64_t care_planned_ = 0;
  int64_t total_weight_ = 0;
  int64_t cumulative_weight_ = 0;
  uint64_t next_id_ = 0;
  std::string line_;
  GeneratorStats stats_;
};

// `participant(i, people)` gives participant i, people[0..i) being those before.
template <typename NewParticipant>
inline Entity Generator::DrawGroup(CivilDay today, uint32_t n, Rng& r, Participants* people,
                                   NewParticipant&& participant) const {
  Entity e;
  e.rng = Rng(r.Next());
  e.kind = EntityKind::kGroup;
  e.network = static_cast<uint8_t>(n);
  e.day = today;
  e.function = r.PerMille(750) ? Function::kSupport : Function::kTreatment;
  e.people_count = static_cast<uint8_t>(r.PerMille(80) ? 3 : r.Range(4, 8));
  for (uint8_t i = 0; i < e.people_count; ++i) (*people)[i] = participant(i, *people);
  e.provider[0] = PickClinical(n, today, r);
  e.facilitator_count = r.PerMille(650) ? 2 : 1;
  if (e.facilitator_count == 2) {
    const int64_t other = r.PerMille(500) ? PickFrom(networks_[n].others, today, r) : -1;
    e.provider[1] =
        other >= 0 ? static_cast<uint32_t>(other) : PickClinical(n, today, r, e.provider[0]);
  }
  PlanGroup(e);
  return e;
}

}  // namespace ledger::generator_internal
