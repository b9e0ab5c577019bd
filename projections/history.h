// The facts a projection folds, gathered from stored events: interned names, static facts
// (networks, enrolments, assessments, budgets, rulesets, voids) and the care events to price.
// Gathering is order-independent; the order rules are applied by the fold (projector.h).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "ledger/event_log.h"
#include "projections/model.h"

namespace ledger {

// Names <-> dense indices.
class Interner {
 public:
  uint32_t Intern(std::string_view name);
  std::optional<uint32_t> Find(std::string_view name) const;
  const std::string& Name(uint32_t idx) const { return names_[idx]; }
  size_t size() const { return names_.size(); }

 private:
  // Transparent hashing: a lookup by string_view builds no string.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>> index_;
  std::vector<std::string> names_;
};

// A `network.registered` event, as the network directory lists it.
struct NetworkRegistration {
  Seq seq = 0;
  NetworkIdx network = 0;
  std::string name;
  Population population = Population::kUnknown;
};

struct BudgetEvent {
  Seq seq;
  Cents cents;
};

// An `invoice.issued` event: what was billed for one provider and month when it was closed.
// Not folded; read by replay/ (regularisations). Names are kept as text, not interned.
struct IssuedInvoice {
  Seq seq = 0;
  std::string id;  // the event id
  CivilDay occurred_on = 0;
  std::string provider_id;
  int32_t month = 0;  // yyyymm
  std::string ruleset_id;
  int32_t ruleset_version = 0;
  Cents fee, copay, insurer;
  int32_t lines = 0;
  std::string lines_sha256;  // hex; empty when not given
  // Differences of earlier closed months billed with this invoice.
  struct Regularisation {
    int32_t month = 0;  // yyyymm of the month corrected
    Cents fee, copay, insurer;
  };
  std::vector<Regularisation> regularisations;
};

// Schema enums as the fold knows them: a network's population, a provider's profession, a care
// function, and whether a session is held at school by a CPMS.
Population PopulationOf(schema::Population p);
Role RoleOf(schema::Profession p);
CareFunction FunctionOf(schema::CareFunction f);
bool SchoolCpms(schema::Location l, schema::Organiser o);

class History {
 public:
  // Adds one stored event, in any seq order (a history may hold a subset of the log).
  void Add(const StoredEventView& view);
  // Reads events 1..as_of (0: up to the head) from the log.
  static Result<History> Load(const EventLog& log, Seq as_of = 0);

  Seq last_seq() const { return last_seq_; }
  // True when the event at `seq` is voided (by a void that is not itself voided).
  bool Voided(Seq seq) const { return voided_.count(seq) > 0; }
  // Resolves voids among the events held; call once after the last Add() and before reading
  // facts.
  void Seal();
  // For a partial history whose voids were resolved elsewhere (the projection store).
  void MarkVoided(Seq seq) { voided_.insert(seq); }
  const std::unordered_set<Seq>& voided() const { return voided_; }

  Interner beneficiaries, providers, networks;     // NISS, provider ids, network ids
  std::vector<Population> population;              // by network
  std::vector<NetworkRegistration> registrations;  // in Add() order; check Voided(seq)
  std::map<std::pair<ProviderIdx, NetworkIdx>, std::vector<EnrolmentEvent>> enrolments;
  std::map<std::pair<BeneficiaryIdx, NetworkIdx>, std::vector<std::pair<CivilDay, Seq>>>
      assessments;
  std::map<std::pair<NetworkIdx, int32_t>, std::vector<BudgetEvent>> budgets;
  std::vector<std::pair<Seq, std::string>> published_rulesets;  // seq, document JSON
  std::vector<IssuedInvoice> issued_invoices;                   // in Add() order; check Voided(seq)
  std::vector<Seq> static_seqs;  // network, provider and ruleset events: the fold's context
  std::vector<CareEvent> care;
  const std::string& EventId(Seq seq) const;

  // Converts a care event (or an assessment) without adding it, interning its names here.
  bool ToCare(const StoredEventView& view, CareEvent* out);
  std::optional<std::tuple<BeneficiaryIdx, NetworkIdx, CivilDay>> ToAssessment(
      const StoredEventView& view);

 private:
  NetworkIdx Network(capnp::Text::Reader id);
  Person PersonOf(schema::Beneficiary::Reader b);
  void AddCare(const StoredEventView& view);
  void AddNetwork(Seq seq, schema::NetworkRegistered::Reader b);
  void AddIssuedInvoice(Seq seq, schema::Event::Reader ev);

  Seq last_seq_ = 0;
  std::vector<std::pair<Seq, std::string>> event_ids_;  // in seq order
  std::vector<std::pair<Seq, std::string>> voids_;      // void seq, target id
  std::unordered_set<Seq> voided_;
};

}  // namespace ledger
