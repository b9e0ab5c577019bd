// People and providers: networks steered to their shares, birth dates by age band, NISS
// numbers, the clinical provider of a step.
#include "generator/generator_internal.h"

namespace ledger::generator_internal {

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

}  // namespace ledger::generator_internal
