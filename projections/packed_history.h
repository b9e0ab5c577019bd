// A whole log's care events packed for a one-pass fold per beneficiary: what the dry run of a
// ruleset (replay/replay.h) reads instead of a History when the history is large.
//
// Against History (history.h): no event id is kept (void targets are seqs in the facts),
// individual sessions and exceptions (most of a log) are 28-byte records instead of
// CareEvents, NISS numbers are interned by value, and every beneficiary's events are
// listed once, ready to fold. The facts it holds are those History gives a fold (ContextOf,
// RulesetsOf), so a fold of either gives the same lines.
//
// Thread-safety: immutable once loaded; any number of threads may read it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "ledger/event_log.h"
#include "projections/fold.h"
#include "projections/history.h"
#include "projections/model.h"
#include "projections/ruleset.h"

namespace ledger {

// One care event. Individual sessions and exceptions are whole here; the other kinds (group
// sessions, community interventions, support missions, concertations) point into `details`.
struct PackedCare {
  uint32_t seq;  // a Seq: Load refuses a log of 2^32 events or more
  CivilDay day;
  uint32_t who;  // individual, exception: the beneficiary; other kinds: index in details()
  CivilDay birth;
  ProviderIdx provider;
  NetworkIdx network;
  CareKind kind;
  uint8_t flags;  // kTreatment | kBim | kWithContext | kSchoolCpms | kVoided

  static constexpr uint8_t kTreatment = 1, kBim = 2, kWithContext = 4, kSchoolCpms = 8,
                           kVoided = 16;
  bool voided() const { return (flags & kVoided) != 0; }
};
static_assert(sizeof(PackedCare) == 28);

class PackedHistory {
 public:
  // Reads the facts (ledger/facts.h) of events 1..head of `log`, the seq range split over
  // `threads` readers (each with its own iterators); events a version before facts wrote are
  // read and encoded the same way. `progress(done, total)` is called now and then, from one
  // thread only.
  static Result<PackedHistory> Load(const EventLog& log, int threads,
                                    const std::function<void(Seq, Seq)>& progress = {});

  Seq last_seq() const { return last_seq_; }
  uint64_t care_events() const { return care_size_; }  // voided ones too, as History::care
  size_t beneficiaries() const { return first_ref_.empty() ? 0 : first_ref_.size() - 1; }
  const Interner& providers() const { return providers_; }
  const Interner& networks() const { return networks_; }
  // A beneficiary's NISS, as written in its events.
  std::string Niss(BeneficiaryIdx b) const;

  // What a rebuild of the projection store writes besides the fold (store_rebuild.cc), voided
  // events included, each in seq order: the seqs of the fold's context (as History::static_seqs),
  // of budget allocations and issued invoices; every assessment's beneficiary and seq; every
  // voided seq, settled.
  const std::vector<Seq>& static_seqs() const { return static_seqs_; }
  const std::vector<Seq>& budget_seqs() const { return budget_seqs_; }
  const std::vector<Seq>& invoice_seqs() const { return invoice_seqs_; }
  const std::vector<std::pair<BeneficiaryIdx, Seq>>& assessment_seqs() const {
    return assessment_seqs_;
  }
  const std::vector<Seq>& voided() const { return voided_; }

  // Every care event in seq order.
  std::span<const PackedCare> care() const { return {care_.get(), care_size_}; }
  // Group sessions, community interventions, support missions and concertations in seq order,
  // with a void flag each.
  const std::vector<CareEvent>& details() const { return details_; }
  bool DetailVoided(size_t i) const { return details_voided_[i]; }
  // Indices in care() of a beneficiary's non-voided care events (individual sessions,
  // concertations, exceptions, each group session it takes part in once), in seq order.
  std::span<const uint32_t> EventsOf(BeneficiaryIdx b) const {
    return std::span<const uint32_t>(refs_).subspan(first_ref_[b],
                                                    first_ref_[b + 1] - first_ref_[b]);
  }
  // A packed individual session or exception as the fold's CareEvent (`out`'s lists untouched:
  // empty for these kinds). The other kinds are details()[c.who].
  static void Unpack(const PackedCare& c, CareEvent* out);

  // As RulesetsOf and ContextOf (projector.h) for a History of the same log.
  std::unique_ptr<RulesetCatalog> Rulesets(const RulesetCatalog& base) const;
  FoldContext Context(const RulesetCatalog* rules) const;

  struct Part;  // what one reader gathered; public for the loader's helpers only

 private:
  // Load's phases.
  Status ReadParts(const EventLog& log, Seq head, const std::function<void(Seq, Seq)>& progress,
                   std::vector<Part>* parts);
  void MergeParts(std::vector<Part>& parts);
  void ApplyVoids(Part& merged);
  Status ListEvents(size_t beneficiaries);

  Seq last_seq_ = 0;
  std::unique_ptr<PackedCare[]> care_;
  size_t care_size_ = 0;
  std::vector<CareEvent> details_;
  std::vector<bool> details_voided_;
  std::vector<uint32_t> first_ref_, refs_;
  Interner providers_, networks_;
  std::vector<Population> population_;
  std::vector<std::pair<std::pair<ProviderIdx, NetworkIdx>, EnrolmentEvent>> enrolments_;
  std::vector<std::tuple<BeneficiaryIdx, NetworkIdx, CivilDay>> assessments_;  // non-voided
  std::vector<std::string> rulesets_;  // non-voided publications, in seq order
  std::vector<uint64_t> niss_keys_;    // by beneficiary: the NISS's value, or kOdd | odd_niss_
  std::vector<std::string> odd_niss_;
  std::vector<Seq> static_seqs_, budget_seqs_, invoice_seqs_, voided_;
  std::vector<std::pair<BeneficiaryIdx, Seq>> assessment_seqs_;
};

}  // namespace ledger
