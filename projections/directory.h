// The network directory: which networks exist (name, population) and which providers are, or
// were, enrolled in each, with their professions and enrolment periods. What a coordinator
// needs to see a network whole without knowing ids in advance (`GET /v1/networks`,
// `/v1/networks/{id}/providers`, `ledgerctl networks`, `ledgerctl providers`).
//
// Pure functions of a sealed History (voided events are left out), persisted by the projection
// store (store.h) and computed in memory for answers as of an earlier seq: both give the same
// records.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "projections/history.h"
#include "projections/model.h"

namespace ledger {

const char* PopulationName(Population p);  // "children", "adults", "mixed", "unregistered"
const char* ProfessionName(Role r);        // "psychologist", "orthopedagogue", "other"

struct NetworkRecord {
  std::string network_id;
  std::string name;
  Population population = Population::kUnknown;
};

// One enrolment of a provider in a network: from its `provider.enrolled` date up to and
// including its `provider.left` date (open: nullopt).
struct EnrolmentRecord {
  std::string provider_id;
  std::string network_id;
  Role profession = Role::kPsychologist;
  CivilDay enrolled_on = 0;
  std::optional<CivilDay> left_on;
  bool Covers(CivilDay d) const { return d >= enrolled_on && (!left_on || d <= *left_on); }
};

// The periods a provider's enrolment events in one network make, in date order: an enrolment
// opens a period (a second one while open changes nothing), a departure closes it on its day.
// Events need not be sorted; (day, seq) orders them. This is the rule FoldContext applies.
struct EnrolmentPeriod {
  CivilDay from = 0;
  std::optional<CivilDay> to;  // inclusive; nullopt: still enrolled
  Role profession = Role::kPsychologist;
};
std::vector<EnrolmentPeriod> EnrolmentPeriods(std::vector<EnrolmentEvent> events);
// The first day on which being enrolled under `a` and under `b` differ (professions aside:
// the fold reads only whether a provider is enrolled on a day); nullopt when on no day.
std::optional<CivilDay> FirstDifference(const std::vector<EnrolmentPeriod>& a,
                                        const std::vector<EnrolmentPeriod>& b);

// Every registered network (its first live registration gives name and population), by id.
std::vector<NetworkRecord> NetworkDirectory(const History& h);
// Every enrolment period of every provider, by network id, provider id, start.
std::vector<EnrolmentRecord> EnrolmentDirectory(const History& h);

// A network's providers as listed: one entry per provider, by provider id. On a day: the
// providers enrolled that day, with the period that covers it. Without: every provider ever
// enrolled, with their latest period. `periods` are one network's, in EnrolmentDirectory order.
std::vector<EnrolmentRecord> ProvidersListed(const std::vector<EnrolmentRecord>& periods,
                                             std::optional<CivilDay> on);

std::string EncodeNetwork(const NetworkRecord& r);
bool DecodeNetwork(std::string_view bytes, NetworkRecord* out);
// The periods of one provider in one network (ids are in the store's key).
std::string EncodePeriods(const std::vector<EnrolmentPeriod>& periods);
bool DecodePeriods(std::string_view bytes, std::vector<EnrolmentPeriod>* out);

}  // namespace ledger
