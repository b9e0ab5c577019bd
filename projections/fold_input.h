// What each kind of event is to the folds: the one exhaustive translation of an event kind,
// which every fold (History, PackedHistory, the persisted store's catch-up and rebuild) reads
// instead of switching over schema kinds of its own. A new event kind is added here first;
// -Wswitch then names every switch over FoldInput or CareKind that must learn it.
//
// Also here, written once: how voids settle, and which beneficiaries a care event concerns.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_set>
#include <utility>

#include "projections/model.h"
#include "schemas/event.capnp.h"

namespace ledger {

enum class FoldInput : uint8_t {
  kNetwork,        // network.registered: a network's population, the directory (context)
  kEnrolment,      // provider.enrolled, provider.left: enrolment periods (context)
  kRuleset,        // ruleset.published: the catalog of rulesets (context)
  kBudget,         // budget.allocated: a network's budget (balances; no line)
  kAssessment,     // assessment.recorded: about one beneficiary, priced nothing
  kCare,           // a care event, priced into lines: its CareKind is CareKindOf()
  kVoid,           // event.voided
  kIssuedInvoice,  // invoice.issued: what was billed (replay/); not folded
};

FoldInput FoldInputOf(schema::Event::Body::Which kind);
// Whether a kind's number (a facts record's tag) names a kind this build knows.
bool IsKnownKind(uint8_t tag);
// The care kind of an event whose FoldInputOf is kCare (asserted).
CareKind CareKindOf(schema::Event::Body::Which kind);

// Networks, enrolments and rulesets: the context every fold reads (History::static_seqs).
bool IsFoldContext(FoldInput input);
// The context, budgets and voids: facts a catch-up does not fold incrementally (a new network,
// ruleset or a void of one of these rebuilds; a rebuild writes them before its slices).
bool IsStaticFact(FoldInput input);

// Settles voids: `voids` in seq order, each (the void's seq, its target's seq or 0 when the
// target is not in the log). A void can only target an earlier event, so walking voids from the
// newest down settles each void's own status before it is applied: a voided void restores its
// target. Returns the seqs voided.
std::unordered_set<Seq> SettleVoids(std::span<const std::pair<Seq, Seq>> voids);

// Calls fn(BeneficiaryIdx) once for each beneficiary `c` concerns: the person of an individual
// session, concertation or exception, each distinct participant of a group session; nobody for
// community interventions and support missions.
template <typename Fn>
void ForEachBeneficiary(const CareEvent& c, Fn&& fn) {
  switch (c.kind) {
    case CareKind::kIndividual:
    case CareKind::kConcertation:
    case CareKind::kException:
      fn(c.beneficiary.who);
      return;
    case CareKind::kGroup:
      for (size_t i = 0; i < c.participants.size(); ++i) {
        const BeneficiaryIdx who = c.participants[i].who;
        bool seen = false;  // listed twice is refused on append; counted once regardless
        for (size_t j = 0; j < i && !seen; ++j) seen = c.participants[j].who == who;
        if (!seen) fn(who);
      }
      return;
    case CareKind::kCommunity:
    case CareKind::kMission:
      return;
  }
}

}  // namespace ledger
