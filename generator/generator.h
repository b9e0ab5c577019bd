// A synthetic national history for demos, load tests and replays: 32 networks, their yearly
// care budgets, enrolled providers and the care of beneficiaries under both conventions
// (shared/domain/convention.md), written as JSON Lines in the contract's canonical form
// (shared/domain/events.md: the field order and omissions EncodeEvent uses).
//
// Budgets: each network's care follows its relative size, and its budget for a year is sized
// from what that care is forecast to cost the insurer (at the fees of the convention in force),
// so that whatever the size of the history most networks consume 45-87% of their year and two
// or three large adult networks, saturating, 122-135% from the second year on: they run out in
// the autumn. A year the history covers in part is budgeted whole: by the history's last day,
// its consumption is in proportion to the part of the year elapsed (generator/README.md).
//
// Determinism: the output is a pure function of the options. The same options give the same
// bytes on every platform (a hand-written PRNG and bounded-integer draw, integer arithmetic
// only; no std distributions, no clock).
//
// Memory: the simulation walks the days from `from` to `to` and keeps only what is active:
// the beneficiaries and groups in care (a min-heap on their next care date), events recorded
// late or voids not yet due, and the providers (about one per thousand events). Nothing grows
// with the output written so far (20 million events: about 55 MB).
//
// What the history holds: see GenerateHistory. Every line passes DecodeEventJson for any day
// of recording on or after `to`; ids are unique; a void only names an id written before it.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "schemas/civil_date.h"
#include "schemas/result.h"

namespace ledger {

// 2022-01-01 and 2026-06-30 as days since 1970-01-01 (constants: GCC 12 warns falsely on a
// ToDay({...}) default member initializer).
inline constexpr CivilDay kDefaultFrom = 18993;
inline constexpr CivilDay kDefaultTo = 20634;

struct GeneratorOptions {
  uint64_t seed = 1;
  // Approximate number of events to write (the result is within a few percent above it for
  // 1,000 and more; below about 300 the fixed part (networks, budgets, providers) exceeds it).
  int64_t events_target = 20000;
  CivilDay from = kDefaultFrom;  // first care date
  CivilDay to = kDefaultTo;      // last date of any event
};

// Limits checked by GenerateHistory (kInvalidArgument otherwise).
inline constexpr int64_t kGeneratorEventsMax = 2'000'000'000;
inline constexpr int32_t kGeneratorSpanDaysMax = 30 * 366;
inline constexpr int32_t kGeneratorFirstYear = 1990;
inline constexpr int32_t kGeneratorLastYear = 2099;

struct GeneratorStats {
  uint64_t events = 0;         // lines written
  uint64_t fixed_events = 0;   // networks, budgets, enrolments and departures
  uint64_t beneficiaries = 0;  // distinct NISS numbers issued
  uint64_t providers = 0;
  uint64_t active_peak = 0;  // most trajectories and groups in care at once
};

// kInvalidArgument, naming the flag (--from, --to, --events), when the options are outside the
// limits above or from > to. GenerateHistory checks this first and writes nothing then.
[[nodiscard]] Status ValidateGeneratorOptions(const GeneratorOptions& options);

// Receives one event: a JSON object on one line, without the line break. The view is valid
// only during the call.
using EventSink = std::function<void(std::string_view json_line)>;

// Writes the whole history to `sink`, roughly in care-date order: network registrations and
// the enrolments before `from` first, then day by day budgets (on 1 January, before that
// year's care; revised, 1-5% up, for two networks on 1 July from 2023), enrolments and
// departures, and care: individual support and treatment
// trajectories (assessments, concertations, exceptions before 2024-04-01, same-day sessions,
// school sessions organised by a CPMS, trajectories over their counter), group sessions,
// community interventions (mostly from 2024-04-01) and support missions. A small share of
// sessions is written late (after later-dated events) and a few are voided, some of them
// with a corrected session. Some facts are deliberately not billable (a provider not yet or no
// longer enrolled, an age outside the network, a missing assessment, a group too small).
// Errors: those of ValidateGeneratorOptions.
[[nodiscard]] Result<GeneratorStats> GenerateHistory(const GeneratorOptions& options,
                                                     const EventSink& sink);

}  // namespace ledger
