# The ledger's events, as stored. The JSON contract (../../shared/domain/events.md) is their
# public face; schemas/json_codec.h converts both ways and the conversion round-trips.
#
# Evolution rule: these structs are a contract with every byte ever written to a ledger.
#  - An ordinal (@N) is never reused and a field is never removed; retire it by renaming it
#    `obsoleteXxx` and leaving it in place.
#  - A change in meaning is a new field or a new type, never a new reading of an old one.
#  - New fields get the next ordinal; readers must accept their default for old events.
#  - New event kinds are new members of the `body` union (next ordinal).
# Dates are civil dates stored as days since 1970-01-01 (`CivilDay`); money is integer euro
# cents; times are microseconds since the Unix epoch, UTC.
@0xe86ed98f08a9aa1c;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("ledger::schema");

enum Population { children @0; adults @1; mixed @2; }
enum Profession { psychologist @0; orthopedagogue @1; other @2; }
enum CareFunction { support @0; treatment @1; }
enum Location { practice @0; outreach @1; video @2; home @3; school @4; }
enum Organiser { none @0; cpms @1; }
enum MissionKind { caseSupport @0; coConsultation @1; knowledgeSharing @2; outreachCoordination @3; }

struct Beneficiary {
  niss @0 :Text;          # 11 digits, checksum verified at append. Personal data: never logged.
  birthDay @1 :Int32;     # CivilDay
  bim @2 :Bool;           # entitled to increased reimbursement
}

struct Facilitator {
  providerId @0 :Text;
  role @1 :Profession;
}

struct ConcertationParticipant {
  providerId @0 :Text;    # empty: a participant without a provider id (not paid)
  role @1 :Text;          # free text, e.g. "general_practitioner"
  careProvider @2 :Bool;
}

struct NetworkRegistered { networkId @0 :Text; name @1 :Text; population @2 :Population; }
struct ProviderEnrolled { providerId @0 :Text; networkId @1 :Text; profession @2 :Profession; }
struct ProviderLeft { providerId @0 :Text; networkId @1 :Text; }
struct BudgetAllocated { networkId @0 :Text; year @1 :Int32; careBudgetCents @2 :Int64; }

struct RulesetPublished {
  rulesetJson @0 :Text;   # the ruleset document, serialised JSON (validated by projections/)
  reason @1 :Text;
}

struct AssessmentRecorded { providerId @0 :Text; networkId @1 :Text; beneficiary @2 :Beneficiary; }

struct ExceptionGranted {
  providerId @0 :Text;
  networkId @1 :Text;
  beneficiary @2 :Beneficiary;
  function @3 :CareFunction;
  reason @4 :Text;
}

struct SessionIndividual {
  providerId @0 :Text;
  networkId @1 :Text;
  beneficiary @2 :Beneficiary;
  function @3 :CareFunction;
  minutes @4 :Int32;
  location @5 :Location;
  withContext @6 :Bool;
  organiser @7 :Organiser;
}

struct SessionGroup {
  facilitators @0 :List(Facilitator);
  networkId @1 :Text;
  function @2 :CareFunction;
  minutes @3 :Int32;
  location @4 :Location;
  participants @5 :List(Beneficiary);
  organiser @6 :Organiser;
}

struct CommunityIntervention {
  facilitators @0 :List(Facilitator);
  networkId @1 :Text;
  minutes @2 :Int32;
  interactionMinutes @3 :Int32;
  participantCount @4 :Int32;
  definedGroup @5 :Bool;
  host @6 :Text;
}

struct SupportMission { providerId @0 :Text; networkId @1 :Text; minutes @2 :Int32; kind @3 :MissionKind; }

struct ConcertationHeld {
  networkId @0 :Text;
  beneficiary @1 :Beneficiary;
  units @2 :Int32;        # 15-minute units
  participants @3 :List(ConcertationParticipant);
}

struct EventVoided { target @0 :Text; reason @1 :Text; }

struct InvoiceIssued {
  providerId @0 :Text;
  month @1 :Int32;        # year * 100 + month
  rulesetId @2 :Text;
  rulesetVersion @3 :Int32;
  feeCents @4 :Int64;
  copayCents @5 :Int64;
  insurerCents @6 :Int64;
  lines @7 :Int32;        # number of invoice lines issued
  linesSha256 @8 :Text;   # hex digest of the issued lines, empty if not given
  # Differences of earlier closed months of this provider billed with this invoice (see
  # replay/regularisations.h). Not part of the totals above, which are this month's lines.
  regularisations @9 :List(RegularisationBilled);
}

struct RegularisationBilled {
  month @0 :Int32;        # the closed month corrected, year * 100 + month
  feeCents @1 :Int64;     # current - issued (and - billed before), may be negative
  copayCents @2 :Int64;
  insurerCents @3 :Int64;
}

# What the client states. The idempotency digest is SHA-256 of this struct's canonical form.
struct Event {
  id @0 :Text;
  occurredOn @1 :Int32;   # CivilDay: the care date (or start date), not the recording time
  body :union {
    networkRegistered @2 :NetworkRegistered;
    providerEnrolled @3 :ProviderEnrolled;
    providerLeft @4 :ProviderLeft;
    budgetAllocated @5 :BudgetAllocated;
    rulesetPublished @6 :RulesetPublished;
    assessmentRecorded @7 :AssessmentRecorded;
    exceptionGranted @8 :ExceptionGranted;
    sessionIndividual @9 :SessionIndividual;
    sessionGroup @10 :SessionGroup;
    communityIntervention @11 :CommunityIntervention;
    supportMission @12 :SupportMission;
    concertationHeld @13 :ConcertationHeld;
    eventVoided @14 :EventVoided;
    invoiceIssued @15 :InvoiceIssued;
  }
}

# The envelope the ledger seals: what the hash chain covers, together with the previous hash.
# Stored value = SHA-256 hash (32 bytes) followed by the canonical words of this struct.
struct StoredEvent {
  seq @0 :UInt64;          # global position, 1, 2, 3... gapless
  recordedAtUs @1 :Int64;  # UTC microseconds of the append, never decreasing
  event @2 :Event;
}
