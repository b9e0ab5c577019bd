#include "generator/generator.h"

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
#include "generator/tariff.h"

namespace ledger {
namespace {

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
int64_t MulDiv(int64_t a, int64_t b, int64_t c) { return a / c * b + a % c * b / c; }

int32_t Weekday(CivilDay day) { return ((day + 3) % 7 + 7) % 7; }  // 0 Monday .. 6 Sunday
constexpr int32_t kSunday = 6;
constexpr int32_t kSaturday = 5;

void AppendDigits(char* out, int64_t value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

void WriteDate(char out[10], CivilDay day) {
  const CivilDate d = FromDay(day);
  AppendDigits(out, d.year, 4);
  out[4] = '-';
  AppendDigits(out + 5, d.month, 2);
  out[7] = '-';
  AppendDigits(out + 8, d.day, 2);
}

void AppendInt(std::string& s, int64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  s.append(buf, r.ptr);
}

void AppendDate(std::string& s, CivilDay day) {
  char buf[10];
  WriteDate(buf, day);
  s.append(buf, sizeof buf);
}

// `,"key":"text"`. Every text written here is ours and needs no JSON escaping.
void FieldStr(std::string& s, std::string_view key, std::string_view text) {
  s += ",\"";
  s += key;
  s += "\":\"";
  s += text;
  s += '"';
}

void FieldInt(std::string& s, std::string_view key, int64_t v) {
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

void AppendPerson(std::string& s, const Person& p) {
  s += "{\"niss\":\"";
  s.append(p.niss, sizeof p.niss);
  s += "\",\"birth_date\":\"";
  s.append(p.birth, sizeof p.birth);
  s += p.bim ? "\",\"bim\":true}" : "\",\"bim\":false}";
}

void FieldPerson(std::string& s, std::string_view key, const Person& p) {
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

Generator::Generator(const GeneratorOptions& o, const EventSink& sink)
    : o_(o), sink_(sink), rng_(o.seed ^ 0x6c65646765722d67ULL) {
  seed_text_ = std::to_string(o.seed);
  // Registered with the 2021 convention, or before the first event of a history that starts
  // earlier (its first budget is dated 1 January).
  registered_on_ = std::min({o.from, ToDay({2021, 9, 1}), ToDay({FromDay(o.from).year, 1, 1})});
  convention_2024_ = ToDay({2024, 4, 1});
  birth_base_ = ToDay({1900, 1, 1});
  first_year_ = FromDay(o.from).year;
  last_year_ = FromDay(o.to).year;
  const size_t years = static_cast<size_t>(last_year_ - first_year_ + 1);
  planned_spend_.resize(years);
  planned_spend_total_.resize(years);
  start_spend_.resize(years);
  serials_.assign(static_cast<size_t>(o.to - birth_base_ + 1), 0);
  networks_.resize(kNetworkCount);
  uint32_t cumulative = 0;
  for (size_t n = 0; n < kNetworkCount; ++n) {
    cumulative += static_cast<uint32_t>(kNetworks[n].weight);
    network_cumulative_weight_[n] = cumulative;
  }
  line_.reserve(4096);
}

// --- set-up ----------------------------------------------------------------------------------

void Generator::SetUpProviders() {
  // About one provider per thousand events, at least two per network (both stay throughout:
  // every network always has someone enrolled) and more for the demo sizes.
  const int64_t per_network_min = std::clamp<int64_t>(o_.events_target / 4000, 2, 6);
  const int64_t weight_sum = network_cumulative_weight_.back();
  const CivilDay span = o_.to - o_.from;
  for (uint32_t n = 0; n < kNetworkCount; ++n) {
    const int64_t count =
        std::max(per_network_min, o_.events_target * kNetworks[n].weight / weight_sum / 1000);
    for (int64_t i = 0; i < count; ++i) AddProvider(n, static_cast<size_t>(i), span);
  }
  stats_.providers = providers_.size();
}

void Generator::AddProvider(uint32_t n, size_t i, CivilDay span) {
  Provider p;
  p.id = "P-" + std::to_string(100001 + providers_.size());
  p.network = n;
  const Population pop = kNetworks[n].population;
  // Children networks employ many orthopedagogues; `other` professionals co-lead groups.
  const uint32_t ortho = pop == Population::kChildren ? 350 : pop == Population::kMixed ? 200 : 40;
  const uint32_t other = pop == Population::kAdults ? 80 : 100;
  const uint64_t r = rng_.Below(1000);
  p.profession = r < ortho           ? Profession::kOrthopedagogue
                 : r < ortho + other ? Profession::kOther
                                     : Profession::kPsychologist;
  if (i == 0) p.profession = Profession::kPsychologist;
  if (i == 1) {
    p.profession =
        pop == Population::kAdults ? Profession::kPsychologist : Profession::kOrthopedagogue;
  }
  p.enrolled = registered_on_;
  p.left = kNever;
  if (i >= 2) {
    if (rng_.PerMille(880)) {  // enrolled before the history starts
      p.enrolled +=
          static_cast<CivilDay>(rng_.Below(static_cast<uint64_t>(o_.from - registered_on_) + 1));
    } else {  // joined later
      p.enrolled = o_.from + 1 + static_cast<CivilDay>(rng_.Below(std::max(1, span * 2 / 3)));
      p.enrolled = std::min(p.enrolled, o_.to);
    }
    const CivilDay earliest_leave = std::max(p.enrolled, o_.from) + 60;
    if (rng_.PerMille(60) && earliest_leave < o_.to) {
      p.left = earliest_leave +
               static_cast<CivilDay>(rng_.Below(static_cast<uint64_t>(o_.to - earliest_leave)));
    }
  }
  const uint32_t index = static_cast<uint32_t>(providers_.size());
  (p.profession == Profession::kOther ? networks_[n].others : networks_[n].clinical)
      .push_back(index);
  calendar_.push_back({CalendarItem::kEnrolled, p.enrolled, index, 0, 0});
  if (p.left != kNever) calendar_.push_back({CalendarItem::kLeft, p.left, index, 0, 0});
  providers_.push_back(std::move(p));
}

// --- budgets ---------------------------------------------------------------------------------
//
// A network's budget for a year is what its care that year is expected to cost the insurer,
// divided by the share of it the network is meant to consume (drawn here): most networks
// consume 45-87% of their year; two or three large adult networks saturate progressively,
// near 90% the first year, then 122-135%, running out in the autumn (the seeds of the rule book
// report saturation in adult networks). The cost is forecast on set-up, before any care is
// written: care is shared out between networks by their weights (SteerNetwork), so a network's
// expected cost is its weight's share of the national forecast (ForecastSpend). A year the
// history covers only in part is sized for the whole year at the rate of its part.

// Per mille of the year's cost each network-year is sized to consume.
void Generator::PlanTargets() {
  Rng r(o_.seed ^ 0x6275646765747321ULL);  // its own stream: "budgets!"
  std::vector<uint32_t> adults;
  for (uint32_t n = 0; n < kNetworkCount; ++n) {
    if (kNetworks[n].population == Population::kAdults) adults.push_back(n);
  }
  std::stable_sort(adults.begin(), adults.end(), [](uint32_t a, uint32_t b) {
    return kNetworks[a].weight > kNetworks[b].weight;
  });
  adults.resize(std::min<size_t>(adults.size(), 8));  // the largest: the least erratic
  const size_t saturating = 2 + r.Below(2);
  for (size_t i = 0; i < saturating; ++i) {
    std::swap(adults[i], adults[i + r.Below(adults.size() - i)]);
    saturating_[adults[i]] = true;
  }
  std::array<int32_t, kNetworkCount> base{};
  for (uint32_t n = 0; n < kNetworkCount; ++n) base[n] = r.Range(500, 820);
  for (int32_t k = 0; k <= last_year_ - first_year_; ++k) {
    auto& year = target_per_mille_.emplace_back();
    for (uint32_t n = 0; n < kNetworkCount; ++n) {
      // Saturation grows: 122-135% from the second year, somewhat more each year.
      const int32_t rising = std::min(1350, 1220 + 30 * (k - 1) + r.Range(0, 40));
      year[n] = !saturating_[n] ? base[n] + r.Range(-50, 50) : k == 0 ? r.Range(880, 950) : rising;
    }
  }
}

// One budget per network on 1 January of every year of the history (its figure is set by
// SizeBudgets, once the care to come is forecast), and the revisions of PlanBudgetRevisions.
void Generator::PlanBudgets() {
  for (int32_t year = first_year_; year <= last_year_; ++year) {
    for (uint32_t n = 0; n < kNetworkCount; ++n) {
      calendar_.push_back({CalendarItem::kBudget, ToDay({year, 1, 1}), n, year, 0});
    }
    PlanBudgetRevisions(year);
  }
}

// From 2023, two networks a year get a revised allocation on 1 July (it replaces the first):
// 1 to 5% more. Never a saturating network: those run out as planned.
void Generator::PlanBudgetRevisions(int32_t year) {
  const CivilDay july = ToDay({year, 7, 1});
  if (year < 2023 || july < o_.from || july > o_.to) return;
  std::vector<uint32_t> candidates;
  for (uint32_t n = 0; n < kNetworkCount; ++n) {
    if (!saturating_[n]) candidates.push_back(n);
  }
  for (int i = 0; i < 2; ++i) {
    const size_t pick = static_cast<size_t>(i) + rng_.Below(candidates.size() - i);
    std::swap(candidates[static_cast<size_t>(i)], candidates[pick]);
    CalendarItem revision{CalendarItem::kBudget, july, candidates[static_cast<size_t>(i)], year, 0};
    revision.revision_percent = rng_.Range(1, 5);
    calendar_.push_back(revision);
  }
}

void Generator::SizeBudgets() {
  const std::vector<int64_t> forecast = ForecastSpend();
  const int64_t weight_sum = network_cumulative_weight_.back();
  // By year: the weight of the days the history covers and of the whole year.
  const size_t years = static_cast<size_t>(last_year_ - first_year_ + 1);
  std::vector<int64_t> covered(years, 0), whole(years, 0);
  for (CivilDay d = ToDay({first_year_, 1, 1}); d <= ToDay({last_year_, 12, 31}); ++d) {
    const size_t y = static_cast<size_t>(FromDay(d).year - first_year_);
    whole[y] += DayWeight(d);
    if (d >= o_.from && d <= o_.to) covered[y] += DayWeight(d);
  }
  std::vector<std::array<int64_t, kNetworkCount>> january(years);
  for (CalendarItem& c : calendar_) {
    if (c.kind != CalendarItem::kBudget) continue;
    const size_t y = static_cast<size_t>(c.year - first_year_);
    if (c.revision_percent > 0) {  // after its January figure: the calendar is in date order
      c.cents = january[y][c.index] + january[y][c.index] * c.revision_percent / 100;
      continue;
    }
    const int64_t year_cost = covered[y] > 0 ? MulDiv(forecast[y], whole[y], covered[y]) : 0;
    const int64_t network_cost = year_cost * kNetworks[c.index].weight / weight_sum;
    c.cents = network_cost * 1000 / target_per_mille_[y][c.index];
    january[y][c.index] = c.cents;
  }
}

// The national insurer spend of care dated in each year (index: year - first_year_), forecast
// from samples of the care that starts in each month: the same draws and pricing as real care
// (from an Rng of its own, so the history itself is untouched), scaled to the events the month
// plans (StartArrivals). Integer arithmetic only, as everything here.
std::vector<int64_t> Generator::ForecastSpend() const {
  const size_t years = static_cast<size_t>(last_year_ - first_year_ + 1);
  std::vector<int64_t> forecast(years, 0);
  if (total_weight_ == 0) return forecast;
  Rng r(o_.seed ^ 0x666f726563617374ULL);  // "forecast"
  // Samples per month by kind of start (stratified: groups are rare and costly); the largest
  // count is a multiple of the others.
  constexpr std::array<int64_t, 4> kSamples = {32, 32, 128, 256};  // by StartKind
  constexpr int64_t kScale = kSamples[3];
  int64_t weight_before = 0;
  for (CivilDay first = o_.from; first <= o_.to;) {
    const CivilDate f = FromDay(first);
    const CivilDay next_month = ToDay({f.month == 12 ? f.year + 1 : f.year, f.month % 12 + 1, 1});
    const CivilDay last = std::min(o_.to, next_month - 1);
    int64_t month_weight = 0;
    for (CivilDay d = first; d <= last; ++d) month_weight += DayWeight(d);
    const int64_t planned = care_target_ * (weight_before + month_weight) / total_weight_ -
                            care_target_ * weight_before / total_weight_;
    weight_before += month_weight;
    if (month_weight > 0 && planned > 0) {
      // Per mille of starts by kind, as StartOne draws them.
      std::array<int64_t, 4> share{};
      for (uint64_t x = 0; x < 1000; ++x) {
        ++share[static_cast<size_t>(KindOf(x, first >= convention_2024_))];
      }
      int64_t events = 0;
      std::vector<int64_t> spend(years, 0);
      for (size_t k = 0; k < kSamples.size(); ++k) {
        int64_t kind_events = 0;
        std::vector<int64_t> kind_spend(years, 0);
        SampleMonth(first, last, static_cast<StartKind>(k), kSamples[k], r, &kind_events,
                    &kind_spend);
        const int64_t w = share[k] * (kScale / kSamples[k]);
        events += w * kind_events;
        for (size_t y = 0; y < years; ++y) spend[y] += w * kind_spend[y];
      }
      // Cents per planned event, in 1/1024 (events > 0: each start has one).
      for (size_t y = 0; y < years; ++y) forecast[y] += planned * (spend[y] * 1024 / events) / 1024;
    }
    first = next_month;
  }
  return forecast;
}

// `samples` starts of one kind on days of [first, last] drawn by their weight, in networks
// drawn by theirs: their events and their spend by care year, added up.
void Generator::SampleMonth(CivilDay first, CivilDay last, StartKind kind, int64_t samples, Rng& r,
                            int64_t* events, std::vector<int64_t>* spend) const {
  int64_t month_weight = 0;
  for (CivilDay d = first; d <= last; ++d) month_weight += DayWeight(d);
  for (int64_t i = 0; i < samples; ++i) {
    int64_t pick = static_cast<int64_t>(r.Below(static_cast<uint64_t>(month_weight)));
    CivilDay day = first;
    while (pick >= DayWeight(day)) pick -= DayWeight(day++);
    const uint32_t n = PickNetwork(r);
    const Population population = kNetworks[n].population;
    const size_t y = static_cast<size_t>(FromDay(day).year - first_year_);
    switch (kind) {
      case StartKind::kCommunity:
        *events += 1;
        (*spend)[y] += CostOf(DrawCommunity(day, n, r), day);
        break;
      case StartKind::kMission:
        *events += 1;
        (*spend)[y] += CostOf(DrawMission(day, n, r), day);
        break;
      case StartKind::kGroup: {
        Participants people{};
        const Entity e = DrawGroup(day, n, r, &people, [&](uint8_t, const Participants&) {
          return SamplePerson(population, day, r);
        });
        *events += Plan(e, {people.data(), e.people_count}, spend, first_year_).events;
        break;
      }
      case StartKind::kIndividual: {
        const Person person = SamplePerson(population, day, r);
        const Entity e = DrawIndividual(day, n, person, r);
        *events += Plan(e, {&e.person, 1}, spend, first_year_).events;
        break;
      }
    }
  }
}

// How much new care starts on a day: none on Sundays, little on Saturdays, less in the summer
// holidays and around new year, and use growing over the years.
int64_t Generator::DayWeight(CivilDay day) const {
  const int32_t weekday = Weekday(day);
  if (weekday == kSunday) return 0;
  const CivilDate d = FromDay(day);
  int64_t season = 10;
  if (d.month == 7 || d.month == 8) season = 7;
  if ((d.month == 12 && d.day >= 24) || (d.month == 1 && d.day == 1)) season = 3;
  // (Days outside the history count too, when a partial year's budget is sized.)
  const int64_t growth =
      std::max<int64_t>(1, 100 + 100 * (day - o_.from) / std::max(1, o_.to - o_.from));
  return growth * (weekday == kSaturday ? 2 : 10) * season;
}

// --- the run ---------------------------------------------------------------------------------

GeneratorStats Generator::Run() {
  SetUpProviders();
  PlanTargets();
  PlanBudgets();
  std::stable_sort(calendar_.begin(), calendar_.end(),
                   [](const CalendarItem& a, const CalendarItem& b) { return a.day < b.day; });
  stats_.fixed_events = kNetworkCount + calendar_.size();
  care_target_ = std::max<int64_t>(0, o_.events_target - static_cast<int64_t>(stats_.fixed_events));
  for (CivilDay d = o_.from; d <= o_.to; ++d) total_weight_ += DayWeight(d);
  SizeBudgets();

  for (uint32_t n = 0; n < kNetworkCount; ++n) {
    Begin("net", "network.registered", registered_on_);
    FieldStr(line_, "network_id", kNetworks[n].id);
    FieldStr(line_, "name", kNetworks[n].name);
    FieldStr(line_, "population", kPopulationNames[static_cast<int>(kNetworks[n].population)]);
    End();
    Emit(line_);
  }
  WriteCalendar(o_.from - 1);
  for (CivilDay today = o_.from; today <= o_.to; ++today) {
    ReleaseDeferred(today);
    WriteCalendar(today);
    StartArrivals(today);
    RunCare(today);
  }
  ReleaseDeferred(kNever);
  // Conservation: every planned event was written, and nothing else.
  assert(calendar_next_ == calendar_.size());
  assert(heap_.empty());
  assert(static_cast<int64_t>(stats_.events) ==
         static_cast<int64_t>(stats_.fixed_events) + care_planned_);
  return stats_;
}

void Generator::WriteCalendar(CivilDay through) {
  while (calendar_next_ < calendar_.size() && calendar_[calendar_next_].day <= through) {
    WriteCalendarItem(calendar_[calendar_next_++]);
  }
}

void Generator::WriteCalendarItem(const CalendarItem& c) {
  switch (c.kind) {
    case CalendarItem::kBudget:
      Begin("bud", "budget.allocated", c.day);
      FieldStr(line_, "network_id", kNetworks[c.index].id);
      FieldInt(line_, "year", c.year);
      FieldInt(line_, "care_budget_cents", c.cents);
      break;
    case CalendarItem::kEnrolled: {
      const Provider& p = providers_[c.index];
      Begin("enr", "provider.enrolled", c.day);
      FieldStr(line_, "provider_id", p.id);
      FieldStr(line_, "network_id", kNetworks[p.network].id);
      FieldStr(line_, "profession", kProfessionNames[static_cast<int>(p.profession)]);
      break;
    }
    case CalendarItem::kLeft: {
      const Provider& p = providers_[c.index];
      Begin("lft", "provider.left", c.day);
      FieldStr(line_, "provider_id", p.id);
      FieldStr(line_, "network_id", kNetworks[p.network].id);
      break;
    }
  }
  End();
  Emit(line_);
}

void Generator::ReleaseDeferred(CivilDay through) {
  while (!deferred_.empty() && deferred_.front().day <= through) {
    std::pop_heap(deferred_.begin(), deferred_.end());
    Emit(deferred_.back().line);
    deferred_.pop_back();
  }
}

// New care starts while the events planned so far stay under the day's share of the target.
// Each start is counted exactly (Plan), so the total lands just above the target.
void Generator::StartArrivals(CivilDay today) {
  if (total_weight_ == 0) return;
  cumulative_weight_ += DayWeight(today);
  const int64_t allowed = care_target_ * cumulative_weight_ / total_weight_;
  while (care_planned_ < allowed) care_planned_ += StartOne(today);
}

StartKind Generator::KindOf(uint64_t per_mille, bool convention_2024) {
  // Per mille of starts; community interventions are billable only from 2024-04-01.
  const uint64_t community = convention_2024 ? 40 : 3;
  const uint64_t mission = convention_2024 ? 70 : 35;
  const uint64_t group = 35;
  if (per_mille < community) return StartKind::kCommunity;
  if (per_mille < community + mission) return StartKind::kMission;
  if (per_mille < community + mission + group) return StartKind::kGroup;
  return StartKind::kIndividual;
}

int64_t Generator::StartOne(CivilDay today) {
  const size_t year = static_cast<size_t>(FromDay(today).year - first_year_);
  const uint32_t n = SteerNetwork(year);
  std::fill(start_spend_.begin(), start_spend_.end(), 0);
  int64_t events = 1;
  switch (KindOf(rng_.Below(1000), today >= convention_2024_)) {
    case StartKind::kCommunity: {
      const CommunityPlan c = DrawCommunity(today, n, rng_);
      start_spend_[year] += CostOf(c, today);
      WriteCommunity(today, n, c);
      break;
    }
    case StartKind::kMission: {
      const MissionPlan m = DrawMission(today, n, rng_);
      start_spend_[year] += CostOf(m, today);
      WriteMission(today, n, m);
      break;
    }
    case StartKind::kGroup:
      events = StartGroup(today, n, &start_spend_).events;
      break;
    case StartKind::kIndividual:
      events = StartIndividual(today, n, &start_spend_).events;
      break;
  }
  // A cent per event too: care that costs nothing (before the convention) is shared out as well.
  start_spend_[year] += events;
  for (size_t y = year; y < start_spend_.size(); ++y) {
    planned_spend_[y][n] += start_spend_[y];
    planned_spend_total_[y] += start_spend_[y];
  }
  return events;
}

Entity Generator::DrawIndividual(CivilDay today, uint32_t n, const Person& person, Rng& r) const {
  Entity e;
  e.rng = Rng(r.Next());
  e.kind = EntityKind::kIndividual;
  e.network = static_cast<uint8_t>(n);
  e.day = today;
  e.person = person;
  e.people_count = 1;
  e.provider[0] = PickClinical(n, today, r);
  e.function = r.PerMille(700) ? Function::kSupport : Function::kTreatment;
  const uint64_t x = r.Below(1000);
  e.follow_up = e.function == Function::kSupport && x < 100 ? FollowUp::kTreatment
                : x >= 950                                  ? FollowUp::kRepeat
                                                            : FollowUp::kNone;
  PlanTrajectory(e);
  return e;
}

Planned Generator::StartIndividual(CivilDay today, uint32_t n, std::vector<int64_t>* by_year) {
  const Person person = NewPerson(kNetworks[n].population, today);
  const Planned planned = Admit(DrawIndividual(today, n, person, rng_), by_year);
  // Remembered for groups, with the assessment a treatment group would need.
  Network& net = networks_[n];
  Person& recent = net.recent[net.recent_count++ % kRecentPeople];
  recent = person;
  recent.assessed = planned.first_assessment;
  return planned;
}

// `participant(i, people)` gives participant i, people[0..i) being those before.
template <typename NewParticipant>
Entity Generator::DrawGroup(CivilDay today, uint32_t n, Rng& r, Participants* people,
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

Planned Generator::StartGroup(CivilDay today, uint32_t n, std::vector<int64_t>* by_year) {
  const Network& net = networks_[n];
  Participants people{};
  Entity e = DrawGroup(today, n, rng_, &people, [&](uint8_t i, const Participants& before) {
    // Some participants are also in individual care in the network.
    const size_t known = std::min(net.recent_count, kRecentPeople);
    if (known > 0 && rng_.PerMille(200)) {
      const Person& p = net.recent[rng_.Below(known)];
      const bool fresh = std::none_of(before.begin(), before.begin() + i, [&](const Person& q) {
        return std::memcmp(q.niss, p.niss, sizeof p.niss) == 0;
      });
      if (fresh) return p;
    }
    return NewPerson(kNetworks[n].population, today);
  });
  if (free_groups_.empty()) {
    e.group = static_cast<uint32_t>(groups_.size());
    groups_.push_back(people);
  } else {
    e.group = free_groups_.back();
    free_groups_.pop_back();
    groups_[e.group] = people;
  }
  return Admit(e, by_year);
}

Planned Generator::Admit(const Entity& e, std::vector<int64_t>* by_year) {
  const Planned planned =
      e.kind == EntityKind::kGroup
          ? Plan(e, {groups_[e.group].data(), e.people_count}, by_year, first_year_)
          : Plan(e, {&e.person, 1}, by_year, first_year_);
  uint32_t slot;
  if (free_slots_.empty()) {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.push_back(e);
  } else {
    slot = free_slots_.back();
    free_slots_.pop_back();
    slots_[slot] = e;
  }
  heap_.push_back({e.day, order_++, slot});
  std::push_heap(heap_.begin(), heap_.end());
  stats_.active_peak = std::max<uint64_t>(stats_.active_peak, heap_.size());
  return planned;
}

void Generator::RunCare(CivilDay today) {
  Actions actions;
  while (!heap_.empty() && heap_.front().day <= today) {
    assert(heap_.front().day == today);  // nothing is left behind
    std::pop_heap(heap_.begin(), heap_.end());
    const uint32_t slot = heap_.back().slot;
    heap_.pop_back();
    Entity& e = slots_[slot];
    actions.size = 0;
    const bool more = StepOnce(e, actions);
    for (size_t i = 0; i < actions.size; ++i) Render(e, actions.items[i]);
    if (more) {
      assert(e.day >= today && e.day <= o_.to);
      heap_.push_back({e.day, order_++, slot});
      std::push_heap(heap_.begin(), heap_.end());
    } else {
      if (e.kind == EntityKind::kGroup) free_groups_.push_back(e.group);
      free_slots_.push_back(slot);
    }
  }
}

// --- people and providers ---------------------------------------------------------------------

// The network furthest behind its weight's share of what the care planned so far costs in
// `year` (care started earlier included): each network's care that year follows its weight
// within about one start, so that its budget, sized from that share, is consumed as planned.
// (Drawn at random, the care of a network scattered its years by 20-30% on the demo.)
uint32_t Generator::SteerNetwork(size_t year) const {
  const int64_t weight_sum = network_cumulative_weight_.back();
  uint32_t best = 0;
  int64_t best_deficit = INT64_MIN;
  for (uint32_t n = 0; n < kNetworkCount; ++n) {
    const int64_t deficit =
        kNetworks[n].weight * planned_spend_total_[year] - planned_spend_[year][n] * weight_sum;
    if (deficit > best_deficit) {
      best = n;
      best_deficit = deficit;
    }
  }
  return best;
}

// A network drawn by weight (the forecast's samples).
uint32_t Generator::PickNetwork(Rng& r) const {
  const uint64_t x = r.Below(network_cumulative_weight_.back());
  uint32_t n = 0;
  while (network_cumulative_weight_[n] <= x) ++n;
  return n;
}

// A birth date for a new person, of an age that fits the network's population (mostly).
CivilDay Generator::DrawBirth(Population population, CivilDay today, Rng& r) const {
  const AgeBand* bands = population == Population::kChildren ? kChildrenAges
                         : population == Population::kAdults ? kAdultAges
                                                             : kMixedAges;
  const size_t band_count = population == Population::kChildren ? std::size(kChildrenAges)
                            : population == Population::kAdults ? std::size(kAdultAges)
                                                                : std::size(kMixedAges);
  int32_t total = 0;
  for (size_t i = 0; i < band_count; ++i) total += bands[i].weight;
  int32_t pick = static_cast<int32_t>(r.Below(static_cast<uint64_t>(total)));
  size_t b = 0;
  while (pick >= bands[b].weight) pick -= bands[b++].weight;
  const int32_t age = r.Range(bands[b].lo, bands[b].hi);
  return today - age * 365 - age / 4 - static_cast<CivilDay>(r.Below(365));
}

// A person of the forecast's samples: a birth date and bim, no NISS.
Person Generator::SamplePerson(Population population, CivilDay today, Rng& r) const {
  Person p{};
  p.birth_day = DrawBirth(population, today, r);
  p.bim = r.PerMille(220);
  return p;
}

// A new person with a NISS of their own: yymmdd, a serial unique for that birth date, and the
// check number.
Person Generator::NewPerson(Population population, CivilDay today) {
  CivilDay birth = DrawBirth(population, today, rng_);
  constexpr uint16_t kSerialsPerDay = 997;
  while (serials_[static_cast<size_t>(birth - birth_base_)] >= kSerialsPerDay) --birth;
  uint16_t& issued = serials_[static_cast<size_t>(birth - birth_base_)];
  // 389 is invertible modulo the prime 997: serials of one birth date are all distinct.
  const int64_t serial = 1 + (int64_t{issued} * 389 + (birth - birth_base_)) % kSerialsPerDay;
  ++issued;

  Person p;
  const CivilDate d = FromDay(birth);
  const int32_t month = d.month + (rng_.PerMille(4) ? 40 : 0);  // a few BIS numbers
  const int64_t base = (int64_t{d.year % 100} * 10000 + month * 100 + d.day) * 1000 + serial;
  const int64_t check = 97 - ((d.year >= 2000 ? 2'000'000'000 : 0) + base) % 97;
  AppendDigits(p.niss, base, 9);
  AppendDigits(p.niss + 9, check, 2);
  WriteDate(p.birth, birth);
  p.birth_day = birth;
  p.bim = rng_.PerMille(220);
  ++stats_.beneficiaries;
  return p;
}

// A provider from `pool`, usually one enrolled on `day`; now and then one who is not (yet or
// any more), which the ledger must refuse to pay. -1 when the pool has nobody but `exclude`.
int64_t Generator::PickFrom(const std::vector<uint32_t>& pool, CivilDay day, Rng& r,
                            int64_t exclude) const {
  if (pool.empty()) return -1;
  for (int attempt = 0; attempt < 4; ++attempt) {
    const uint32_t p = pool[r.Below(pool.size())];
    if (p == exclude) continue;
    if (providers_[p].EnrolledOn(day) || r.PerMille(40)) return p;
  }
  for (uint32_t p : pool) {
    if (p != exclude && providers_[p].EnrolledOn(day)) return p;
  }
  return -1;
}

uint32_t Generator::PickClinical(uint32_t n, CivilDay day, Rng& r, int64_t exclude) const {
  const std::vector<uint32_t>& pool = networks_[n].clinical;
  const int64_t p = PickFrom(pool, day, r, exclude);
  // The two first clinical providers never leave, so this falls back only if `day` precedes
  // registration, which the options rule out.
  return p >= 0 ? static_cast<uint32_t>(p) : pool[pool[0] == exclude ? 1 : 0];
}

// --- an entity's life ------------------------------------------------------------------------

Planned Generator::Plan(Entity e, std::span<const Person> people, std::vector<int64_t>* by_year,
                        int32_t first_year) const {
  std::array<gen::CostPerson, kGroupSizeMax> payers{};
  for (size_t i = 0; i < people.size(); ++i) {
    payers[i] = {people[i].birth_day, people[i].bim, people[i].assessed};
  }
  gen::Spend spend{0, by_year, first_year};
  gen::CareCost cost(tariff_, kNetworks[e.network].population, {payers.data(), people.size()},
                     &spend);
  Planned planned;
  Actions actions;
  bool more = true;
  while (more) {
    actions.size = 0;
    more = StepOnce(e, actions);
    for (size_t i = 0; i < actions.size; ++i) {
      const Action& a = actions.items[i];
      planned.events += a.events();
      Price(e, a, cost);
      if (a.kind == ActionKind::kAssessment && e.kind == EntityKind::kIndividual) {
        planned.first_assessment = std::min(planned.first_assessment, a.day);
      }
    }
  }
  planned.spend = spend.total;
  return planned;
}

// One action as Render writes it, to CareCost: a voided session costs nothing, unless it is
// recorded again (corrected as WriteVoid corrects it).
void Generator::Price(const Entity& e, const Action& a, gen::CareCost& cost) const {
  const auto enrolled = [&](uint32_t p) { return providers_[p].EnrolledOn(a.day); };
  switch (a.kind) {
    case ActionKind::kAssessment:
      return cost.Assessment(e.kind == EntityKind::kGroup ? a.person : 0, a.day);
    case ActionKind::kException:
      return cost.Exception(a.day);
    case ActionKind::kConcertation: {
      std::array<gen::Facilitator, 2> paid{};
      size_t count = 0;
      paid[count++].enrolled = enrolled(e.provider[0]);
      if (a.co_provider >= 0)
        paid[count++].enrolled = enrolled(static_cast<uint32_t>(a.co_provider));
      const bool extra = a.extra_role != 0xff;
      const int32_t participants = static_cast<int32_t>(count) + 1 + (extra ? 1 : 0);
      const int32_t care_providers =
          static_cast<int32_t>(count) + (kConcertationRoles[a.reason].care_provider ? 1 : 0) +
          (extra && kConcertationRoles[a.extra_role].care_provider ? 1 : 0);
      return cost.Concertation(a.day, a.units, participants, care_providers, {paid.data(), count});
    }
    case ActionKind::kIndividual:
    case ActionKind::kGroup:
      break;
  }
  if (a.voided && !a.corrected()) return;
  Location location = a.location;
  if (a.corrected() && a.reason != 0) {
    location = a.location == Location::kPractice ? Location::kVideo : Location::kPractice;
  }
  const bool school_cpms = a.cpms && location == Location::kSchool;
  if (a.kind == ActionKind::kIndividual) {
    return cost.Individual(a.day, a.function, a.with_context, school_cpms, enrolled(e.provider[0]));
  }
  std::array<gen::Facilitator, 2> facilitators{};
  for (size_t i = 0; i < e.facilitator_count; ++i) {
    facilitators[i] = {enrolled(e.provider[i]),
                       providers_[e.provider[i]].profession == Profession::kOther};
  }
  cost.Group(a.day, a.function, school_cpms, a.attendance,
             {facilitators.data(), e.facilitator_count});
}

bool Generator::StepOnce(Entity& e, Actions& out) const {
  switch (e.kind) {
    case EntityKind::kIndividual:
      return StepIndividual(e, out);
    case EntityKind::kGroup:
      return StepGroup(e, out);
  }
  return false;
}

// The individual support counter of the entity's network column (convention.md section 4).
int32_t Generator::SupportCounter(const Entity& e) const {
  switch (kNetworks[e.network].population) {
    case Population::kChildren:
      return 10;
    case Population::kAdults:
      return 8;
    case Population::kMixed:
      return AgeOn(e.person.birth_day, e.day) <= 23 ? 10 : 8;
  }
  return 8;
}

void Generator::PlanTrajectory(Entity& e) const {
  Rng& r = e.rng;
  const int32_t counter = SupportCounter(e);
  const uint64_t x = r.Below(100);
  int32_t sessions;
  if (e.function == Function::kSupport) {
    sessions = x < 8    ? r.Range(1, 2)
               : x < 88 ? r.Range(3, counter)
                        : r.Range(counter + 1, counter + 4);
  } else {
    sessions = x < 8    ? r.Range(1, 2)
               : x < 85 ? r.Range(3, 12)
               : x < 97 ? r.Range(13, 20)
                        : r.Range(21, 24);
  }
  e.sessions_left = static_cast<uint8_t>(sessions);
  e.sessions_done = 0;
  const uint64_t g = r.Below(100);
  e.gap_days = g < 45 ? 7 : g < 80 ? 14 : g < 92 ? 21 : 30;
  const bool young = counter == 10;
  const uint64_t l = r.Below(100);
  e.location = l < 62   ? Location::kPractice
               : l < 78 ? Location::kVideo
               : l < 84 ? Location::kHome
               : l < 90 ? Location::kOutreach
                        : (young ? Location::kSchool : Location::kPractice);
  e.cpms = e.location == Location::kSchool && r.PerMille(700);
  e.minutes = e.function == Function::kTreatment ? (r.PerMille(850) ? 60 : 90)
                                                 : static_cast<int16_t>(r.PerMille(500)   ? 60
                                                                        : r.PerMille(500) ? 50
                                                                                          : 45);
  e.concertation_after = e.function == Function::kTreatment && sessions >= 2 && r.PerMille(250)
                             ? static_cast<uint8_t>(r.Range(1, sessions - 1))
                             : 0;
  e.exception_after = e.function == Function::kSupport && sessions > counter && r.PerMille(400)
                          ? static_cast<uint8_t>(counter)
                          : 0;
  e.next =
      e.function == Function::kTreatment && r.PerMille(880) ? Step::kAssessment : Step::kSession;
}

void Generator::PlanGroup(Entity& e) const {
  Rng& r = e.rng;
  e.sessions_left = static_cast<uint8_t>(r.Range(4, 10));
  e.sessions_done = 0;
  e.gap_days = r.PerMille(700) ? 7 : 14;
  e.minutes = r.PerMille(400) ? 90 : 120;
  const bool children = kNetworks[e.network].population == Population::kChildren;
  const uint64_t l = r.Below(100);
  e.location = l < 55   ? Location::kPractice
               : l < 80 ? Location::kOutreach
               : l < 90 ? Location::kVideo
                        : (children ? Location::kSchool : Location::kPractice);
  e.cpms = e.location == Location::kSchool && r.PerMille(700);
  e.next = e.function == Function::kTreatment ? Step::kAssessment : Step::kSession;
}

// Moves to the next step `gap` days on (Sundays move to Monday). False when it would fall
// after the end of the history: the entity is done.
bool Generator::Advance(Entity& e, int32_t gap) const {
  e.day += gap;
  if (Weekday(e.day) == kSunday) ++e.day;
  return e.day <= o_.to;
}

int32_t Generator::NextGap(Entity& e) const {
  int32_t gap = e.gap_days;
  if (e.rng.PerMille(300)) gap += e.rng.Range(-2, 3);
  if (e.rng.PerMille(50)) gap += e.gap_days;  // a missed appointment
  return std::max(1, gap);
}

bool Generator::StepIndividual(Entity& e, Actions& out) const {
  Rng& r = e.rng;
  switch (e.next) {
    case Step::kAssessment: {
      Action& a = out.Add(ActionKind::kAssessment, e.day);
      a.function = e.function;
      e.next = Step::kSession;
      return Advance(e, r.PerMille(600) ? 0 : r.Range(1, 14));
    }
    case Step::kConcertation:
      AddConcertation(e, out);
      e.next = Step::kSession;
      return Advance(e, e.pending_gap);
    case Step::kException: {
      Action& a = out.Add(ActionKind::kException, e.day);
      a.reason = static_cast<uint8_t>(r.Below(std::size(kExceptionReasons)));
      e.next = Step::kSession;
      return Advance(e, e.pending_gap);
    }
    case Step::kSession:
      AddIndividualSessions(e, out);
      return AfterSession(e);
  }
  return false;
}

// After a session: the next one, a concertation or an exception in between, a follow-up
// trajectory, or the end.
bool Generator::AfterSession(Entity& e) const {
  ++e.sessions_done;
  if (--e.sessions_left == 0) return FollowUpOrEnd(e);
  Rng& r = e.rng;
  const int32_t gap = NextGap(e);
  const int32_t before = r.Range(0, gap - 1);  // days to an interposed step
  if (e.sessions_done == e.concertation_after) {
    e.next = Step::kConcertation;
    e.pending_gap = gap - before;
    return Advance(e, before);
  }
  // An exception is a 2021-convention device: granted only before 2024-04-01.
  if (e.sessions_done == e.exception_after && e.day + before + 1 < convention_2024_) {
    e.next = Step::kException;
    e.pending_gap = gap - before;
    return Advance(e, before);
  }
  e.next = Step::kSession;
  return Advance(e, gap);
}

bool Generator::FollowUpOrEnd(Entity& e) const {
  const FollowUp follow_up = e.follow_up;
  e.follow_up = FollowUp::kNone;
  switch (follow_up) {
    case FollowUp::kNone:
      return false;
    case FollowUp::kTreatment:  // support was not enough: an assessment, then treatment
      e.function = Function::kTreatment;
      PlanTrajectory(e);
      return Advance(e, e.rng.Range(7, 30));
    case FollowUp::kRepeat:  // back after a pause, in a new trajectory
      PlanTrajectory(e);
      return Advance(e, e.rng.Range(90, 450));
  }
  return false;
}

void Generator::AddIndividualSessions(Entity& e, Actions& out) const {
  Rng& r = e.rng;
  Action& a = out.Add(ActionKind::kIndividual, e.day);
  a.function = e.function;
  a.minutes = r.PerMille(100) ? static_cast<int16_t>(r.Range(3, 6) * 15) : e.minutes;
  a.location = r.PerMille(50) ? Location::kVideo : e.location;  // now and then by video
  a.cpms = a.location == Location::kSchool && e.cpms;
  MaybeVoidOrLate(r, a, 4, 20);
  if (r.PerMille(25)) {  // a second session the same day, mostly with the parents or family
    Action& b = out.Add(ActionKind::kIndividual, e.day);
    b.function = e.function;
    b.with_context = r.PerMille(650);
    b.minutes = static_cast<int16_t>(r.PerMille(500) ? 30 : 45);
    b.location = e.location == Location::kVideo ? Location::kVideo : Location::kPractice;
  }
}

void Generator::AddConcertation(Entity& e, Actions& out) const {
  Rng& r = e.rng;
  Action& a = out.Add(ActionKind::kConcertation, e.day);
  const uint64_t u = r.Below(100);
  a.units = u < 15 ? 1 : u < 60 ? 2 : u < 80 ? 3 : 4;
  // Mostly a second provider; with the third participant that makes a valid concertation.
  if (r.PerMille(800)) {
    a.co_provider = PickFrom(networks_[e.network].clinical, e.day, r, e.provider[0]);
  }
  a.reason = static_cast<uint8_t>(r.Below(std::size(kConcertationRoles)));
  if (r.PerMille(300)) {
    a.extra_role = static_cast<uint8_t>(r.Below(std::size(kConcertationRoles)));
  }
}

// A few sessions are voided later (some then recorded again, corrected); a few others are
// recorded late. A voided session is never late: the void must follow its target.
void Generator::MaybeVoidOrLate(Rng& r, Action& a, uint32_t void_per_mille,
                                uint32_t late_per_mille) const {
  if (r.PerMille(void_per_mille)) {
    a.voided = true;
    a.void_day = std::min(a.day + r.Range(1, 30), o_.to);
    a.reason = static_cast<uint8_t>(r.Below(std::size(kVoidReasons)));
  } else if (r.PerMille(late_per_mille)) {
    a.release = std::min(a.day + r.Range(3, 60), o_.to);
  }
}

bool Generator::StepGroup(Entity& e, Actions& out) const {
  Rng& r = e.rng;
  if (e.next == Step::kAssessment) {  // treatment groups: most participants are assessed
    for (uint8_t i = 0; i < e.people_count; ++i) {
      if (!r.PerMille(900)) continue;
      Action& a = out.Add(ActionKind::kAssessment, e.day);
      a.person = i;
    }
    e.next = Step::kSession;
    return Advance(e, r.PerMille(500) ? 0 : r.Range(1, 7));
  }
  Action& a = out.Add(ActionKind::kGroup, e.day);
  a.function = e.function;
  a.minutes = e.minutes;
  a.location = e.location;
  a.cpms = e.location == Location::kSchool && e.cpms;
  for (uint8_t i = 0; i < e.people_count; ++i) {
    if (r.PerMille(950)) a.attendance |= static_cast<uint8_t>(1u << i);
  }
  if (a.attendance == 0) a.attendance = 1;
  MaybeVoidOrLate(r, a, 3, 15);
  ++e.sessions_done;
  if (--e.sessions_left == 0) return false;
  return Advance(e, NextGap(e));
}

// --- writing ---------------------------------------------------------------------------------

void Generator::Begin(const char* tag, const char* type, CivilDay day) {
  line_.clear();
  line_ += "{\"id\":\"g";
  line_ += seed_text_;
  line_ += '-';
  line_ += tag;
  line_ += '-';
  AppendInt(line_, static_cast<int64_t>(++next_id_));
  line_ += "\",\"type\":\"";
  line_ += type;
  line_ += "\",\"occurred_on\":\"";
  AppendDate(line_, day);
  line_ += '"';
}

void Generator::Emit(std::string_view line) {
  ++stats_.events;
  sink_(line);
}

void Generator::Defer(CivilDay day, std::string line) {
  deferred_.push_back({day, order_++, std::move(line)});
  std::push_heap(deferred_.begin(), deferred_.end());
}

void Generator::Render(const Entity& e, const Action& a) {
  const Provider& provider = providers_[e.provider[0]];
  const char* network = kNetworks[e.network].id;
  switch (a.kind) {
    case ActionKind::kAssessment:
      Begin("ass", "assessment.recorded", a.day);
      FieldStr(line_, "provider_id", provider.id);
      FieldStr(line_, "network_id", network);
      FieldPerson(line_, "beneficiary", PersonOf(e, a.person));
      End();
      return Emit(line_);
    case ActionKind::kException:
      Begin("exc", "exception.granted", a.day);
      FieldStr(line_, "provider_id", provider.id);
      FieldStr(line_, "network_id", network);
      FieldPerson(line_, "beneficiary", e.person);
      FieldStr(line_, "function", "support");
      FieldStr(line_, "reason", kExceptionReasons[a.reason]);
      End();
      return Emit(line_);
    case ActionKind::kConcertation:
      return WriteConcertation(e, a);
    case ActionKind::kIndividual:
    case ActionKind::kGroup:
      break;
  }
  if (a.kind == ActionKind::kIndividual) {
    WriteIndividual(e, a, a.day, a.minutes, a.location);
  } else {
    WriteGroup(e, a, a.minutes, a.location);
  }
  if (a.release > a.day) return Defer(a.release, line_);
  Emit(line_);
  if (a.voided) WriteVoid(e, a, CurrentId());
}

// The id of the line being built: `{"id":"` is 7 characters.
std::string Generator::CurrentId() const {
  constexpr size_t kIdStart = 7;
  return line_.substr(kIdStart, line_.find('"', kIdStart) - kIdStart);
}

void Generator::WriteIndividual(const Entity& e, const Action& a, CivilDay day, int16_t minutes,
                                Location location) {
  Begin("ind", "session.individual", day);
  FieldStr(line_, "provider_id", providers_[e.provider[0]].id);
  FieldStr(line_, "network_id", kNetworks[e.network].id);
  FieldPerson(line_, "beneficiary", e.person);
  FieldStr(line_, "function", kFunctionNames[static_cast<int>(a.function)]);
  FieldInt(line_, "minutes", minutes);
  FieldStr(line_, "location", kLocationNames[static_cast<int>(location)]);
  if (a.with_context) line_ += ",\"with_context\":true";
  if (a.cpms && location == Location::kSchool) FieldStr(line_, "organiser", "cpms");
  End();
}

void Generator::WriteFacilitators(const uint32_t* providers, size_t count) {
  line_ += ",\"facilitators\":[";
  for (size_t i = 0; i < count; ++i) {
    const Provider& p = providers_[providers[i]];
    line_ += i == 0 ? "{\"provider_id\":\"" : ",{\"provider_id\":\"";
    line_ += p.id;
    line_ += "\",\"role\":\"";
    line_ += kProfessionNames[static_cast<int>(p.profession)];
    line_ += "\"}";
  }
  line_ += ']';
}

void Generator::WriteGroup(const Entity& e, const Action& a, int16_t minutes, Location location) {
  Begin("grp", "session.group", a.day);
  WriteFacilitators(e.provider, e.facilitator_count);
  FieldStr(line_, "network_id", kNetworks[e.network].id);
  FieldStr(line_, "function", kFunctionNames[static_cast<int>(a.function)]);
  FieldInt(line_, "minutes", minutes);
  FieldStr(line_, "location", kLocationNames[static_cast<int>(location)]);
  line_ += ",\"participants\":[";
  bool first = true;
  for (uint8_t i = 0; i < e.people_count; ++i) {
    if ((a.attendance & (1u << i)) == 0) continue;
    if (!first) line_ += ',';
    AppendPerson(line_, PersonOf(e, i));
    first = false;
  }
  line_ += ']';
  if (a.cpms && location == Location::kSchool) FieldStr(line_, "organiser", "cpms");
  End();
}

void Generator::WriteConcertation(const Entity& e, const Action& a) {
  Begin("con", "concertation.held", a.day);
  FieldStr(line_, "network_id", kNetworks[e.network].id);
  FieldPerson(line_, "beneficiary", e.person);
  FieldInt(line_, "units", a.units);
  line_ += ",\"participants\":[";
  auto provider = [&](uint32_t index, bool first) {
    const Provider& p = providers_[index];
    line_ += first ? "{\"provider_id\":\"" : ",{\"provider_id\":\"";
    line_ += p.id;
    line_ += "\",\"role\":\"";
    line_ += kProfessionNames[static_cast<int>(p.profession)];
    line_ += "\",\"care_provider\":true}";
  };
  auto other = [&](uint8_t role) {
    line_ += ",{\"role\":\"";
    line_ += kConcertationRoles[role].name;
    line_ += kConcertationRoles[role].care_provider ? "\",\"care_provider\":true}"
                                                    : "\",\"care_provider\":false}";
  };
  provider(e.provider[0], true);
  if (a.co_provider >= 0) provider(static_cast<uint32_t>(a.co_provider), false);
  other(a.reason);
  if (a.extra_role != 0xff) other(a.extra_role);
  line_ += ']';
  End();
  Emit(line_);
}

// The void, due on a.void_day, and for a correctable mistake the session recorded again.
void Generator::WriteVoid(const Entity& e, const Action& a, const std::string& target) {
  Begin("void", "event.voided", a.void_day);
  FieldStr(line_, "target", target);
  FieldStr(line_, "reason", kVoidReasons[a.reason]);
  End();
  Defer(a.void_day, line_);
  if (!a.corrected()) return;
  const bool duration = a.reason == 0;
  const int16_t minutes = duration ? static_cast<int16_t>(a.minutes == 60 ? 45 : 60) : a.minutes;
  const Location location =
      duration ? a.location
               : (a.location == Location::kPractice ? Location::kVideo : Location::kPractice);
  if (a.kind == ActionKind::kIndividual) {
    WriteIndividual(e, a, a.day, minutes, location);
  } else {
    WriteGroup(e, a, minutes, location);
  }
  Defer(a.void_day, line_);
}

CommunityPlan Generator::DrawCommunity(CivilDay day, uint32_t n, Rng& r) const {
  const Network& net = networks_[n];
  CommunityPlan c;
  const uint64_t x = r.Below(100);
  const size_t count = x < 10 ? 1 : x < 75 ? 2 : 3;
  c.facilitators[0] = PickClinical(n, day, r);
  c.count = 1;
  for (int attempt = 0; c.count < count && attempt < 6; ++attempt) {  // small networks: fewer
    const bool use_other = !net.others.empty() && r.PerMille(400);
    const int64_t p = use_other ? PickFrom(net.others, day, r) : PickFrom(net.clinical, day, r);
    if (p < 0) break;
    const auto end = c.facilitators.begin() + static_cast<std::ptrdiff_t>(c.count);
    if (std::find(c.facilitators.begin(), end, static_cast<uint32_t>(p)) == end) {
      c.facilitators[c.count++] = static_cast<uint32_t>(p);
    }
  }
  c.minutes = r.PerMille(900) ? 120 : r.PerMille(500) ? 90 : 150;
  // Mostly 90 minutes or more of direct interaction, as F1 requires; some fall short.
  c.interaction_minutes = std::min(c.minutes, r.PerMille(900) ? r.Range(90, 120) : r.Range(80, 89));
  c.defined_group = r.PerMille(200);
  c.participants = c.defined_group ? r.Range(6, 28) : r.Range(8, 30);
  c.host = r.Below(std::size(kHosts));
  return c;
}

int64_t Generator::CostOf(const CommunityPlan& c, CivilDay day) const {
  std::array<gen::Facilitator, 3> facilitators{};
  for (size_t i = 0; i < c.count; ++i) {
    const Provider& p = providers_[c.facilitators[i]];
    facilitators[i] = {p.EnrolledOn(day), p.profession == Profession::kOther};
  }
  return gen::CareCost::Community(tariff_, day, {facilitators.data(), c.count}, c.minutes,
                                  c.interaction_minutes, c.participants, c.defined_group);
}

void Generator::WriteCommunity(CivilDay day, uint32_t n, const CommunityPlan& c) {
  Begin("com", "community.intervention", day);
  WriteFacilitators(c.facilitators.data(), c.count);
  FieldStr(line_, "network_id", kNetworks[n].id);
  FieldInt(line_, "minutes", c.minutes);
  FieldInt(line_, "interaction_minutes", c.interaction_minutes);
  FieldInt(line_, "participant_count", c.participants);
  if (c.defined_group) line_ += ",\"defined_group\":true";
  FieldStr(line_, "host", kHosts[c.host]);
  End();
  Emit(line_);
}

MissionPlan Generator::DrawMission(CivilDay day, uint32_t n, Rng& r) const {
  const Network& net = networks_[n];
  int64_t p = -1;
  if (!net.others.empty() && r.PerMille(150)) p = PickFrom(net.others, day, r);
  if (p < 0) p = PickClinical(n, day, r);
  return {static_cast<uint32_t>(p), r.Range(2, 16) * 15, r.Below(std::size(kMissionKinds))};
}

int64_t Generator::CostOf(const MissionPlan& m, CivilDay day) const {
  return gen::CareCost::Mission(tariff_, day, m.minutes, providers_[m.provider].EnrolledOn(day));
}

void Generator::WriteMission(CivilDay day, uint32_t n, const MissionPlan& m) {
  Begin("mis", "support.mission", day);
  FieldStr(line_, "provider_id", providers_[m.provider].id);
  FieldStr(line_, "network_id", kNetworks[n].id);
  FieldInt(line_, "minutes", m.minutes);
  FieldStr(line_, "kind", kMissionKinds[m.kind]);
  End();
  Emit(line_);
}

}  // namespace

Status ValidateGeneratorOptions(const GeneratorOptions& o) {
  if (o.events_target < 1 || o.events_target > kGeneratorEventsMax) {
    return Error{ErrorCode::kInvalidArgument,
                 "--events must be from 1 to " + std::to_string(kGeneratorEventsMax)};
  }
  const CivilDate from = FromDay(o.from), to = FromDay(o.to);
  if (from.year < kGeneratorFirstYear || to.year > kGeneratorLastYear) {
    return Error{ErrorCode::kInvalidArgument, "--from and --to must lie in the years " +
                                                  std::to_string(kGeneratorFirstYear) + " to " +
                                                  std::to_string(kGeneratorLastYear)};
  }
  if (o.from > o.to) {
    return Error{ErrorCode::kInvalidArgument, "--from must not lie after --to"};
  }
  if (o.to - o.from > kGeneratorSpanDaysMax) {
    return Error{ErrorCode::kInvalidArgument, "--from and --to must lie at most 30 years apart"};
  }
  return Ok();
}

Result<GeneratorStats> GenerateHistory(const GeneratorOptions& options, const EventSink& sink) {
  if (Status s = ValidateGeneratorOptions(options); !s) return s.error();
  Generator generator(options, sink);
  return generator.Run();
}

}  // namespace ledger
