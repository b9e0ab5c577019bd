// The persisted projections maintained incrementally (catch-up after every small batch) must be
// byte-identical to a full rebuild from seq 1, and every invoice, quota and balance they give
// must equal the in-memory fold's. On a generated history with late recordings and voids.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <optional>
#include <random>
#include <set>
#include <shared_mutex>

#include "api/answers.h"
#include "generator/generator.h"
#include "ledger/event_log.h"
#include "ledger/testing/temp_dir.h"
#include "projections/store.h"
#include "projections/views.h"

namespace ledger {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> Generate(uint64_t seed, int64_t events, CivilDay from = kDefaultFrom,
                                  CivilDay to = kDefaultTo) {
  std::vector<std::string> lines;
  GeneratorOptions options;
  options.seed = seed;
  options.events_target = events;
  options.from = from;
  options.to = to;
  auto stats = GenerateHistory(options, [&](std::string_view l) { lines.emplace_back(l); });
  EXPECT_TRUE(stats.ok());
  return lines;
}

void AppendAll(EventLog& log, const std::vector<std::string>& lines, size_t from, size_t to) {
  auto append = log.BeginAppend();
  for (size_t i = from; i < to; ++i) {
    auto ev = DecodeEventJson(lines[i], static_cast<int64_t>(i - from), ToDay({2026, 11, 1}));
    ASSERT_TRUE(ev.ok()) << ev.error().ToString();
    ASSERT_TRUE(append->Add(*ev).ok());
  }
  ASSERT_TRUE(append->Commit().ok());
}

// The store holds the reference's bytes: RebuildInMemory's digest, which it leaves as the
// store's.
void ExpectStoreEqualsReference(ProjectionStore& store) {
  auto held = store.Digest();
  ASSERT_TRUE(held.ok());
  ASSERT_TRUE(store.RebuildInMemory().ok());
  auto reference = store.Digest();
  ASSERT_TRUE(reference.ok());
  EXPECT_EQ(ToHex(*held), ToHex(*reference));
}

// The packed rebuild writes the reference's bytes: RebuildInMemory's digest, which it leaves as
// the store's.
void ExpectPackedRebuildEqualsReference(ProjectionStore& store) {
  store.set_packed_run_bytes(64 << 10);  // many runs, merged in parts
  ASSERT_TRUE(store.RebuildPacked().ok());
  ExpectStoreEqualsReference(store);
}

// Every provider-month, beneficiary and network-year the history mentions.
struct Keys {
  std::set<std::pair<std::string, int32_t>> invoices;
  std::set<std::string> niss;
  std::set<std::pair<std::string, int32_t>> balances;
};

Keys KeysOf(const History& h, const Projection& p) {
  Keys k;
  for (const Line& l : p.lines) {
    k.invoices.insert({h.providers.Name(l.provider), MonthOf(l.day)});
    k.balances.insert({h.networks.Name(l.network), FromDay(l.day).year});
  }
  for (const Trajectory& t : p.trajectories) k.niss.insert(h.beneficiaries.Name(t.who));
  return k;
}

TEST(ProjectionIdentity, IncrementalEqualsRebuildEqualsMemory) {
  const std::vector<std::string> lines = Generate(11, 6000);
  TempDir dir{"projection_identity_test"};
  auto log = EventLog::Open(dir.path());
  ASSERT_TRUE(log.ok());
  ProjectionStore store(**log);

  std::mt19937_64 rng(5);
  size_t at = 0;
  while (at < lines.size()) {
    const size_t n = 1 + rng() % 40;
    const size_t to = std::min(lines.size(), at + n);
    AppendAll(**log, lines, at, to);
    ASSERT_TRUE(store.CatchUp().ok());
    at = to;
  }
  // The incremental path was taken, not only rebuilds: most beneficiaries were folded on from
  // where their fold had ended, late recordings and voids folded again from the start.
  EXPECT_GT(store.stats().catch_ups, 50u);
  EXPECT_GT(store.stats().beneficiaries_resumed, 2000u);
  EXPECT_GT(store.stats().beneficiaries_refolded, 20u);
  std::printf("catch-ups %llu, resumed %llu, refolded %llu, rebuilds %llu\n",
              static_cast<unsigned long long>(store.stats().catch_ups),
              static_cast<unsigned long long>(store.stats().beneficiaries_resumed),
              static_cast<unsigned long long>(store.stats().beneficiaries_refolded),
              static_cast<unsigned long long>(store.stats().rebuilds));
  auto incremental = store.Digest();
  ASSERT_TRUE(incremental.ok());

  ASSERT_TRUE(store.Rebuild().ok());
  auto rebuilt = store.Digest();
  ASSERT_TRUE(rebuilt.ok());
  EXPECT_EQ(ToHex(*incremental), ToHex(*rebuilt));
  // The packed rebuild and the rebuild in slices equal the reference, a whole projection in
  // memory, byte for byte.
  ExpectPackedRebuildEqualsReference(store);
  store.set_in_memory_rebuild_max(0);  // always in slices from here
  store.set_packed_rebuild_max(0);
  ASSERT_TRUE(store.Rebuild().ok());
  rebuilt = store.Digest();
  ASSERT_TRUE(store.RebuildInMemory().ok());
  auto reference = store.Digest();
  ASSERT_TRUE(reference.ok());
  EXPECT_EQ(ToHex(*reference), ToHex(*rebuilt));
  // Small slices, so that beneficiaries cross them (resumed, or folded again when late).
  store.set_catch_up_slice(97);
  ASSERT_TRUE(store.Rebuild().ok());
  auto sliced = store.Digest();
  ASSERT_TRUE(sliced.ok());
  EXPECT_EQ(ToHex(*reference), ToHex(*sliced));

  // The store answers as the in-memory fold does, for everything the history mentions.
  auto history = History::Load(**log);
  ASSERT_TRUE(history.ok());
  const Projection p = Project(*history, RulesetCatalog());
  const Keys keys = KeysOf(*history, p);
  ASSERT_GT(keys.invoices.size(), 100u);
  for (const auto& [provider, month] : keys.invoices) {
    auto stored = store.Lines(provider, month);
    ASSERT_TRUE(stored.ok());
    EXPECT_EQ(boost::json::serialize(InvoiceJson(provider, month, *stored)),
              boost::json::serialize(InvoiceJson(*history, p, provider, month)))
        << provider << " " << month;
  }
  auto rules = store.Rulesets();
  ASSERT_TRUE(rules.ok());
  for (const std::string& niss : keys.niss) {
    auto stored = store.Trajectories(niss);
    ASSERT_TRUE(stored.ok());
    for (CivilDay on : {ToDay({2023, 6, 30}), ToDay({2024, 12, 31}), ToDay({2026, 6, 30})}) {
      EXPECT_EQ(boost::json::serialize(QuotaJson(niss, on, *stored, **rules)),
                boost::json::serialize(QuotaJson(*history, p, niss, on)));
    }
  }
  for (const auto& [network, year] : keys.balances) {
    auto allocated = store.Allocated(network, year);
    auto daily = store.DailyConsumed(network, year);
    ASSERT_TRUE(allocated.ok() && daily.ok());
    EXPECT_EQ(boost::json::serialize(BalanceJson(network, year, *allocated, *daily)),
              boost::json::serialize(BalanceJson(*history, p, network, year)));
  }

  // The network view: the store's directory and tallies (kept line by line through every
  // catch-up above, then rebuilt: the digests agree) equal the in-memory fold's.
  auto stored = QuerySource::FromStore(store);
  auto folded = QuerySource::AsOf(**log, (*log)->head().seq);
  ASSERT_TRUE(stored.ok() && folded.ok());
  EXPECT_EQ(stored->seq(), folded->seq());
  auto networks = NetworksAnswer(*stored, std::nullopt);
  ASSERT_TRUE(networks.ok());
  EXPECT_EQ(boost::json::serialize(*networks),
            boost::json::serialize(*NetworksAnswer(*folded, std::nullopt)));
  ASSERT_EQ(networks->at("networks").as_array().size(), 32u);
  std::set<std::pair<std::string, int32_t>> network_months;
  for (const Line& l : p.lines)
    network_months.insert({history->networks.Name(l.network), MonthOf(l.day)});
  ASSERT_GT(network_months.size(), 100u);
  for (const auto& [network, month] : network_months) {
    auto a = NetworkMonthAnswer(*stored, network, month);
    auto b = NetworkMonthAnswer(*folded, network, month);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(boost::json::serialize(*a), boost::json::serialize(*b)) << network << " " << month;
  }
  for (const auto& [network, year] : keys.balances) {
    auto a = BalanceAnswer(*stored, network, year);
    auto b = BalanceAnswer(*folded, network, year);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(boost::json::serialize(*a), boost::json::serialize(*b)) << network << " " << year;
    auto c = ProvidersAnswer(*stored, network, std::nullopt, 0, "");
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(boost::json::serialize(*c),
              boost::json::serialize(*ProvidersAnswer(*folded, network, std::nullopt, 0, "")));
  }
}

// With the setting ledgerctl append uses, a backlog of a quarter of the log or more is rebuilt
// instead of caught up (cheaper there) and a smaller one is caught up; either way the store
// holds what the reference fold gives.
TEST(ProjectionIdentity, ALargeBacklogIsRebuiltInsteadOfCaughtUp) {
  const std::vector<std::string> lines = Generate(12, 4000);
  ASSERT_GT(lines.size(), 3000u);
  TempDir dir{"projection_identity_test"};
  auto log = EventLog::Open(dir.path());
  ASSERT_TRUE(log.ok());
  ProjectionStore store(**log);
  store.set_rebuild_instead_max(ProjectionStore::kRebuildInsteadMax);
  AppendAll(**log, lines, 0, 2000);
  ASSERT_TRUE(store.CatchUp().ok());  // from seq 0: a rebuild
  EXPECT_EQ(store.stats().rebuilds, 1u);
  AppendAll(**log, lines, 2000, 2400);  // 400 events onto 2,000: caught up
  ASSERT_TRUE(store.CatchUp().ok());
  EXPECT_EQ(store.stats().rebuilds, 1u);
  EXPECT_EQ(store.stats().catch_ups, 1u);
  AppendAll(**log, lines, 2400, lines.size());  // the rest, over a quarter of the log: rebuilt
  ASSERT_TRUE(store.CatchUp().ok());
  EXPECT_EQ(store.stats().rebuilds, 2u);
  EXPECT_EQ(store.stats().catch_ups, 1u);
  auto at = store.seq();
  ASSERT_TRUE(at.ok());
  EXPECT_EQ(*at, (*log)->head().seq);
  ExpectStoreEqualsReference(store);
  // Off (ledgerd's default), the same backlog is caught up.
  TempDir other{"projection_identity_test"};
  auto log2 = EventLog::Open(other.path());
  ASSERT_TRUE(log2.ok());
  ProjectionStore caught(**log2);
  AppendAll(**log2, lines, 0, 2000);
  ASSERT_TRUE(caught.CatchUp().ok());
  AppendAll(**log2, lines, 2000, lines.size());
  ASSERT_TRUE(caught.CatchUp().ok());
  EXPECT_EQ(caught.stats().rebuilds, 1u);
  EXPECT_GE(caught.stats().catch_ups, 1u);
}

// Voids appended after the fact (of sessions, assessments and group sessions) are maintained
// incrementally to the same bytes as a rebuild.
TEST(ProjectionIdentity, LateVoidsIncrementalEqualsRebuild) {
  const std::vector<std::string> lines = Generate(12, 3000);
  TempDir dir{"projection_identity_test"};
  auto log = EventLog::Open(dir.path());
  ASSERT_TRUE(log.ok());
  ProjectionStore store(**log);
  AppendAll(**log, lines, 0, lines.size());
  ASSERT_TRUE(store.CatchUp().ok());
  // Void every 7th care event, one batch at a time.
  std::vector<std::string> voids;
  for (size_t i = 0; i < lines.size(); i += 7) {
    auto v = boost::json::parse(lines[i]).as_object();
    const std::string type(v["type"].as_string());
    if (type != "session.individual" && type != "session.group" && type != "assessment.recorded" &&
        type != "concertation.held" && type != "support.mission" &&
        type != "community.intervention") {
      continue;
    }
    voids.push_back(R"({"id":"late-void-)" + std::to_string(i) +
                    R"(","type":"event.voided","occurred_on":"2026-07-01","target":")" +
                    std::string(v["id"].as_string()) + R"(","reason":"test"})");
  }
  ASSERT_GT(voids.size(), 20u);
  const uint64_t rebuilds_before = store.stats().rebuilds;
  for (size_t i = 0; i < voids.size(); i += 3) {
    AppendAll(**log, voids, i, std::min(voids.size(), i + 3));
    ASSERT_TRUE(store.CatchUp().ok());
  }
  EXPECT_EQ(store.stats().rebuilds, rebuilds_before);  // all incremental
  auto incremental = store.Digest();
  ASSERT_TRUE(store.Rebuild().ok());
  auto rebuilt = store.Digest();
  ASSERT_TRUE(incremental.ok() && rebuilt.ok());
  EXPECT_EQ(ToHex(*incremental), ToHex(*rebuilt));
  ExpectPackedRebuildEqualsReference(store);
  // Voids of some of those voids (the events they voided count again), then a rebuild of each
  // kind.
  std::vector<std::string> undo;
  for (size_t i = 0; i < voids.size(); i += 5) {
    const std::string target =
        boost::json::parse(voids[i]).as_object().at("id").as_string().c_str();
    undo.push_back(R"({"id":"undo-)" + std::to_string(i) +
                   R"(","type":"event.voided","occurred_on":"2026-07-02","target":")" + target +
                   R"(","reason":"test"})");
  }
  AppendAll(**log, undo, 0, undo.size());
  ASSERT_TRUE(store.CatchUp().ok());
  auto restored = store.Digest();
  ASSERT_TRUE(restored.ok());
  EXPECT_NE(ToHex(*restored), ToHex(*rebuilt));
  ExpectPackedRebuildEqualsReference(store);
  EXPECT_EQ(ToHex(*store.Digest()), ToHex(*restored));
}

}  // namespace
}  // namespace ledger

namespace ledger {
namespace {

// Enrolments recorded late, and departures, change the pricing of lines already stored: the
// catch-up prices again every event with a line of that provider in that network from the first
// day its enrolment changed (no rebuild) and ends byte-identical to a rebuild.
TEST(ProjectionIdentity, LateEnrolmentsAndDeparturesIncrementalEqualsRebuild) {
  const std::vector<std::string> lines = Generate(13, 4000);
  TempDir dir{"projection_identity_test"};
  auto log = EventLog::Open(dir.path());
  ASSERT_TRUE(log.ok());
  ProjectionStore store(**log);
  // The history without some providers' enrolments: their sessions are not billable at first.
  std::vector<std::string> held, rest;
  std::set<std::string> networks_of;
  for (const std::string& l : lines) {
    auto v = boost::json::parse(l).as_object();
    if (v["type"] == "provider.enrolled" && held.size() < 6 &&
        std::string(v["occurred_on"].as_string()) < "2023-01-01") {
      held.push_back(l);
    } else {
      rest.push_back(l);
    }
  }
  ASSERT_EQ(held.size(), 6u);
  AppendAll(**log, rest, 0, rest.size());
  ASSERT_TRUE(store.CatchUp().ok());
  auto before = store.Digest();
  const uint64_t rebuilds_before = store.stats().rebuilds;
  // Now the enrolments, one at a time, then departures of the same providers.
  for (size_t i = 0; i < held.size(); ++i) {
    AppendAll(**log, held, i, i + 1);
    ASSERT_TRUE(store.CatchUp().ok());
  }
  std::vector<std::string> departures;
  for (const std::string& l : held) {
    auto v = boost::json::parse(l).as_object();
    departures.push_back(R"({"id":"left-)" + std::string(v["provider_id"].as_string()) +
                         R"(","type":"provider.left","occurred_on":"2025-06-30","provider_id":")" +
                         std::string(v["provider_id"].as_string()) + R"(","network_id":")" +
                         std::string(v["network_id"].as_string()) + R"("})");
  }
  AppendAll(**log, departures, 0, 3);
  ASSERT_TRUE(store.CatchUp().ok());
  AppendAll(**log, departures, 3, departures.size());
  ASSERT_TRUE(store.CatchUp().ok());
  EXPECT_EQ(store.stats().rebuilds, rebuilds_before);  // all incremental
  EXPECT_GT(store.stats().beneficiaries_refolded, 10u);
  auto incremental = store.Digest();
  ASSERT_TRUE(store.Rebuild().ok());
  auto rebuilt = store.Digest();
  ASSERT_TRUE(incremental.ok() && rebuilt.ok() && before.ok());
  EXPECT_EQ(ToHex(*incremental), ToHex(*rebuilt));
  EXPECT_NE(ToHex(*before), ToHex(*rebuilt));  // the enrolments changed what is billed
  ExpectPackedRebuildEqualsReference(store);
}

// The next month of a ledger, as another history generated after it: its file registers the
// same 32 networks again, enrols providers with the same ids again in the same networks (as of
// the convention's start), and its budgets replace the year's. None of that asks for a rebuild
// or a refold: a network registered again changes nothing a fold reads, and enrolling a
// provider already enrolled does not change the days it is enrolled. The result is a
// rebuild's, byte for byte.
TEST(ProjectionIdentity, AMonthRegisteringAndEnrollingAgainIsCaughtUpWithoutARebuild) {
  const std::vector<std::string> history = Generate(14, 5000);
  const std::vector<std::string> month = Generate(15, 1500, kDefaultTo + 1, kDefaultTo + 30);
  size_t registrations = 0, enrolments = 0;
  std::set<std::string> newcomers;  // the month's beneficiaries (another seed: new people)
  for (const std::string& l : month) {
    const auto type = boost::json::parse(l).as_object().at("type");
    registrations += type == "network.registered";
    enrolments += type == "provider.enrolled";
    for (size_t at = l.find(R"("niss":")"); at != std::string::npos;
         at = l.find(R"("niss":")", at + 1)) {
      newcomers.insert(l.substr(at + 8, 11));
    }
  }
  ASSERT_EQ(registrations, 32u);
  ASSERT_GT(enrolments, 10u);
  TempDir dir{"projection_identity_test"};
  auto log = EventLog::Open(dir.path());
  ASSERT_TRUE(log.ok());
  ProjectionStore store(**log);
  AppendAll(**log, history, 0, history.size());
  ASSERT_TRUE(store.CatchUp().ok());
  const uint64_t rebuilds_before = store.stats().rebuilds;
  const uint64_t refolded_before = store.stats().beneficiaries_refolded;
  std::set<std::string> known;  // the history's beneficiaries
  ASSERT_TRUE(store
                  .ForEachTrajectory(
                      [&](std::string_view niss, const TrajectoryRecord&) { known.emplace(niss); })
                  .ok());
  for (size_t at = 0; at < month.size(); at += 250) {
    AppendAll(**log, month, at, std::min(month.size(), at + 250));
    ASSERT_TRUE(store.CatchUp().ok());
  }
  EXPECT_EQ(store.stats().rebuilds, rebuilds_before);
  // The enrolments again reprice nothing: the beneficiaries folded from the start are at most
  // the month's own (a fold of the whole history would be the 700 or so others too).
  ASSERT_GT(known.size(), 500u);
  EXPECT_LE(store.stats().beneficiaries_refolded - refolded_before, newcomers.size());
  auto incremental = store.Digest();
  ASSERT_TRUE(store.RebuildInMemory().ok());
  auto rebuilt = store.Digest();
  ASSERT_TRUE(incremental.ok() && rebuilt.ok());
  EXPECT_EQ(ToHex(*incremental), ToHex(*rebuilt));
  ExpectPackedRebuildEqualsReference(store);
}

// A stopping server asks the store to stop: a catch-up ends after the slice it is applying,
// with the store at that slice's seq, and a rebuild in slices after its slice, at seq 0. Both
// go on from there later and end as a rebuild does, byte for byte.
TEST(ProjectionIdentity, AStoppedCatchUpOrRebuildGoesOnLater) {
  const std::vector<std::string> lines = Generate(16, 4000);
  TempDir dir{"projection_identity_test"};
  auto log = EventLog::Open(dir.path());
  ASSERT_TRUE(log.ok());
  ProjectionStore store(**log);
  std::atomic<bool> stop{false};
  store.set_stop(&stop);
  AppendAll(**log, lines, 0, 1000);
  ASSERT_TRUE(store.CatchUp().ok());
  AppendAll(**log, lines, 1000, lines.size());
  store.set_catch_up_slice(500);
  int slices = 0;
  ASSERT_TRUE(store
                  .CatchUp([&](Seq, Seq) {
                    ++slices;
                    stop = true;  // asked while the first slice is applied
                  })
                  .ok());
  EXPECT_EQ(slices, 1);
  EXPECT_EQ(*store.seq(), 1500u);
  stop = false;
  ASSERT_TRUE(store.CatchUp().ok());
  EXPECT_EQ(*store.seq(), (*log)->head().seq);
  auto caught_up = store.Digest();

  store.set_in_memory_rebuild_max(0);
  store.set_packed_rebuild_max(0);
  stop = true;
  ASSERT_TRUE(store.Rebuild().ok());
  EXPECT_EQ(*store.seq(), 0u);
  stop = false;
  ASSERT_TRUE(store.CatchUp().ok());
  EXPECT_EQ(*store.seq(), (*log)->head().seq);
  auto rebuilt = store.Digest();
  ASSERT_TRUE(store.RebuildInMemory().ok());
  auto reference = store.Digest();
  ASSERT_TRUE(caught_up.ok() && rebuilt.ok() && reference.ok());
  EXPECT_EQ(ToHex(*caught_up), ToHex(*reference));
  EXPECT_EQ(ToHex(*rebuilt), ToHex(*reference));

  // A packed rebuild asked to stop leaves the store as it was (here at seq 0, as a stopped
  // rebuild in slices left it): before it folds, while it folds, and once it has merged what it
  // folded into table files. The next one goes on.
  stop = true;
  ASSERT_TRUE(store.Rebuild().ok());
  ASSERT_EQ(*store.seq(), 0u);
  auto as_it_was = store.Digest();
  ASSERT_TRUE(as_it_was.ok());
  ASSERT_TRUE(store.RebuildPacked().ok());
  EXPECT_EQ(*store.seq(), 0u);
  EXPECT_EQ(ToHex(*store.Digest()), ToHex(*as_it_was));
  for (const Seq stop_at : {Seq{2}, Seq{3}}) {  // in quarters of the head: the fold, the merge
    stop = false;
    int calls = 0;
    ASSERT_TRUE(store
                    .RebuildPacked([&](Seq done, Seq total) {
                      if (done * 4 >= total * stop_at && done < total) stop = true;
                      ++calls;
                    })
                    .ok());
    EXPECT_GE(calls, 1);
    EXPECT_TRUE(stop) << stop_at;
    EXPECT_EQ(*store.seq(), 0u);
    EXPECT_EQ(ToHex(*store.Digest()), ToHex(*as_it_was));
  }
  stop = false;
  ASSERT_TRUE(store.RebuildPacked().ok());
  EXPECT_EQ(*store.seq(), (*log)->head().seq);
  EXPECT_EQ(ToHex(*store.Digest()), ToHex(*reference));
}

}  // namespace
}  // namespace ledger

namespace ledger {
namespace {

// While a packed rebuild writes, views (what ledgerd answers from) are of the projections as
// they were before it: their seq and their lines, not the half-written store's.
TEST(ProjectionIdentity, ViewsDuringAPackedRebuildAreOfTheSeqBefore) {
  const std::vector<std::string> lines = Generate(17, 3000);
  TempDir dir{"projection_identity_test"};
  auto log = EventLog::Open(dir.path());
  ASSERT_TRUE(log.ok());
  ProjectionStore store(**log);
  std::shared_mutex mu;
  store.set_write_lock(&mu);
  AppendAll(**log, lines, 0, 2000);
  ASSERT_TRUE(store.CatchUp().ok());
  const Seq before = *store.seq();
  auto history = History::Load(**log);
  ASSERT_TRUE(history.ok());
  const Projection p = Project(*history, RulesetCatalog());
  ASSERT_FALSE(p.lines.empty());
  const std::string provider = history->providers.Name(p.lines.back().provider);
  const int32_t month = MonthOf(p.lines.back().day);
  auto lines_before = store.Lines(provider, month);
  ASSERT_TRUE(lines_before.ok());
  ASSERT_FALSE(lines_before->empty());

  AppendAll(**log, lines, 2000, lines.size());  // not caught up: the rebuild brings them
  // A view made before and read after: the projections it was made of, though replaced.
  std::optional<ProjectionView> kept;
  kept.emplace(store.View());
  int seen = 0;
  ASSERT_TRUE(store
                  .RebuildPacked([&](Seq done, Seq total) {
                    if (done < total / 2 || done == total) return;  // the fold, not the read
                    std::shared_lock<std::shared_mutex> lock(mu);
                    const ProjectionView view = store.View();
                    EXPECT_EQ(*view.seq(), before);
                    auto read = view.Lines(provider, month);
                    ASSERT_TRUE(read.ok());
                    EXPECT_EQ(read->size(), lines_before->size());
                    EXPECT_EQ(*store.seq(), before);  // as views answer, not 0 as written
                    ++seen;
                  })
                  .ok());
  EXPECT_GE(seen, 1);
  EXPECT_EQ(*store.View().seq(), (*log)->head().seq);
  EXPECT_EQ(*kept->seq(), before);
  auto kept_lines = kept->Lines(provider, month);
  ASSERT_TRUE(kept_lines.ok());
  EXPECT_EQ(kept_lines->size(), lines_before->size());
  kept.reset();
  ExpectPackedRebuildEqualsReference(store);
}

}  // namespace
}  // namespace ledger

namespace ledger {
namespace {

// The packed rebuild takes event ids from the id index. Should the index be corrupt (an id
// missing, or two ids for one seq: what `verify` reports), the lines still carry their events'
// own ids.
TEST(ProjectionIdentity, APackedRebuildOverACorruptIdIndexStillNamesEachLinesEvent) {
  const std::vector<std::string> lines = Generate(18, 2000);
  TempDir dir{"projection_identity_test"};
  auto log = EventLog::Open(dir.path());
  ASSERT_TRUE(log.ok());
  AppendAll(**log, lines, 0, lines.size());
  std::vector<std::string> sessions;  // ids of individual sessions
  for (const std::string& l : lines) {
    auto v = boost::json::parse(l).as_object();
    if (v["type"] == "session.individual") sessions.emplace_back(v["id"].as_string());
  }
  ASSERT_GT(sessions.size(), 100u);
  rocksdb::DB* db = (*log)->raw_db();
  std::string entry;
  ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), (*log)->ids_cf(), sessions[10], &entry).ok());
  ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), (*log)->ids_cf(), "ghost", entry).ok());
  ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), (*log)->ids_cf(), sessions[20]).ok());
  ProjectionStore store(**log);
  ExpectPackedRebuildEqualsReference(store);
}

// In ledgerd a rebuild runs while appends go on: the id index then holds ids of events after the
// head the rebuild read. Those are not the rebuild's, and not a corrupt index.
TEST(ProjectionIdentity, APackedRebuildLeavesTheIdsOfEventsAfterItsHeadAlone) {
  const std::vector<std::string> lines = Generate(19, 20000);
  TempDir dir{"projection_identity_test"};
  auto log = EventLog::Open(dir.path());
  ASSERT_TRUE(log.ok());
  AppendAll(**log, lines, 0, 18000);
  const Seq head = (*log)->head().seq;
  ProjectionStore store(**log);
  std::atomic<bool> appended{false};
  ASSERT_TRUE(store
                  .RebuildPacked([&](Seq, Seq) {
                    // While it reads the log (a progress report every 8,192 events read).
                    if (!appended.exchange(true)) AppendAll(**log, lines, 18000, lines.size());
                  })
                  .ok());
  ASSERT_TRUE(appended);
  EXPECT_EQ(*store.seq(), head);
  EXPECT_GT((*log)->head().seq, head);
  ASSERT_TRUE(store.CatchUp().ok());
  ExpectStoreEqualsReference(store);
}

}  // namespace
}  // namespace ledger
