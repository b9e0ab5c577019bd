#include "projections/projector.h"

#include <algorithm>
#include <thread>

#include "projections/fold_input.h"

namespace ledger {

std::unique_ptr<RulesetCatalog> RulesetsOf(const History& history, const RulesetCatalog& base) {
  auto rules = std::make_unique<RulesetCatalog>(base);
  for (const auto& [seq, document] : history.published_rulesets) {
    if (history.Voided(seq)) continue;
    // Validated at publish; a document that no longer parses is not applied.
    if (auto rs = ParseRulesetText(document)) rules->Add(std::move(rs).value());
  }
  return rules;
}

FoldContext ContextOf(const History& h, const RulesetCatalog* rules) {
  FoldContext ctx(rules);
  for (NetworkIdx n = 0; n < h.population.size(); ++n) ctx.SetPopulation(n, h.population[n]);
  for (const auto& [key, events] : h.enrolments) {
    std::vector<EnrolmentEvent> live;
    for (const auto& e : events) {
      if (!h.Voided(e.seq)) live.push_back(e);
    }
    ctx.SetEnrolments(key.first, key.second, std::move(live));
  }
  for (const auto& [key, list] : h.assessments) {
    for (const auto& [day, seq] : list) {
      if (!h.Voided(seq)) ctx.AddAssessment(key.first, key.second, day);
    }
  }
  return ctx;
}

namespace {

// Each beneficiary's care events: individual sessions, concertations, exceptions, and every
// group session it takes part in.
std::vector<std::vector<const CareEvent*>> ByBeneficiary(const History& h) {
  std::vector<std::vector<const CareEvent*>> by(h.beneficiaries.size());
  for (const CareEvent& c : h.care) {
    if (h.Voided(c.seq)) continue;
    ForEachBeneficiary(c, [&](BeneficiaryIdx who) { by[who].push_back(&c); });
  }
  return by;
}

}  // namespace

Projection Project(const History& h, const RulesetCatalog& base, int threads) {
  Projection out;
  out.rulesets = RulesetsOf(h, base);
  for (const auto& [key, events] : h.budgets) {
    Seq latest = 0;  // a later allocation (by seq) replaces an earlier one
    for (const BudgetEvent& b : events) {
      if (!h.Voided(b.seq) && b.seq > latest) {
        latest = b.seq;
        out.allocated[key] = b.cents;
      }
    }
  }
  const FoldContext ctx = ContextOf(h, out.rulesets.get());
  const auto by = ByBeneficiary(h);

  threads = std::max(1, threads);
  std::vector<BeneficiaryFold> parts(static_cast<size_t>(threads));
  out.carries.resize(by.size());
  auto work = [&](int part) {
    BeneficiaryFold& acc = parts[static_cast<size_t>(part)];
    for (size_t b = static_cast<size_t>(part); b < by.size(); b += static_cast<size_t>(threads)) {
      if (by[b].empty()) continue;
      BeneficiaryFold f = FoldBeneficiary(ctx, static_cast<BeneficiaryIdx>(b), by[b]);
      out.carries[b] = std::move(f.carry);  // each thread its own beneficiaries
      acc.lines.insert(acc.lines.end(), f.lines.begin(), f.lines.end());
      acc.shares.insert(acc.shares.end(), f.shares.begin(), f.shares.end());
      for (auto& t : f.trajectories) acc.trajectories.push_back(std::move(t));
    }
  };
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back(work, i);
  work(0);
  for (auto& t : pool) t.join();

  std::vector<GroupShare> shares;
  for (auto& p : parts) {
    out.lines.insert(out.lines.end(), p.lines.begin(), p.lines.end());
    shares.insert(shares.end(), p.shares.begin(), p.shares.end());
    for (auto& t : p.trajectories) out.trajectories.push_back(std::move(t));
  }
  std::sort(shares.begin(), shares.end(), [](const GroupShare& a, const GroupShare& b) {
    return std::tie(a.seq, a.participant) < std::tie(b.seq, b.participant);
  });
  for (const CareEvent& c : h.care) {
    if (h.Voided(c.seq)) continue;
    std::vector<Line> lines;
    if (c.kind == CareKind::kGroup) {
      auto lo = std::lower_bound(shares.begin(), shares.end(), c.seq,
                                 [](const GroupShare& s, Seq seq) { return s.seq < seq; });
      auto hi = lo;
      while (hi != shares.end() && hi->seq == c.seq) ++hi;
      lines =
          GroupLines(ctx, c,
                     std::span<const GroupShare>(shares).subspan(
                         static_cast<size_t>(lo - shares.begin()), static_cast<size_t>(hi - lo)));
    } else if (c.kind == CareKind::kCommunity) {
      lines = CommunityLines(ctx, c);
    } else if (c.kind == CareKind::kMission) {
      lines = MissionLines(ctx, c);
    }
    out.lines.insert(out.lines.end(), lines.begin(), lines.end());
  }
  std::sort(out.lines.begin(), out.lines.end(), LineOrder);
  out.shares = std::move(shares);
  std::sort(out.trajectories.begin(), out.trajectories.end(),
            [](const Trajectory& a, const Trajectory& b) {
              return std::tie(a.who, a.function, a.network, a.start) <
                     std::tie(b.who, b.function, b.network, b.start);
            });
  return out;
}

}  // namespace ledger
