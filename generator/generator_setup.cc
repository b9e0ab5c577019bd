// The Generator's set-up: networks, providers and their enrolments, and the budgets sized to
// the spend it plans.
#include "generator/generator_internal.h"

namespace ledger::generator_internal {

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

}  // namespace ledger::generator_internal
