// The projections' view of events: compact, interned, with no Cap'n Proto lifetimes, so that a
// fold can sort and revisit them. Built from stored events by projections/history.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ledger/event_log.h"
#include "projections/money.h"
#include "projections/ruleset.h"
#include "schemas/civil_date.h"

namespace ledger {

using BeneficiaryIdx = uint32_t;
using ProviderIdx = uint32_t;
using NetworkIdx = uint32_t;
inline constexpr ProviderIdx kNoProvider = UINT32_MAX;

enum class Population { kUnknown, kChildren, kAdults, kMixed };
enum class CareFunction { kSupport = 0, kTreatment = 1 };
enum class Role { kPsychologist, kOrthopedagogue, kOther };

// Why a line is not billable; the order is the book's precedence (section 9, "Which reason").
enum class Reason {
  kNone = 0,
  kNoConvention,
  kProviderNotEnrolled,
  kAgeOutsideNetwork,
  kNoAssessment,
  kDailyLimit,
  kCounterExhausted,
  kGroupTooSmall,
  kCommunityRequirements,
  kConcertationRequirements,
};
const char* ReasonName(Reason r);

struct Person {
  BeneficiaryIdx who = 0;
  CivilDay birth = 0;
  bool bim = false;
};

struct Facilitator {
  ProviderIdx provider = kNoProvider;
  Role role = Role::kPsychologist;
};

struct ConcertationParticipant {
  ProviderIdx provider = kNoProvider;  // kNoProvider: not paid
  Role role = Role::kOther;            // for paid participants; informative only
  bool care_provider = false;
};

enum class CareKind : uint8_t {
  kIndividual,
  kGroup,
  kCommunity,
  kMission,
  kConcertation,
  kException
};

// A care fact the fold prices (or, for exceptions, applies), in care-date order.
struct CareEvent {
  Seq seq = 0;
  CivilDay day = 0;
  CareKind kind = CareKind::kIndividual;
  NetworkIdx network = 0;
  ProviderIdx provider = kNoProvider;  // individual, mission
  CareFunction function = CareFunction::kSupport;
  bool school_cpms = false;  // location school and organiser cpms
  bool with_context = false;
  bool defined_group = false;
  int32_t minutes = 0, interaction_minutes = 0, participant_count = 0, units = 0;
  Person beneficiary;                     // individual, concertation, exception
  std::vector<Person> participants;       // group
  std::vector<Facilitator> facilitators;  // group, community
  std::vector<ConcertationParticipant> concertation;
};

struct EnrolmentEvent {
  CivilDay day;
  Seq seq;
  bool enrolled;                          // false: left
  Role profession = Role::kPsychologist;  // of an enrolment
};

// What a line pays for, as networks report their spend: the three functions of the 2024
// convention (support and treatment also under 2021), support missions and concertations.
enum class SpendFunction : uint8_t {
  kCommunity,
  kSupport,
  kTreatment,
  kSupportMission,
  kConcertation,
};
inline constexpr int kSpendFunctionCount = 5;
const char* SpendFunctionName(SpendFunction f);
inline constexpr int kReasonCount = 10;  // Reason values, kNone included

// One invoice line. Unbillable lines carry their reason and zero amounts.
struct Line {
  ProviderIdx provider = 0;
  NetworkIdx network = 0;
  CivilDay day = 0;
  Seq seq = 0;
  uint16_t part = 0;  // facilitator / participant position within the event
  FeeItem item = FeeItem::kIndividualSession;
  SpendFunction spend = SpendFunction::kSupport;
  Reason reason = Reason::kNone;
  Cents fee, copay, insurer;
  const Ruleset* ruleset = nullptr;  // null when no ruleset covers the date
  bool billable() const { return reason == Reason::kNone; }
};

}  // namespace ledger
