#include "ledger/event_log.h"

#include <capnp/message.h>
#include <gtest/gtest.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/sst_file_writer.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ledger/event_log_internal.h"
#include "ledger/facts.h"
#include "ledger/testing/temp_dir.h"
#include "schemas/civil_date.h"
#include "schemas/json_codec.h"

namespace ledger {
namespace {

// ---------------------------------------------------------------------------------------------
// Fixtures and helpers.

// The injected clock: tests move it, forwards or backwards.
class FakeClock {
 public:
  explicit FakeClock(int64_t now_us) : now_us_(std::make_shared<std::atomic<int64_t>>(now_us)) {}
  void Set(int64_t now_us) { now_us_->store(now_us); }
  std::function<int64_t()> fn() const {
    return [now = now_us_] { return now->load(); };
  }

 private:
  std::shared_ptr<std::atomic<int64_t>> now_us_;
};

constexpr int64_t kT0 = 1'717'200'000'000'000;  // 2024-06-01T00:00:00Z
const CivilDay kRecordingDay = ToDay({2025, 1, 1});

struct Person {
  const char* niss;
  const char* birth_date;
};
// Valid NISS from the shared cases.
constexpr Person kPeople[] = {
    {"88120105504", "1988-12-01"},
    {"90031210192", "1990-03-12"},
    {"80113004536", "1980-11-30"},
    {"75061533358", "1975-06-15"},
};

std::string Beneficiary(int person) {
  const Person& p = kPeople[person];
  return std::string(R"({"niss": ")") + p.niss + R"(", "birth_date": ")" + p.birth_date +
         R"(", "bim": false})";
}

std::string Session(const std::string& id, int person = 0, int minutes = 60) {
  return R"({"id": ")" + id +
         R"(", "type": "session.individual", "occurred_on": "2024-06-03", "provider_id": "P-100", )"
         R"("network_id": "N-1", "beneficiary": )" +
         Beneficiary(person) + R"(, "function": "support", "minutes": )" + std::to_string(minutes) +
         R"(, "location": "practice"})";
}
std::string Network(const std::string& id, const std::string& network_id) {
  return R"({"id": ")" + id +
         R"(", "type": "network.registered", "occurred_on": "2021-01-01", )"
         R"("network_id": ")" +
         network_id + R"(", "name": "A network", "population": "adults"})";
}
std::string Budget(const std::string& id, const std::string& network_id) {
  return R"({"id": ")" + id +
         R"(", "type": "budget.allocated", "occurred_on": "2024-01-01", )"
         R"("network_id": ")" +
         network_id + R"(", "year": 2024, "care_budget_cents": 1000})";
}
std::string Mission(const std::string& id, const std::string& provider_id) {
  return R"({"id": ")" + id +
         R"(", "type": "support.mission", "occurred_on": "2024-06-05", )"
         R"("provider_id": ")" +
         provider_id +
         R"(", "network_id": "N-1", "minutes": 90, )"
         R"("kind": "co_consultation"})";
}
std::string Ruleset(const std::string& id) {
  return R"({"id": ")" + id +
         R"(", "type": "ruleset.published", "occurred_on": "2024-04-01", )"
         R"("ruleset": {"id": "convention-2024", "version": 1}, "reason": "initial"})";
}
std::string Void(const std::string& id, const std::string& target) {
  return R"({"id": ")" + id +
         R"(", "type": "event.voided", "occurred_on": "2024-06-20", )"
         R"("target": ")" +
         target + R"(", "reason": "wrong beneficiary"})";
}
// The same event with an expected_version.
std::string Expect(std::string json, int64_t version) {
  json.insert(json.size() - 1, R"(, "expected_version": )" + std::to_string(version));
  return json;
}

DecodedEvent Ev(const std::string& json, int64_t index = 0) {
  auto decoded = DecodeEventJson(json, index, kRecordingDay);
  if (!decoded) {
    std::fprintf(stderr, "test event does not decode: %s\n%s\n", decoded.error().ToString().c_str(),
                 json.c_str());
    std::abort();
  }
  return std::move(decoded).value();
}

std::vector<DecodedEvent> Evs(const std::vector<std::string>& jsons) {
  std::vector<DecodedEvent> out;
  for (size_t i = 0; i < jsons.size(); ++i) out.push_back(Ev(jsons[i], static_cast<int64_t>(i)));
  return out;
}

std::vector<std::string> Sessions(const std::string& prefix, int count) {
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) out.push_back(Session(prefix + std::to_string(i), i % 4));
  return out;
}

std::unique_ptr<EventLog> OpenOk(const std::string& dir, LogOptions options = {}) {
  auto log = EventLog::Open(dir, std::move(options));
  if (!log) {
    ADD_FAILURE() << "Open: " << log.error().ToString();
    return nullptr;
  }
  return std::move(log).value();
}

std::string Key(Seq seq) {
  std::string k;
  for (int i = 7; i >= 0; --i) k.push_back(static_cast<char>((seq >> (8 * i)) & 0xff));
  return k;
}

struct ReadEvent {
  Seq seq;
  std::string id;
  int64_t recorded_at_us;
  Hash hash;
};

std::vector<ReadEvent> ReadAll(const EventLog& log, Seq from = 1, Seq to = UINT64_MAX) {
  std::vector<ReadEvent> out;
  Status s = log.ReadRange(from, to, [&](const StoredEventView& v) {
    EXPECT_EQ(v.stored().getSeq(), v.seq());
    out.push_back({v.seq(), v.event().getId().cStr(), v.stored().getRecordedAtUs(), v.hash()});
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.error().ToString();
  return out;
}

std::vector<Seq> SeqsOf(const std::vector<ReadEvent>& events) {
  std::vector<Seq> out;
  for (const auto& e : events) out.push_back(e.seq);
  return out;
}

std::vector<Seq> Range(Seq first, Seq last) {
  std::vector<Seq> out;
  for (Seq s = first; s <= last; ++s) out.push_back(s);
  return out;
}

std::optional<Seq> Find(const EventLog& log, const std::string& id) {
  auto r = log.FindId(id);
  EXPECT_TRUE(r.ok()) << r.error().ToString();
  return r.ok() ? *r : std::nullopt;
}

std::vector<Seq> Stream(const EventLog& log, const std::string& stream) {
  auto r = log.StreamSeqs(stream);
  EXPECT_TRUE(r.ok()) << r.error().ToString();
  return r.ok() ? *r : std::vector<Seq>{};
}

VerifyReport VerifyOf(const EventLog& log) {
  auto r = log.Verify();
  EXPECT_TRUE(r.ok()) << r.error().ToString();
  return r.ok() ? *r : VerifyReport{false, 0, {}, 0, "Verify failed: " + r.error().ToString()};
}

// Keys stored in a column family with seq >= from, read under the log.
std::vector<Seq> RawKeysFrom(EventLog& log, rocksdb::ColumnFamilyHandle* cf, Seq from) {
  std::vector<Seq> out;
  std::unique_ptr<rocksdb::Iterator> it(log.raw_db()->NewIterator(rocksdb::ReadOptions(), cf));
  for (it->Seek(Key(from)); it->Valid(); it->Next()) {
    Seq seq = 0;
    for (unsigned char c : it->key().ToString()) seq = (seq << 8) | c;
    out.push_back(seq);
  }
  EXPECT_TRUE(it->status().ok()) << it->status().ToString();
  return out;
}
std::vector<Seq> RawEventKeysFrom(EventLog& log, Seq from) {
  return RawKeysFrom(log, log.events_cf(), from);
}
std::vector<Seq> RawFactKeysFrom(EventLog& log, Seq from) {
  return RawKeysFrom(log, log.facts_cf(), from);
}

std::string RawGet(EventLog& log, Seq seq) {
  std::string v;
  rocksdb::Status s = log.raw_db()->Get(rocksdb::ReadOptions(), log.events_cf(), Key(seq), &v);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return v;
}

void RawPut(EventLog& log, Seq seq, const std::string& value) {
  rocksdb::WriteOptions w;
  w.sync = true;
  rocksdb::Status s = log.raw_db()->Put(w, log.events_cf(), Key(seq), value);
  ASSERT_TRUE(s.ok()) << s.ToString();
}

void RawDelete(EventLog& log, Seq seq) {
  rocksdb::WriteOptions w;
  w.sync = true;
  rocksdb::Status s = log.raw_db()->Delete(w, log.events_cf(), Key(seq));
  ASSERT_TRUE(s.ok()) << s.ToString();
}

// Appends the batch and expects it to commit.
AppendResult AppendOk(EventLog& log, const std::vector<std::string>& jsons) {
  auto r = log.AppendAll(Evs(jsons));
  if (!r) {
    ADD_FAILURE() << "AppendAll: " << r.error().ToString();
    return {};
  }
  return std::move(r).value();
}

// Appends the batch and expects it to be refused.
Error AppendFails(EventLog& log, const std::vector<std::string>& jsons) {
  auto r = log.AppendAll(Evs(jsons));
  if (r) {
    ADD_FAILURE() << "the batch was accepted, last_seq " << r->last_seq;
    return Error{};
  }
  return r.error();
}

// ---------------------------------------------------------------------------------------------
// Sequence numbers and recording time.

TEST(EventLogTest, EmptyLogHasGenesisHead) {
  TempDir dir{"event_log_test"};
  auto log = OpenOk(dir.path());
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->head().seq, 0u);
  EXPECT_EQ(log->head().hash, Hash{});
  EXPECT_TRUE(ReadAll(*log).empty());
  VerifyReport report = VerifyOf(*log);
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.events, 0u);
  EXPECT_TRUE(log->failure().empty());
}

TEST(EventLogTest, SeqsAreGaplessAcrossBatchesAndReopen) {
  TempDir dir{"event_log_test"};
  FakeClock clock(kT0);
  Head before;
  {
    auto log = OpenOk(dir.path(), {.now_us = clock.fn()});
    ASSERT_NE(log, nullptr);
    AppendResult r1 = AppendOk(*log, {Session("a"), Session("b", 1), Session("c", 2)});
    EXPECT_EQ(r1.appended, 3u);
    EXPECT_EQ(r1.duplicates, 0u);
    EXPECT_EQ(r1.last_seq, 3u);
    ASSERT_EQ(r1.results.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(r1.results[i].seq, i + 1);
      EXPECT_EQ(r1.results[i].status, AppendStatus::kAppended);
    }
    EXPECT_EQ(r1.results[1].id, "b");
    AppendResult r2 = AppendOk(*log, {Session("d"), Session("e")});
    EXPECT_EQ(r2.last_seq, 5u);
    EXPECT_EQ(r2.results[0].seq, 4u);
    EXPECT_EQ(r2.results[1].seq, 5u);
    EXPECT_EQ(log->head().seq, 5u);
    auto events = ReadAll(*log);
    EXPECT_EQ(SeqsOf(events), Range(1, 5));
    ASSERT_EQ(events.size(), 5u);
    EXPECT_EQ(events[3].id, "d");
    EXPECT_EQ(events[4].hash, log->head().hash);
    EXPECT_EQ(Find(*log, "c"), 3u);
    before = log->head();
  }
  auto log = OpenOk(dir.path(), {.now_us = clock.fn()});
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->head().seq, 5u);
  EXPECT_EQ(log->head().hash, before.hash);
  EXPECT_NE(log->head().hash, Hash{});
  AppendResult r3 = AppendOk(*log, {Session("f"), Session("g")});
  EXPECT_EQ(r3.results[0].seq, 6u);
  EXPECT_EQ(r3.last_seq, 7u);
  EXPECT_EQ(SeqsOf(ReadAll(*log)), Range(1, 7));
  VerifyReport report = VerifyOf(*log);
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.events, 7u);
}

TEST(EventLogTest, RecordedAtNeverGoesBackwards) {
  TempDir dir{"event_log_test"};
  FakeClock clock(kT0);
  {
    auto log = OpenOk(dir.path(), {.now_us = clock.fn()});
    ASSERT_NE(log, nullptr);
    AppendOk(*log, {Session("a"), Session("b")});
    clock.Set(kT0 - 3'600'000'000);  // the wall clock jumps an hour back
    AppendOk(*log, {Session("c")});
    clock.Set(kT0 + 10);
    AppendOk(*log, {Session("d")});
    EXPECT_EQ(log->head().recorded_at_us, kT0 + 10);
    clock.Set(kT0 - 1);
  }
  // The head's time survives a restart: the clock is still behind after reopening.
  auto log = OpenOk(dir.path(), {.now_us = clock.fn()});
  ASSERT_NE(log, nullptr);
  AppendOk(*log, {Session("e")});
  auto events = ReadAll(*log);
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[0].recorded_at_us, kT0);
  EXPECT_EQ(events[1].recorded_at_us, kT0);
  EXPECT_EQ(events[2].recorded_at_us, kT0);
  EXPECT_EQ(events[3].recorded_at_us, kT0 + 10);
  EXPECT_EQ(events[4].recorded_at_us, kT0 + 10);
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_GE(events[i].recorded_at_us, events[i - 1].recorded_at_us) << "seq " << events[i].seq;
  }
  EXPECT_TRUE(VerifyOf(*log).ok);
}

// ---------------------------------------------------------------------------------------------
// Idempotency: duplicates and conflicts.

TEST(EventLogTest, DuplicateInLaterBatchAnswersOriginalSeq) {
  TempDir dir{"event_log_test"};
  auto log = OpenOk(dir.path());
  ASSERT_NE(log, nullptr);
  AppendOk(*log, {Session("a"), Session("b", 1)});
  const Head head = log->head();

  // The same content with its keys in another order and other spacing is the same event.
  const std::string b_again =
      R"({"type":"session.individual","id":"b","network_id":"N-1","provider_id":"P-100",)"
      R"("occurred_on":"2024-06-03","location":"practice","minutes":60,"function":"support",)"
      R"("beneficiary":{"bim":false,"birth_date":"1990-03-12","niss":"90031210192"}})";
  AppendResult r = AppendOk(*log, {b_again, Session("a")});
  EXPECT_EQ(r.appended, 0u);
  EXPECT_EQ(r.duplicates, 2u);
  EXPECT_EQ(r.last_seq, 2u);
  ASSERT_EQ(r.results.size(), 2u);
  EXPECT_EQ(r.results[0].status, AppendStatus::kDuplicate);
  EXPECT_EQ(r.results[0].seq, 2u);
  EXPECT_EQ(r.results[0].id, "b");
  EXPECT_EQ(r.results[1].status, AppendStatus::kDuplicate);
  EXPECT_EQ(r.results[1].seq, 1u);
  EXPECT_EQ(log->head().seq, head.seq);
  EXPECT_EQ(log->head().hash, head.hash);

  // A duplicate beside new events: only the new ones are stored.
  AppendResult mixed = AppendOk(*log, {Session("a"), Session("c", 2)});
  EXPECT_EQ(mixed.appended, 1u);
  EXPECT_EQ(mixed.duplicates, 1u);
  EXPECT_EQ(mixed.results[0].seq, 1u);
  EXPECT_EQ(mixed.results[0].status, AppendStatus::kDuplicate);
  EXPECT_EQ(mixed.results[1].seq, 3u);
  EXPECT_EQ(mixed.results[1].status, AppendStatus::kAppended);
  EXPECT_EQ(SeqsOf(ReadAll(*log)), Range(1, 3));
  // A duplicate does not count in its stream.
  EXPECT_EQ(Stream(*log, "beneficiary/88120105504"), std::vector<Seq>{1});
  EXPECT_TRUE(VerifyOf(*log).ok);
}

TEST(EventLogTest, DuplicateInsideOneBatch) {
  TempDir dir{"event_log_test"};
  auto log = OpenOk(dir.path());
  ASSERT_NE(log, nullptr);
  AppendOk(*log, {Session("a")});
  AppendResult r = AppendOk(*log, {Session("d"), Session("e"), Session("d")});
  EXPECT_EQ(r.appended, 2u);
  EXPECT_EQ(r.duplicates, 1u);
  ASSERT_EQ(r.results.size(), 3u);
  EXPECT_EQ(r.results[0].seq, 2u);
  EXPECT_EQ(r.results[1].seq, 3u);
  EXPECT_EQ(r.results[2].seq, 2u);
  EXPECT_EQ(r.results[2].status, AppendStatus::kDuplicate);
  EXPECT_EQ(log->head().seq, 3u);
  auto events = ReadAll(*log);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1].id, "d");
  EXPECT_EQ(events[2].id, "e");
  EXPECT_TRUE(VerifyOf(*log).ok);
}

TEST(EventLogTest, ConflictingIdStoresNothingOfTheBatch) {
  TempDir dir{"event_log_test"};
  auto log = OpenOk(dir.path());
  ASSERT_NE(log, nullptr);
  AppendOk(*log, {Session("a")});
  const Head head = log->head();
  {
    auto append = log->BeginAppend();
    ASSERT_TRUE(append->Add(Ev(Session("x", 1), 0)).ok());
    ASSERT_TRUE(append->Add(Ev(Session("y", 2), 1)).ok());
    EXPECT_EQ(append->next_seq(), 4u);
    Status s = append->Add(Ev(Session("a", 0, 45), 2));  // same id, other minutes
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::kConflict);
    EXPECT_EQ(s.error().field, "id");
    EXPECT_EQ(s.error().index, 2);
    EXPECT_EQ(s.error().id, "a");
    // After an error the batch can only be dropped.
    EXPECT_FALSE(append->Add(Ev(Session("z"), 3)).ok());
    EXPECT_FALSE(append->Commit().ok());
    // Nothing is visible while it is open either.
    EXPECT_EQ(log->head().seq, head.seq);
  }
  EXPECT_EQ(log->head().seq, head.seq);
  EXPECT_EQ(log->head().hash, head.hash);
  EXPECT_EQ(SeqsOf(ReadAll(*log)), Range(1, 1));
  EXPECT_EQ(Find(*log, "x"), std::nullopt);
  EXPECT_EQ(Find(*log, "y"), std::nullopt);
  EXPECT_EQ(Find(*log, "a"), 1u);
  EXPECT_TRUE(Stream(*log, "beneficiary/90031210192").empty());

  // The same id twice in one batch with other content is a conflict as well.
  Error e = AppendFails(*log, {Session("p"), Session("q"), Session("p", 0, 30)});
  EXPECT_EQ(e.code, ErrorCode::kConflict);
  EXPECT_EQ(e.field, "id");
  EXPECT_EQ(e.index, 2);
  EXPECT_EQ(Find(*log, "p"), std::nullopt);

  // The next batch continues right after the head: no seq was lost.
  AppendResult r = AppendOk(*log, {Session("x", 1)});
  EXPECT_EQ(r.results[0].seq, 2u);
  EXPECT_EQ(SeqsOf(ReadAll(*log)), Range(1, 2));
  EXPECT_TRUE(VerifyOf(*log).ok);
}

// ---------------------------------------------------------------------------------------------
// Streams and expected_version.

TEST(EventLogTest, ExpectedVersionMatchesPerStream) {
  TempDir dir{"event_log_test"};
  auto log = OpenOk(dir.path());
  ASSERT_NE(log, nullptr);
  AppendResult r = AppendOk(*log, {
                                      Expect(Network("n1", "N-1"), 0),    // 1 network/N-1
                                      Expect(Session("s1", 0), 0),        // 2 beneficiary/0
                                      Expect(Session("s2", 0), 1),        // 3 beneficiary/0
                                      Expect(Session("s3", 1), 0),        // 4 beneficiary/1
                                      Expect(Mission("m1", "P-100"), 0),  // 5 provider/P-100
                                      Expect(Budget("b1", "N-1"), 1),     // 6 network/N-1
                                      Expect(Ruleset("r1"), 0),           // 7 rules
                                      Mission("m2", "P-200"),             // 8 provider/P-200
                                  });
  EXPECT_EQ(r.last_seq, 8u);
  AppendOk(*log, {Expect(Session("s4", 0), 2), Expect(Ruleset("r2"), 1)});  // 9, 10

  EXPECT_EQ(Stream(*log, "network/N-1"), (std::vector<Seq>{1, 6}));
  EXPECT_EQ(Stream(*log, "beneficiary/88120105504"), (std::vector<Seq>{2, 3, 9}));
  EXPECT_EQ(Stream(*log, "beneficiary/90031210192"), (std::vector<Seq>{4}));
  EXPECT_EQ(Stream(*log, "provider/P-100"), (std::vector<Seq>{5}));
  EXPECT_EQ(Stream(*log, "provider/P-200"), (std::vector<Seq>{8}));
  EXPECT_EQ(Stream(*log, "rules"), (std::vector<Seq>{7, 10}));
  EXPECT_TRUE(Stream(*log, "provider/P-1").empty());  // a prefix of another stream's name
  EXPECT_TRUE(Stream(*log, "network/N-2").empty());

  // Versions survive a restart.
  log.reset();
  log = OpenOk(dir.path());
  ASSERT_NE(log, nullptr);
  AppendOk(*log, {Expect(Mission("m3", "P-100"), 1)});
  EXPECT_EQ(Stream(*log, "provider/P-100"), (std::vector<Seq>{5, 11}));
  EXPECT_TRUE(VerifyOf(*log).ok);
}

TEST(EventLogTest, ExpectedVersionMismatchStoresNothing) {
  TempDir dir{"event_log_test"};
  auto log = OpenOk(dir.path());
  ASSERT_NE(log, nullptr);
  AppendOk(*log, {Session("s1"), Session("s2")});  // beneficiary stream at version 2
  const Head head = log->head();

  Error stale = AppendFails(*log, {Mission("m1", "P-100"), Expect(Session("s3"), 1)});
  EXPECT_EQ(stale.code, ErrorCode::kConflict);
  EXPECT_EQ(stale.field, "expected_version");
  EXPECT_EQ(stale.index, 1);
  EXPECT_EQ(stale.id, "s3");
  // The message must not echo the stream (it holds a NISS).
  EXPECT_EQ(stale.message.find("88120105504"), std::string::npos) << stale.message;

  Error ahead = AppendFails(*log, {Expect(Session("s3"), 3)});
  EXPECT_EQ(ahead.code, ErrorCode::kConflict);
  EXPECT_EQ(ahead.field, "expected_version");

  // Inside one batch the version counts the batch's own events.
  Error in_batch = AppendFails(*log, {Expect(Session("s3"), 2), Expect(Session("s4"), 2)});
  EXPECT_EQ(in_batch.code, ErrorCode::kConflict);
  EXPECT_EQ(in_batch.index, 1);

  EXPECT_EQ(log->head().seq, head.seq);
  EXPECT_EQ(log->head().hash, head.hash);
  EXPECT_EQ(Find(*log, "m1"), std::nullopt);
  EXPECT_EQ(Find(*log, "s3"), std::nullopt);
  EXPECT_TRUE(Stream(*log, "provider/P-100").empty());
  EXPECT_EQ(Stream(*log, "beneficiary/88120105504"), (std::vector<Seq>{1, 2}));

  AppendResult ok = AppendOk(*log, {Expect(Session("s3"), 2), Expect(Session("s4"), 3)});
  EXPECT_EQ(ok.last_seq, 4u);
  EXPECT_EQ(Stream(*log, "beneficiary/88120105504"), (std::vector<Seq>{1, 2, 3, 4}));
}

TEST(EventLogTest, VoidBelongsToItsTargetsStream) {
  TempDir dir{"event_log_test"};
  auto log = OpenOk(dir.path());
  ASSERT_NE(log, nullptr);
  AppendOk(*log, {Session("s1", 1), Mission("m1", "P-100")});
  // The beneficiary stream is at version 1; the void's expected_version is checked against it.
  AppendOk(*log, {Expect(Void("v1", "s1"), 1), Expect(Void("v2", "m1"), 1)});
  EXPECT_EQ(Stream(*log, "beneficiary/90031210192"), (std::vector<Seq>{1, 3}));
  EXPECT_EQ(Stream(*log, "provider/P-100"), (std::vector<Seq>{2, 4}));
  // A void of a void is in the same stream again.
  AppendOk(*log, {Void("v3", "v1")});
  EXPECT_EQ(Stream(*log, "beneficiary/90031210192"), (std::vector<Seq>{1, 3, 5}));
  EXPECT_TRUE(Stream(*log, "").empty());
}

TEST(EventLogTest, VoidTargetMustExist) {
  TempDir dir{"event_log_test"};
  auto log = OpenOk(dir.path());
  ASSERT_NE(log, nullptr);
  AppendOk(*log, {Session("s1")});
  Error e = AppendFails(*log, {Session("s2"), Void("v1", "nope")});
  EXPECT_EQ(e.code, ErrorCode::kInvalidEvent);
  EXPECT_EQ(e.field, "target");
  EXPECT_EQ(e.index, 1);
  EXPECT_EQ(e.id, "v1");
  EXPECT_EQ(log->head().seq, 1u);
  EXPECT_EQ(Find(*log, "s2"), std::nullopt);

  // A target from a dropped batch does not exist either.
  Error dropped = AppendFails(*log, {Void("v1", "s2")});
  EXPECT_EQ(dropped.field, "target");

  // A target earlier in the same batch is fine, and so is one already stored.
  AppendResult r = AppendOk(*log, {Session("s2", 2), Void("v1", "s2"), Void("v2", "s1")});
  EXPECT_EQ(r.last_seq, 4u);
  EXPECT_EQ(Stream(*log, "beneficiary/80113004536"), (std::vector<Seq>{2, 3}));
  EXPECT_EQ(Stream(*log, "beneficiary/88120105504"), (std::vector<Seq>{1, 4}));
  EXPECT_TRUE(VerifyOf(*log).ok);
}

// ---------------------------------------------------------------------------------------------
// Large batches: chunks written before the commit.

TEST(EventLogTest, LargeBatchIsAllOrNothing) {
  TempDir dir{"event_log_test"};
  LogOptions options;
  options.chunk_events_max = 10;
  auto log = OpenOk(dir.path(), options);
  ASSERT_NE(log, nullptr);

  AppendResult r = AppendOk(*log, Sessions("a", 95));
  EXPECT_EQ(r.appended, 95u);
  EXPECT_EQ(r.last_seq, 95u);
  EXPECT_EQ(log->head().seq, 95u);
  EXPECT_EQ(SeqsOf(ReadAll(*log)), Range(1, 95));
  const Head head = log->head();

  // The second batch fails at event 80, after 8 chunks were written.
  std::vector<std::string> second = Sessions("b", 95);
  second[80] = Session("a0", 0, 30);  // a's id, other content
  {
    auto append = log->BeginAppend();
    for (int i = 0; i < 80; ++i) {
      ASSERT_TRUE(append->Add(Ev(second[i], i)).ok()) << i;
    }
    // Chunks are stored under the log but not visible (the last may still be in flight).
    EXPECT_GE(RawEventKeysFrom(*log, 96).size(), 70u);
    EXPECT_LE(RawEventKeysFrom(*log, 96).size(), 80u);
    EXPECT_EQ(log->head().seq, 95u);
    EXPECT_TRUE(ReadAll(*log, 96).empty());
    EXPECT_EQ(Find(*log, "b0"), std::nullopt);
    Status s = append->Add(Ev(second[80], 80));
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::kConflict);
    EXPECT_EQ(s.error().index, 80);
  }
  EXPECT_EQ(log->head().seq, head.seq);
  EXPECT_EQ(log->head().hash, head.hash);
  EXPECT_TRUE(ReadAll(*log, 96).empty());
  EXPECT_TRUE(RawEventKeysFrom(*log, 96).empty());  // dropping took the chunks back
  EXPECT_EQ(Find(*log, "b0"), std::nullopt);

  log.reset();
  log = OpenOk(dir.path(), options);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->head().seq, 95u);
  EXPECT_EQ(SeqsOf(ReadAll(*log)), Range(1, 95));
  EXPECT_TRUE(RawEventKeysFrom(*log, 96).empty());
  VerifyReport report = VerifyOf(*log);
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.events, 95u);
  EXPECT_EQ(report.head, head.hash);

  // The next large batch builds on the old head.
  AppendResult again = AppendOk(*log, Sessions("c", 95));
  EXPECT_EQ(again.results.front().seq, 96u);
  EXPECT_EQ(again.last_seq, 190u);
  EXPECT_TRUE(VerifyOf(*log).ok);
}

TEST(EventLogTest, LargeBatchDroppedWithoutErrorStoresNothing) {
  TempDir dir{"event_log_test"};
  LogOptions options;
  options.chunk_events_max = 7;
  auto log = OpenOk(dir.path(), options);
  ASSERT_NE(log, nullptr);
  AppendOk(*log, {Session("first")});
  {
    auto append = log->BeginAppend();
    std::vector<std::string> batch = Sessions("x", 50);
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(append->Add(Ev(batch[i], i)).ok());
    EXPECT_FALSE(RawEventKeysFrom(*log, 2).empty());
    // Their facts too, beside them (the last chunk may still be in flight).
    EXPECT_GE(RawFactKeysFrom(*log, 2).size(), 6u);
    EXPECT_LE(RawFactKeysFrom(*log, 2).size(), 7u);
  }  // dropped, never committed
  EXPECT_EQ(log->head().seq, 1u);
  EXPECT_TRUE(RawEventKeysFrom(*log, 2).empty());
  EXPECT_TRUE(RawFactKeysFrom(*log, 2).empty());
  EXPECT_EQ(Find(*log, "x0"), std::nullopt);
  EXPECT_TRUE(Stream(*log, "beneficiary/90031210192").empty());
  EXPECT_TRUE(VerifyOf(*log).ok);
}

TEST(EventLogTest, OpenRemovesEventsBeyondTheHead) {
  TempDir dir{"event_log_test"};
  {
    auto log = OpenOk(dir.path());
    ASSERT_NE(log, nullptr);
    AppendOk(*log, {Session("a"), Session("b"), Session("c")});
    // What a crashed batch leaves: events after the head (here a copy and some junk).
    RawPut(*log, 4, RawGet(*log, 3));
    RawPut(*log, 9, std::string(40, 'x'));
    EXPECT_EQ(RawEventKeysFrom(*log, 4), (std::vector<Seq>{4, 9}));
  }
  auto log = OpenOk(dir.path());
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->head().seq, 3u);
  EXPECT_TRUE(RawEventKeysFrom(*log, 4).empty());
  EXPECT_EQ(SeqsOf(ReadAll(*log)), Range(1, 3));
  VerifyReport report = VerifyOf(*log);
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.events, 3u);
  AppendResult r = AppendOk(*log, {Session("d")});
  EXPECT_EQ(r.last_seq, 4u);
  EXPECT_TRUE(VerifyOf(*log).ok);
}

TEST(EventLogTest, OpenRemovesEventsWhenNoHeadWasEverWritten) {
  TempDir dir{"event_log_test"};
  std::string value;
  {
    TempDir other{"event_log_test"};
    auto source = OpenOk(other.path());
    ASSERT_NE(source, nullptr);
    AppendOk(*source, {Session("a")});
    value = RawGet(*source, 1);
  }
  {
    auto log = OpenOk(dir.path());
    ASSERT_NE(log, nullptr);
    RawPut(*log, 1, value);  // a first batch's chunk, crashed before its commit
  }
  auto log = OpenOk(dir.path());
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->head().seq, 0u);
  EXPECT_TRUE(RawEventKeysFrom(*log, 1).empty());
  EXPECT_TRUE(VerifyOf(*log).ok);
  EXPECT_EQ(AppendOk(*log, {Session("a")}).last_seq, 1u);
}

// ---------------------------------------------------------------------------------------------
// Verify and tampering.

TEST(EventLogTest, VerifyAcceptsAGoodLog) {
  TempDir dir{"event_log_test"};
  LogOptions options;
  options.chunk_events_max = 4;
  auto log = OpenOk(dir.path(), options);
  ASSERT_NE(log, nullptr);
  AppendOk(*log, Sessions("a", 10));
  AppendOk(*log, {Network("n", "N-1"), Void("v", "a3")});
  std::vector<std::pair<Seq, Seq>> progress;
  auto report = log->Verify([&](Seq done, Seq total) { progress.emplace_back(done, total); });
  ASSERT_TRUE(report.ok()) << report.error().ToString();
  EXPECT_TRUE(report->ok) << report->problem;
  EXPECT_EQ(report->events, 12u);
  EXPECT_EQ(report->head, log->head().hash);
  EXPECT_EQ(report->head, ReadAll(*log).back().hash);
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back(), (std::pair<Seq, Seq>{12, 12}));
}

class TamperTest : public testing::Test {
 protected:
  static constexpr Seq kEvents = 6;
  static constexpr Seq kTarget = 3;

  void SetUp() override {
    log_ = OpenOk(dir_.path());
    ASSERT_NE(log_, nullptr);
    AppendOk(*log_, Sessions("a", 4));
    AppendOk(*log_, Sessions("b", 2));
    ASSERT_EQ(log_->head().seq, kEvents);
  }

  TempDir dir_{"event_log_test"};
  std::unique_ptr<EventLog> log_;
};

TEST_F(TamperTest, OneChangedByteIsFoundAtItsSeq) {
  const std::string original = RawGet(*log_, kTarget);
  ASSERT_GT(original.size(), 64u);
  // Inside the stored hash (first, middle, last byte), the capnp framing and the body.
  const size_t positions[] = {0, 17, 31, 32, 40, original.size() / 2, original.size() - 1};
  for (size_t pos : positions) {
    SCOPED_TRACE("byte " + std::to_string(pos));
    std::string changed = original;
    changed[pos] = static_cast<char>(changed[pos] ^ 0x01);
    RawPut(*log_, kTarget, changed);
    VerifyReport report = VerifyOf(*log_);
    EXPECT_FALSE(report.ok);
    EXPECT_EQ(report.first_bad_seq, kTarget) << report.problem;
    EXPECT_FALSE(report.problem.empty());
    RawPut(*log_, kTarget, original);
    EXPECT_TRUE(VerifyOf(*log_).ok);
  }
}

TEST_F(TamperTest, ReadsRefuseAnEventThatDoesNotChain) {
  const std::string original = RawGet(*log_, kTarget);
  // In the stored hash and in the body (the seq and recorded_at fields stay as they were).
  for (size_t pos : {size_t{5}, original.size() - 1}) {
    SCOPED_TRACE("byte " + std::to_string(pos));
    std::string changed = original;
    changed[pos] = static_cast<char>(changed[pos] ^ 0x01);
    RawPut(*log_, kTarget, changed);
    // A range over it, one starting at it (its predecessor's hash read on its own), and the
    // event after it (which chains from the changed hash when the hash was changed).
    for (Seq from : {Seq{1}, kTarget}) {
      Seq seen = 0;
      Status s = log_->ReadRange(from, kEvents, [&](const StoredEventView& v) {
        seen = v.seq();
        return true;
      });
      ASSERT_FALSE(s.ok()) << from;
      EXPECT_EQ(s.error().code, ErrorCode::kCorruption);
      EXPECT_NE(s.error().message.find("seq " + std::to_string(kTarget) + ":"), std::string::npos)
          << s.error().message;
      EXPECT_EQ(seen, kTarget - 1 >= from ? kTarget - 1 : 0u);  // nothing past the break
    }
    RawPut(*log_, kTarget, original);
    EXPECT_EQ(SeqsOf(ReadAll(*log_)), Range(1, kEvents));
  }
}

TEST_F(TamperTest, ATruncatedValueIsFound) {
  const std::string original = RawGet(*log_, kTarget);
  for (size_t size : {size_t{0}, size_t{16}, size_t{32}, original.size() - 8}) {
    SCOPED_TRACE("size " + std::to_string(size));
    RawPut(*log_, kTarget, original.substr(0, size));
    VerifyReport report = VerifyOf(*log_);
    EXPECT_FALSE(report.ok);
    EXPECT_EQ(report.first_bad_seq, kTarget) << report.problem;
  }
}

TEST_F(TamperTest, ADeletedEventIsFoundAtTheGap) {
  RawDelete(*log_, kTarget);
  VerifyReport report = VerifyOf(*log_);
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_seq, kTarget) << report.problem;
  // Reading across the gap is an error, not a silent skip.
  Status s = log_->ReadRange(1, kEvents, [](const StoredEventView&) { return true; });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kCorruption);
}

TEST_F(TamperTest, ADeletedLastEventIsFound) {
  RawDelete(*log_, kEvents);
  VerifyReport report = VerifyOf(*log_);
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_seq, kEvents) << report.problem;
}

TEST_F(TamperTest, SwappedEventsAreFound) {
  const std::string third = RawGet(*log_, 3);
  const std::string fourth = RawGet(*log_, 4);
  RawPut(*log_, 3, fourth);
  RawPut(*log_, 4, third);
  VerifyReport report = VerifyOf(*log_);
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_seq, 3u) << report.problem;
}

TEST_F(TamperTest, TamperedTailRefusesToOpenButVerifyReportsIt) {
  const std::string last = RawGet(*log_, kEvents);
  for (size_t pos : {size_t{5}, last.size() - 3}) {
    SCOPED_TRACE("byte " + std::to_string(pos));
    std::string changed = last;
    changed[pos] = static_cast<char>(changed[pos] ^ 0x80);
    RawPut(*log_, kEvents, changed);
    log_.reset();

    auto refused = EventLog::Open(dir_.path());
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, ErrorCode::kCorruption) << refused.error().ToString();

    LogOptions no_tail_check;
    no_tail_check.check_tail = false;
    log_ = OpenOk(dir_.path(), no_tail_check);
    ASSERT_NE(log_, nullptr);
    VerifyReport report = VerifyOf(*log_);
    EXPECT_FALSE(report.ok);
    EXPECT_EQ(report.first_bad_seq, kEvents) << report.problem;
    RawPut(*log_, kEvents, last);
    log_.reset();
    log_ = OpenOk(dir_.path());
    ASSERT_NE(log_, nullptr);
  }
  EXPECT_TRUE(VerifyOf(*log_).ok);
}

// ---------------------------------------------------------------------------------------------
// Reads.

// ---------------------------------------------------------------------------------------------
// A head moved back, and the indexes checked by verify.

std::string RawGetCf(EventLog& log, rocksdb::ColumnFamilyHandle* cf, const std::string& key) {
  std::string v;
  rocksdb::Status s = log.raw_db()->Get(rocksdb::ReadOptions(), cf, key, &v);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return v;
}
void RawPutCf(EventLog& log, rocksdb::ColumnFamilyHandle* cf, const std::string& key,
              const std::string& value) {
  rocksdb::WriteOptions w;
  w.sync = true;
  ASSERT_TRUE(log.raw_db()->Put(w, cf, key, value).ok());
}
void RawDeleteCf(EventLog& log, rocksdb::ColumnFamilyHandle* cf, const std::string& key) {
  rocksdb::WriteOptions w;
  w.sync = true;
  ASSERT_TRUE(log.raw_db()->Delete(w, cf, key).ok());
}

TEST(EventLogTest, AHeadMovedBackRefusesToOpenAndDeletesNothing) {
  TempDir dir{"event_log_test"};
  std::string early_head, head;
  {
    auto log = OpenOk(dir.path());
    ASSERT_NE(log, nullptr);
    AppendOk(*log, {Session("a"), Session("b")});
    early_head = RawGetCf(*log, log->meta_cf(), "head");
    AppendOk(*log, {Session("c")});
    AppendOk(*log, {Session("d"), Session("e")});
    head = RawGetCf(*log, log->meta_cf(), "head");
    // Only meta/head rewritten, to the head after the first batch: the events of the two later
    // batches are committed, not the remains of a crash.
    RawPutCf(*log, log->meta_cf(), "head", early_head);
  }
  for (int pass = 0; pass < 2; ++pass) {
    auto refused = EventLog::Open(dir.path());
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, ErrorCode::kCorruption) << refused.error().ToString();
    EXPECT_NE(refused.error().message.find("seq 3:"), std::string::npos) << refused.error().message;
    EXPECT_NE(refused.error().message.find("after the recorded head (seq 2)"), std::string::npos)
        << refused.error().message;
  }
  // verify opens it, reports it at the first committed event after the head, deletes nothing.
  LogOptions no_tail_check;
  no_tail_check.check_tail = false;
  {
    auto log = OpenOk(dir.path(), no_tail_check);
    ASSERT_NE(log, nullptr);
    VerifyReport report = VerifyOf(*log);
    EXPECT_FALSE(report.ok);
    EXPECT_EQ(report.first_bad_seq, 3u) << report.problem;
    EXPECT_EQ(RawEventKeysFrom(*log, 1), Range(1, 5));
    // The head put back: everything is there.
    RawPutCf(*log, log->meta_cf(), "head", head);
  }
  auto log = OpenOk(dir.path());
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(SeqsOf(ReadAll(*log)), Range(1, 5));
  EXPECT_TRUE(VerifyOf(*log).ok);
  // Resending a committed event answers its real seq.
  AppendResult again = AppendOk(*log, {Session("d")});
  ASSERT_EQ(again.results.size(), 1u);
  EXPECT_EQ(again.results[0].status, AppendStatus::kDuplicate);
  EXPECT_EQ(again.results[0].seq, 4u);
}

TEST(EventLogTest, AHeadDeletedWithCommittedEventsRefusesToOpen) {
  TempDir dir{"event_log_test"};
  {
    auto log = OpenOk(dir.path());
    ASSERT_NE(log, nullptr);
    AppendOk(*log, {Session("a"), Session("b")});
    RawDeleteCf(*log, log->meta_cf(), "head");
  }
  auto refused = EventLog::Open(dir.path());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kCorruption) << refused.error().ToString();
  LogOptions raw;
  raw.check_tail = false;
  auto log = OpenOk(dir.path(), raw);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(RawEventKeysFrom(*log, 1), Range(1, 2));
}

TEST(EventLogTest, AnUncommittedLargeBatchIsStillDroppedOnOpen) {
  // The chunks of a batch written but never committed (as a crash leaves them): their ids are
  // in no index, so they are dropped. Made here by copying the chunk writes of a batch into a
  // log whose head is before them.
  TempDir dir{"event_log_test"}, other{"event_log_test"};
  std::vector<std::string> chunk;
  {
    auto source = OpenOk(other.path());
    ASSERT_NE(source, nullptr);
    AppendOk(*source, {Session("a")});
    AppendOk(*source, Sessions("big", 5));
    for (Seq seq = 2; seq <= 6; ++seq) chunk.push_back(RawGet(*source, seq));
  }
  {
    auto log = OpenOk(dir.path());
    ASSERT_NE(log, nullptr);
    AppendOk(*log, {Session("a")});
    for (Seq seq = 2; seq <= 6; ++seq) RawPut(*log, seq, chunk[seq - 2]);
  }
  auto log = OpenOk(dir.path());
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->head().seq, 1u);
  EXPECT_TRUE(RawEventKeysFrom(*log, 2).empty());
  EXPECT_TRUE(VerifyOf(*log).ok);
}

// Every key of a column family, as written (past the head too).
std::vector<std::string> RawKeys(EventLog& log, rocksdb::ColumnFamilyHandle* cf) {
  std::vector<std::string> keys;
  std::unique_ptr<rocksdb::Iterator> it(log.raw_db()->NewIterator(rocksdb::ReadOptions(), cf));
  for (it->SeekToFirst(); it->Valid(); it->Next()) keys.push_back(it->key().ToString());
  return keys;
}

TEST(EventLogTest, ACrashMidBatchLeavesNothingOfItsChunksIndexesOnOpen) {
  // A batch of several chunks writes each chunk's id and stream index entries beside its
  // events (after the head, with a pending mark), so that it holds one chunk in memory. A copy
  // of the directory taken while it is open is what a crash leaves.
  TempDir dir{"event_log_test"}, crashed{"event_log_test"};
  LogOptions options;
  options.chunk_events_max = 4;
  auto log = OpenOk(dir.path(), options);
  ASSERT_NE(log, nullptr);
  AppendOk(*log, {Session("a"), Session("b", 1)});
  const std::vector<std::string> ids_before = RawKeys(*log, log->ids_cf());
  const std::vector<std::string> index_before = RawKeys(*log, log->stream_index_cf());
  std::vector<std::string> batch = Sessions("big", 10);
  batch.push_back(Void("void-a", "a"));      // a committed event's stream
  batch.push_back(Void("void-b3", "big3"));  // an event of an earlier chunk of the batch
  {
    auto append = log->BeginAppend();
    for (size_t i = 0; i < batch.size(); ++i) ASSERT_TRUE(append->Add(Ev(batch[i], i)).ok()) << i;
    EXPECT_GT(RawKeys(*log, log->ids_cf()).size(), ids_before.size());  // written with chunks
    EXPECT_FALSE(RawGetCf(*log, log->meta_cf(), "pending").empty());
    // Not part of the log yet, for readers and for verify.
    EXPECT_EQ(Find(*log, "big0"), std::nullopt);
    EXPECT_EQ(Stream(*log, std::string("beneficiary/") + kPeople[0].niss), (std::vector<Seq>{1}));
    VerifyReport during = VerifyOf(*log);
    EXPECT_TRUE(during.ok) << during.problem;
    EXPECT_EQ(during.events, 2u);
    std::filesystem::copy(dir.path(), crashed.path(),
                          std::filesystem::copy_options::recursive |
                              std::filesystem::copy_options::overwrite_existing);
  }  // dropped: the log takes its chunks back itself
  EXPECT_EQ(RawKeys(*log, log->ids_cf()), ids_before);
  EXPECT_EQ(RawKeys(*log, log->stream_index_cf()), index_before);
  log.reset();

  auto after = OpenOk(crashed.path(), options);
  ASSERT_NE(after, nullptr);
  EXPECT_EQ(after->head().seq, 2u);
  EXPECT_TRUE(RawEventKeysFrom(*after, 3).empty());
  EXPECT_TRUE(RawFactKeysFrom(*after, 3).empty());
  EXPECT_EQ(RawKeys(*after, after->ids_cf()), ids_before);
  EXPECT_EQ(RawKeys(*after, after->stream_index_cf()), index_before);
  EXPECT_EQ(RawKeys(*after, after->meta_cf()), (std::vector<std::string>{"head"}));
  VerifyReport report = VerifyOf(*after);
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.events, 2u);
  // The same batch again is new, from seq 3 on.
  AppendResult again = AppendOk(*after, batch);
  EXPECT_EQ(again.appended, batch.size());
  EXPECT_EQ(again.results.front().seq, 3u);
  EXPECT_EQ(Find(*after, "void-b3"), std::optional<Seq>(2 + batch.size()));
  EXPECT_TRUE(VerifyOf(*after).ok);
}

TEST(EventLogTest, APendingMarkOnAnotherHeadRefusesToOpen) {
  TempDir dir{"event_log_test"};
  {
    auto log = OpenOk(dir.path());
    ASSERT_NE(log, nullptr);
    AppendOk(*log, {Session("a"), Session("b"), Session("c")});
    RawPutCf(*log, log->meta_cf(), "pending", Key(1));  // a batch begun on seq 1: the head moved
  }
  auto refused = EventLog::Open(dir.path());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kCorruption) << refused.error().ToString();
  LogOptions raw;
  raw.check_tail = false;
  auto log = OpenOk(dir.path(), raw);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(RawEventKeysFrom(*log, 1), Range(1, 3));  // nothing deleted
  EXPECT_FALSE(VerifyOf(*log).ok);
}

TEST(EventLogTest, ACountOnlyBatchAnswersCountsAndNoEntryPerEvent) {
  TempDir dir{"event_log_test"};
  LogOptions options;
  options.chunk_events_max = 3;
  auto log = OpenOk(dir.path(), options);
  ASSERT_NE(log, nullptr);
  AppendOk(*log, {Session("a")});
  auto append = log->BeginAppend();
  append->CountOnly();
  std::vector<std::string> batch = Sessions("n", 7);
  batch.push_back(Session("a"));  // a duplicate
  for (size_t i = 0; i < batch.size(); ++i) ASSERT_TRUE(append->Add(Ev(batch[i], i)).ok());
  // An error still names the event's index in the batch.
  Status bad = append->Add(Ev(Session("n0", 0, 30), 8));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().index, 8);
  append.reset();
  append = log->BeginAppend();
  append->CountOnly();
  for (size_t i = 0; i < batch.size(); ++i) ASSERT_TRUE(append->Add(Ev(batch[i], i)).ok());
  auto result = append->Commit();
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result->appended, 7u);
  EXPECT_EQ(result->duplicates, 1u);
  EXPECT_EQ(result->last_seq, 8u);
  EXPECT_TRUE(result->results.empty());
  EXPECT_EQ(Find(*log, "n6"), std::optional<Seq>(8));
  EXPECT_TRUE(VerifyOf(*log).ok);
}

// Each tampering of an index, found by verify (the events themselves untouched).
class IndexTamperTest : public TamperTest {
 protected:
  void ExpectFound(const std::string& what) {
    SCOPED_TRACE(what);
    VerifyReport report = VerifyOf(*log_);
    EXPECT_FALSE(report.ok) << "not found: " << what;
    EXPECT_FALSE(report.problem.empty());
    // The problem never echoes a stream name (it may hold a NISS).
    for (const Person& p : kPeople) {
      EXPECT_EQ(report.problem.find(p.niss), std::string::npos) << report.problem;
    }
  }
  std::string StreamOfPerson(int person) {
    return std::string("beneficiary/") + kPeople[person].niss;
  }
  std::string IndexKey(const std::string& stream, uint64_t version) {
    return stream + std::string(1, '\0') + Key(version);
  }
};

TEST_F(IndexTamperTest, AGoodLogPasses) { EXPECT_TRUE(VerifyOf(*log_).ok); }

TEST_F(IndexTamperTest, AnIdEntryForNoEventIsFound) {
  // An extra id pointing at seq 3 (a2's).
  const std::string entry = RawGetCf(*log_, log_->ids_cf(), "a2");
  RawPutCf(*log_, log_->ids_cf(), "ghost", entry);
  ExpectFound("an extra id entry");
  VerifyReport report = VerifyOf(*log_);
  EXPECT_EQ(report.first_bad_seq, 3u) << report.problem;
}

TEST_F(IndexTamperTest, AnIdEntryPastTheHeadIsFound) {
  std::string entry = RawGetCf(*log_, log_->ids_cf(), "a2");
  entry.replace(0, 8, Key(kEvents + 1));
  RawPutCf(*log_, log_->ids_cf(), "ghost", entry);
  ExpectFound("an id entry past the head");
}

TEST_F(IndexTamperTest, AnIdEntryWithAnotherStreamIsFound) {
  std::string entry = RawGetCf(*log_, log_->ids_cf(), "a1");
  entry.resize(8 + 32);
  entry += StreamOfPerson(2);
  RawPutCf(*log_, log_->ids_cf(), "a1", entry);
  ExpectFound("an id entry's stream");
}

TEST_F(IndexTamperTest, AStreamVersionThatIsNotTheCountIsFound) {
  // Person 0 has events a0 and b0 (Sessions cycle through four people): version 2.
  const std::string stream = StreamOfPerson(0);
  ASSERT_EQ(RawGetCf(*log_, log_->streams_cf(), stream), Key(2));
  RawPutCf(*log_, log_->streams_cf(), stream, Key(3));
  ExpectFound("a version one too high");
  RawPutCf(*log_, log_->streams_cf(), stream, Key(1));
  ExpectFound("a version one too low");
  RawDeleteCf(*log_, log_->streams_cf(), stream);
  ExpectFound("no version");
  RawPutCf(*log_, log_->streams_cf(), stream, Key(2));
  RawPutCf(*log_, log_->streams_cf(), "provider/P-999", Key(1));
  ExpectFound("a version for a stream without events");
}

TEST_F(IndexTamperTest, StreamIndexEntriesOutOfPlaceAreFound) {
  const std::string stream = StreamOfPerson(0);  // a0 at seq 1, b0 at seq 5
  ASSERT_EQ(RawGetCf(*log_, log_->stream_index_cf(), IndexKey(stream, 1)), Key(1));
  ASSERT_EQ(RawGetCf(*log_, log_->stream_index_cf(), IndexKey(stream, 2)), Key(5));
  RawPutCf(*log_, log_->stream_index_cf(), IndexKey(stream, 1), Key(5));
  RawPutCf(*log_, log_->stream_index_cf(), IndexKey(stream, 2), Key(1));
  ExpectFound("two versions swapped");
  RawPutCf(*log_, log_->stream_index_cf(), IndexKey(stream, 1), Key(2));  // person 1's event
  RawPutCf(*log_, log_->stream_index_cf(), IndexKey(stream, 2), Key(5));
  ExpectFound("an event of another stream");
  RawPutCf(*log_, log_->stream_index_cf(), IndexKey(stream, 1), Key(1));
  RawDeleteCf(*log_, log_->stream_index_cf(), IndexKey(stream, 2));
  ExpectFound("a version missing");
  RawPutCf(*log_, log_->stream_index_cf(), IndexKey(stream, 2), Key(5));
  RawPutCf(*log_, log_->stream_index_cf(), IndexKey(stream, 3), Key(kEvents + 1));
  ExpectFound("an entry past the head");
  RawDeleteCf(*log_, log_->stream_index_cf(), IndexKey(stream, 3));
  EXPECT_TRUE(VerifyOf(*log_).ok);
}

TEST(EventLogTest, VerifySeesOneSnapshotWhileAppendsGoOn) {
  TempDir dir{"event_log_test"};
  auto log = OpenOk(dir.path());
  ASSERT_NE(log, nullptr);
  AppendOk(*log, Sessions("a", 2000));
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop.load(); ++i) AppendOk(*log, {Session("w" + std::to_string(i), i % 4)});
  });
  for (int i = 0; i < 5; ++i) {
    VerifyReport report = VerifyOf(*log);
    EXPECT_TRUE(report.ok) << report.first_bad_seq << ": " << report.problem;
  }
  stop = true;
  writer.join();
}

TEST(EventLogTest, ReadRangeIsClampedAndStoppable) {
  TempDir dir{"event_log_test"};
  auto log = OpenOk(dir.path());
  ASSERT_NE(log, nullptr);
  AppendOk(*log, Sessions("e", 10));
  EXPECT_EQ(SeqsOf(ReadAll(*log, 3, 6)), Range(3, 6));
  EXPECT_EQ(SeqsOf(ReadAll(*log, 8, 100)), Range(8, 10));
  EXPECT_EQ(SeqsOf(ReadAll(*log, 0, 2)), Range(1, 2));
  EXPECT_EQ(SeqsOf(ReadAll(*log, 10, 10)), Range(10, 10));
  EXPECT_TRUE(ReadAll(*log, 11, 20).empty());
  EXPECT_TRUE(ReadAll(*log, 6, 5).empty());
  auto some = ReadAll(*log, 4, 5);
  ASSERT_EQ(some.size(), 2u);
  EXPECT_EQ(some[0].id, "e3");
  EXPECT_EQ(some[1].id, "e4");

  std::vector<Seq> seen;
  Status s = log->ReadRange(2, UINT64_MAX, [&](const StoredEventView& v) {
    seen.push_back(v.seq());
    return seen.size() < 3;
  });
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  EXPECT_EQ(seen, (std::vector<Seq>{2, 3, 4}));

  // The view's event is complete: the contract's JSON comes back out.
  Status j = log->ReadRange(7, 7, [&](const StoredEventView& v) {
    EXPECT_EQ(boost::json::serialize(EncodeEvent(v.event())),
              boost::json::serialize(EncodeEvent(Ev(Session("e6", 2)).event())));
    return true;
  });
  EXPECT_TRUE(j.ok());
}

TEST(EventLogTest, ReadsSeeOnlyCommittedEvents) {
  TempDir dir{"event_log_test"};
  auto log = OpenOk(dir.path());
  ASSERT_NE(log, nullptr);
  AppendOk(*log, {Session("a")});
  auto append = log->BeginAppend();
  ASSERT_TRUE(append->Add(Ev(Session("b"))).ok());
  EXPECT_EQ(append->next_seq(), 3u);
  EXPECT_EQ(log->head().seq, 1u);
  EXPECT_EQ(Find(*log, "b"), std::nullopt);
  auto r = append->Commit();
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(log->head().seq, 2u);
  EXPECT_EQ(Find(*log, "b"), 2u);
  EXPECT_EQ(SeqsOf(ReadAll(*log)), Range(1, 2));
}

// ---------------------------------------------------------------------------------------------
// A failed write stops appends.

// A file system whose writable files fail Append, Sync and Fsync while `fail` is set, and take
// `slow_ms` more for each Append.
class FailingFs : public rocksdb::FileSystemWrapper {
 public:
  FailingFs(std::shared_ptr<std::atomic<bool>> fail, std::shared_ptr<std::atomic<int>> slow_ms)
      : FileSystemWrapper(rocksdb::FileSystem::Default()),
        fail_(std::move(fail)),
        slow_ms_(std::move(slow_ms)) {}
  const char* Name() const override { return "FailingFs"; }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->NewWritableFile(name, options, result, dbg);
    if (s.ok()) *result = std::make_unique<File>(std::move(*result), fail_, slow_ms_);
    return s;
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->ReopenWritableFile(name, options, result, dbg);
    if (s.ok()) *result = std::make_unique<File>(std::move(*result), fail_, slow_ms_);
    return s;
  }

 private:
  class File : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile> file, std::shared_ptr<std::atomic<bool>> fail,
         std::shared_ptr<std::atomic<int>> slow_ms)
        : FSWritableFileOwnerWrapper(std::move(file)),
          fail_(std::move(fail)),
          slow_ms_(std::move(slow_ms)) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
      Slow();
      if (fail_->load()) return Injected();
      return FSWritableFileOwnerWrapper::Append(data, options, dbg);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             const rocksdb::DataVerificationInfo& info,
                             rocksdb::IODebugContext* dbg) override {
      Slow();
      if (fail_->load()) return Injected();
      return FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
      if (fail_->load()) return Injected();
      return FSWritableFileOwnerWrapper::Sync(options, dbg);
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                            rocksdb::IODebugContext* dbg) override {
      if (fail_->load()) return Injected();
      return FSWritableFileOwnerWrapper::Fsync(options, dbg);
    }

   private:
    static rocksdb::IOStatus Injected() { return rocksdb::IOStatus::IOError("injected failure"); }
    void Slow() const {
      if (const int ms = slow_ms_->load())
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    }
    std::shared_ptr<std::atomic<bool>> fail_;
    std::shared_ptr<std::atomic<int>> slow_ms_;
  };

  std::shared_ptr<std::atomic<bool>> fail_;
  std::shared_ptr<std::atomic<int>> slow_ms_;
};

struct FailingEnv {
  std::shared_ptr<std::atomic<bool>> fail = std::make_shared<std::atomic<bool>>(false);
  std::shared_ptr<std::atomic<int>> slow_ms = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<rocksdb::Env> env{
      rocksdb::NewCompositeEnv(std::make_shared<FailingFs>(fail, slow_ms)).release()};
};

// Chunks of 4 events, on a file system the test fails or slows.
LogOptions SmallChunksOn(const FailingEnv& disk) {
  LogOptions options;
  options.env = disk.env;
  options.chunk_events_max = 4;
  return options;
}

TEST(EventLogTest, FailedSyncStopsAppends) {
  TempDir dir{"event_log_test"};
  FailingEnv failing;
  LogOptions options;
  options.env = failing.env;
  auto log = OpenOk(dir.path(), options);
  ASSERT_NE(log, nullptr);
  AppendOk(*log, {Session("a"), Session("b")});
  const Head head = log->head();
  EXPECT_TRUE(log->failure().empty());

  failing.fail->store(true);
  Error first = AppendFails(*log, {Session("c")});
  EXPECT_EQ(first.code, ErrorCode::kWritesStopped) << first.ToString();
  EXPECT_NE(first.message.find("injected failure"), std::string::npos) << first.message;
  EXPECT_FALSE(log->failure().empty());
  EXPECT_EQ(log->head().seq, head.seq);

  // The file system is healthy again, but the log does not retry: it refuses until restart.
  failing.fail->store(false);
  Error later = AppendFails(*log, {Session("d")});
  EXPECT_EQ(later.code, ErrorCode::kWritesStopped) << later.ToString();
  Error duplicate = AppendFails(*log, {Session("a")});
  EXPECT_EQ(duplicate.code, ErrorCode::kWritesStopped) << duplicate.ToString();
  {
    auto append = log->BeginAppend();
    Status s = append->Add(Ev(Session("e")));
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::kWritesStopped);
  }

  // Reads keep working and see only what was committed.
  EXPECT_EQ(log->head().seq, head.seq);
  EXPECT_EQ(SeqsOf(ReadAll(*log)), Range(1, 2));
  EXPECT_EQ(Find(*log, "b"), 2u);
  EXPECT_EQ(Find(*log, "c"), std::nullopt);
  EXPECT_TRUE(VerifyOf(*log).ok);

  // A restart recovers.
  log.reset();
  log = OpenOk(dir.path(), options);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->head().seq, head.seq);
  EXPECT_TRUE(log->failure().empty());
  EXPECT_EQ(AppendOk(*log, {Session("c")}).last_seq, 3u);
  EXPECT_TRUE(VerifyOf(*log).ok);
}

// A disk that fills up: once `full`, every write of every file fails with ENOSPC, RocksDB's
// info LOG included (its own logger aborted the process on that), and syncs too.
class FullDiskFs : public rocksdb::FileSystemWrapper {
 public:
  explicit FullDiskFs(std::shared_ptr<std::atomic<bool>> full)
      : FileSystemWrapper(rocksdb::FileSystem::Default()), full_(std::move(full)) {}
  const char* Name() const override { return "FullDiskFs"; }
  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->NewWritableFile(name, options, result, dbg);
    if (s.ok()) *result = std::make_unique<File>(std::move(*result), full_);
    return s;
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->ReopenWritableFile(name, options, result, dbg);
    if (s.ok()) *result = std::make_unique<File>(std::move(*result), full_);
    return s;
  }

 private:
  class File : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile> file, std::shared_ptr<std::atomic<bool>> full)
        : FSWritableFileOwnerWrapper(std::move(file)), full_(std::move(full)) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
      if (full_->load()) return NoSpace();
      return FSWritableFileOwnerWrapper::Append(data, options, dbg);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             const rocksdb::DataVerificationInfo& info,
                             rocksdb::IODebugContext* dbg) override {
      if (full_->load()) return NoSpace();
      return FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
    }
    rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                       const rocksdb::IOOptions& options,
                                       rocksdb::IODebugContext* dbg) override {
      if (full_->load()) return NoSpace();
      return FSWritableFileOwnerWrapper::PositionedAppend(data, offset, options, dbg);
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
      if (full_->load()) return NoSpace();
      return FSWritableFileOwnerWrapper::Sync(options, dbg);
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                            rocksdb::IODebugContext* dbg) override {
      if (full_->load()) return NoSpace();
      return FSWritableFileOwnerWrapper::Fsync(options, dbg);
    }

   private:
    static rocksdb::IOStatus NoSpace() { return rocksdb::IOStatus::NoSpace("disk full (test)"); }
    std::shared_ptr<std::atomic<bool>> full_;
  };
  std::shared_ptr<std::atomic<bool>> full_;
};

TEST(EventLogTest, AFullDiskStopsAppendsKeepsReadsAndNeverAborts) {
  TempDir dir{"event_log_test"};
  auto full = std::make_shared<std::atomic<bool>>(false);
  LogOptions options;
  options.env.reset(rocksdb::NewCompositeEnv(std::make_shared<FullDiskFs>(full)).release());
  {
    auto log = OpenOk(dir.path(), options);
    ASSERT_NE(log, nullptr);
    AppendOk(*log, {Session("a"), Session("b")});
    full->store(true);
    Error e = AppendFails(*log, {Session("c")});
    EXPECT_EQ(e.code, ErrorCode::kWritesStopped) << e.ToString();
    // RocksDB goes on: a flush fails and is logged, more appends are refused; nothing aborts.
    EXPECT_FALSE(log->raw_db()->Flush(rocksdb::FlushOptions(), log->events_cf()).ok());
    for (int i = 0; i < 20; ++i) {
      EXPECT_EQ(AppendFails(*log, {Session("d" + std::to_string(i))}).code,
                ErrorCode::kWritesStopped);
    }
    EXPECT_EQ(SeqsOf(ReadAll(*log)), Range(1, 2));
    EXPECT_TRUE(VerifyOf(*log).ok);
  }
  // Restarted on the still-full disk: a writer cannot open (RocksDB writes at open), a reader in
  // place can, and refuses appends.
  auto writer = EventLog::Open(dir.path(), options);
  ASSERT_FALSE(writer.ok());
  EXPECT_EQ(writer.error().code, ErrorCode::kStorage) << writer.error().ToString();
  {
    LogOptions reader = options;
    reader.read_only = true;
    reader.in_place = true;
    auto log = OpenOk(dir.path(), reader);
    ASSERT_NE(log, nullptr);
    EXPECT_EQ(SeqsOf(ReadAll(*log)), Range(1, 2));
    EXPECT_EQ(Find(*log, "b"), 2u);
    EXPECT_TRUE(VerifyOf(*log).ok);
    log->StopWrites("the disk is full");
    Error refused = AppendFails(*log, {Session("c")});
    EXPECT_EQ(refused.code, ErrorCode::kWritesStopped);
    EXPECT_NE(refused.message.find("the disk is full"), std::string::npos) << refused.message;
  }
  // Space freed: writes resume.
  full->store(false);
  auto log = OpenOk(dir.path(), options);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(AppendOk(*log, {Session("c")}).last_seq, 3u);
  EXPECT_TRUE(VerifyOf(*log).ok);
}

TEST(EventLogTest, AReaderInPlaceWritesNothing) {
  TempDir dir{"event_log_test"};
  {
    auto log = OpenOk(dir.path());
    ASSERT_NE(log, nullptr);
    AppendOk(*log, Sessions("s", 3));
  }
  std::set<std::pair<std::string, uintmax_t>> before, after;
  for (const auto& f : std::filesystem::directory_iterator(dir.path())) {
    before.emplace(f.path().filename(), std::filesystem::file_size(f.path()));
  }
  {
    LogOptions reader;
    reader.read_only = true;
    reader.in_place = true;
    auto log = OpenOk(dir.path(), reader);
    ASSERT_NE(log, nullptr);
    EXPECT_EQ(SeqsOf(ReadAll(*log)), Range(1, 3));
    EXPECT_EQ(AppendFails(*log, {Session("x")}).code, ErrorCode::kWritesStopped);
  }
  for (const auto& f : std::filesystem::directory_iterator(dir.path())) {
    after.emplace(f.path().filename(), std::filesystem::file_size(f.path()));
  }
  EXPECT_EQ(after, before);
}

TEST(EventLogTest, FailedChunkWriteStopsAppends) {
  TempDir dir{"event_log_test"};
  FailingEnv failing;
  const LogOptions options = SmallChunksOn(failing);
  auto log = OpenOk(dir.path(), options);
  ASSERT_NE(log, nullptr);
  AppendOk(*log, {Session("a")});
  {
    auto append = log->BeginAppend();
    std::vector<std::string> batch = Sessions("x", 8);
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(append->Add(Ev(batch[i], i)).ok());  // chunk 1
    failing.fail->store(true);
    // Chunk 2 is written at event 7, on a thread of its own (chunk 1 may still be in flight
    // too): the batch sees the failure at the next chunk or at Commit, never later.
    Status s = Ok();
    for (int i = 4; i < 8 && s.ok(); ++i) s = append->Add(Ev(batch[i], i));
    auto committed = append->Commit();
    ASSERT_FALSE(committed.ok());
    const Error& error = s.ok() ? committed.error() : s.error();
    EXPECT_EQ(error.code, ErrorCode::kWritesStopped) << error.ToString();
    failing.fail->store(false);
  }
  EXPECT_FALSE(log->failure().empty());
  EXPECT_EQ(log->head().seq, 1u);
  EXPECT_EQ(SeqsOf(ReadAll(*log)), Range(1, 1));
  Error later = AppendFails(*log, {Session("y")});
  EXPECT_EQ(later.code, ErrorCode::kWritesStopped);

  // After a restart the chunk that was written is gone and appends work again.
  log.reset();
  log = OpenOk(dir.path(), options);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->head().seq, 1u);
  EXPECT_TRUE(RawEventKeysFrom(*log, 2).empty());
  EXPECT_EQ(AppendOk(*log, Sessions("x", 8)).last_seq, 9u);
  EXPECT_TRUE(VerifyOf(*log).ok);
}

// While a chunk is being written (slowly here), the next chunk's lookups find its ids: a repeat
// is a duplicate answered with its seq, a void may target it, other content under its id is a
// conflict.
TEST(EventLogTest, AChunkInFlightIsFoundByTheNextChunksLookups) {
  TempDir dir{"event_log_test"};
  FailingEnv disk;
  auto log = OpenOk(dir.path(), SmallChunksOn(disk));
  ASSERT_NE(log, nullptr);
  AppendOk(*log, {Session("a")});
  disk.slow_ms->store(300);
  {
    auto append = log->BeginAppend();
    const std::vector<std::string> batch = Sessions("x", 4);  // seqs 2 to 5: one chunk
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(append->Add(Ev(batch[i], i)).ok());
    ASSERT_TRUE(append->Add(Ev(batch[1], 4)).ok());
    ASSERT_TRUE(append->Add(Ev(Void("v", "x2"), 5)).ok());
    auto r = append->Commit();
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_EQ(r->appended, 5u);
    EXPECT_EQ(r->duplicates, 1u);
    EXPECT_EQ(r->results.at(4).status, AppendStatus::kDuplicate);
    EXPECT_EQ(r->results.at(4).seq, 3u);
    EXPECT_EQ(r->last_seq, 6u);
  }
  EXPECT_EQ(Stream(*log, "beneficiary/80113004536"), (std::vector<Seq>{4, 6}));  // x2 and its void
  {
    auto append = log->BeginAppend();
    const std::vector<std::string> batch = Sessions("y", 4);
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(append->Add(Ev(batch[i], i)).ok());
    Status s = append->Add(Ev(Session("y1", 1, 30), 4));
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::kConflict) << s.error().ToString();
  }
  disk.slow_ms->store(0);
  EXPECT_EQ(log->head().seq, 6u);
  EXPECT_TRUE(RawEventKeysFrom(*log, 7).empty());
  EXPECT_TRUE(VerifyOf(*log).ok);
}

// ---------------------------------------------------------------------------------------------
// Read-only: beside the process that writes (ledgerd), a snapshot as committed when opened.

TEST(EventLogTest, ReadOnlyBesideTheWriterSeesWhatWasCommittedAndWritesNothing) {
  TempDir dir{"event_log_test"};
  auto writer = OpenOk(dir.path());
  ASSERT_NE(writer, nullptr);
  AppendOk(*writer, {Session("a"), Session("b", 1), Session("c", 2)});
  // A normal open is refused while the writer holds the log.
  EXPECT_FALSE(EventLog::Open(dir.path()).ok());

  std::string secondary_files;
  {
    auto reader = OpenOk(dir.path(), {.read_only = true});
    ASSERT_NE(reader, nullptr);
    EXPECT_TRUE(reader->read_only());
    EXPECT_EQ(reader->head().seq, 3u);
    EXPECT_EQ(reader->head().hash, writer->head().hash);
    EXPECT_EQ(SeqsOf(ReadAll(*reader)), Range(1, 3));
    EXPECT_EQ(Find(*reader, "b"), 2u);
    VerifyReport report = VerifyOf(*reader);
    EXPECT_TRUE(report.ok) << report.problem;
    EXPECT_EQ(report.head, writer->head().hash);
    // Writes are refused, and say why.
    Error e = AppendFails(*reader, {Session("d")});
    EXPECT_EQ(e.code, ErrorCode::kWritesStopped);
    EXPECT_NE(e.message.find("read-only"), std::string::npos) << e.message;
    // The writer goes on; the reader keeps its snapshot.
    AppendOk(*writer, {Session("d", 3)});
    EXPECT_EQ(reader->head().seq, 3u);
    EXPECT_EQ(SeqsOf(ReadAll(*reader)), Range(1, 3));
    EXPECT_FALSE(Find(*reader, "d").has_value());
  }
  // The writer was not disturbed: nothing refused, nothing lost.
  EXPECT_TRUE(writer->failure().empty());
  EXPECT_EQ(writer->head().seq, 4u);
  AppendOk(*writer, {Session("e", 3, 90)});
  EXPECT_TRUE(VerifyOf(*writer).ok);
  // A new reader sees the new head.
  auto reader = OpenOk(dir.path(), {.read_only = true});
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->head().seq, 5u);
}

// ---------------------------------------------------------------------------------------------
// Facts (ledger/facts.h): one record per event, beside it, in the same writes.

struct Chunk {
  Seq first;
  uint32_t count;
  std::string records;
  bool operator==(const Chunk&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Chunk& c) {
  return os << "{" << c.first << ", " << c.count << ", " << c.records.size() << " bytes}";
}

std::vector<Chunk> FactsOf(const EventLog& log, Seq from = 1, Seq to = UINT64_MAX) {
  std::vector<Chunk> out;
  Status s = log.ReadFacts(from, to, [&](const EventLog::FactsChunk& c) {
    out.push_back({c.first, c.count, std::string(c.records)});
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.error().ToString();
  return out;
}

// What the facts of events first..last must be: each event encoded (void targets by id).
std::string Encoded(const EventLog& log, Seq first, Seq last) {
  std::string out;
  Status s = log.ReadRange(first, last, [&](const StoredEventView& v) {
    Seq target = 0;
    if (v.event().getBody().isEventVoided()) {
      target = Find(log, v.event().getBody().getEventVoided().getTarget().cStr()).value_or(0);
    }
    AppendFactRecord(v.event(), target, &out);
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.error().ToString();
  return out;
}

Seq EndAt(const EventLog& log, Seq seq) {
  auto end = log.FactsEndAt(seq);
  EXPECT_TRUE(end.ok()) << end.error().ToString();
  return end.ok() ? *end : UINT64_MAX;
}

TEST(EventLogFactsTest, EveryEventHasItsRecordInTheChunkWrittenWithIt) {
  TempDir dir{"event_log_test"};
  LogOptions options;
  options.chunk_events_max = 4;
  auto log = OpenOk(dir.path(), options);
  ASSERT_NE(log, nullptr);
  AppendOk(*log, Sessions("a", 10));                       // chunks of 4, 4 and 2
  AppendOk(*log, {Network("n", "N-1"), Void("v", "a3")});  // one chunk of 2; a3 is seq 4
  EXPECT_EQ(FactsOf(*log), (std::vector<Chunk>{{1, 4, Encoded(*log, 1, 4)},
                                               {5, 4, Encoded(*log, 5, 8)},
                                               {9, 2, Encoded(*log, 9, 10)},
                                               {11, 2, Encoded(*log, 11, 12)}}));
  // From and to select chunks by their first seq.
  EXPECT_EQ(FactsOf(*log, 2, 9).size(), 2u);
  EXPECT_EQ(FactsOf(*log, 12, 99).size(), 0u);
  EXPECT_EQ(EndAt(*log, 0), 0u);
  EXPECT_EQ(EndAt(*log, 1), 4u);
  EXPECT_EQ(EndAt(*log, 6), 8u);
  EXPECT_EQ(EndAt(*log, 99), 12u);

  // The records read back field by field: the void names its target's seq.
  const std::string last = FactsOf(*log, 11).at(0).records;
  FactReader r(last);
  EXPECT_EQ(r.U8(), static_cast<uint8_t>(schema::Event::Body::NETWORK_REGISTERED));
  EXPECT_EQ(r.I32(), ToDay({2021, 1, 1}));
  EXPECT_EQ(r.Str(), "N-1");
  EXPECT_EQ(r.U8(), static_cast<uint8_t>(schema::Population::ADULTS));
  EXPECT_EQ(r.U8(), static_cast<uint8_t>(schema::Event::Body::EVENT_VOIDED));
  r.I32();
  EXPECT_EQ(r.U64(), 4u);
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.done());
  r.U8();  // past the end
  EXPECT_FALSE(r.ok());

  const std::string first = FactsOf(*log, 1, 1).at(0).records;
  FactReader s(first);
  EXPECT_EQ(s.U8(), static_cast<uint8_t>(schema::Event::Body::SESSION_INDIVIDUAL));
  EXPECT_EQ(s.I32(), ToDay({2024, 6, 3}));
  EXPECT_EQ(s.Str(), "P-100");
  EXPECT_EQ(s.Str(), "N-1");
  const FactPerson p = s.Person();
  EXPECT_EQ(p.niss, 88120105504u);
  EXPECT_EQ(p.birth, ToDay({1988, 12, 1}));
  EXPECT_TRUE(VerifyOf(*log).ok);
}

TEST(EventLogFactsTest, RolledBackRequestsLeaveNoFacts) {
  TempDir dir{"event_log_test"};
  auto log = OpenOk(dir.path());
  ASSERT_NE(log, nullptr);
  AppendOk(*log, {Session("first")});
  // Group commit: the second request is rolled back, the first and third stay.
  auto append = log->BeginAppend();
  append->SetSavepoint();
  ASSERT_TRUE(append->Add(Ev(Session("r1", 1))).ok());
  append->SetSavepoint();
  ASSERT_TRUE(append->Add(Ev(Session("r2", 2))).ok());
  append->RollbackToSavepoint();
  append->SetSavepoint();
  ASSERT_TRUE(append->Add(Ev(Session("r3", 3))).ok());
  ASSERT_TRUE(append->Commit());
  append.reset();
  const std::vector<Chunk> facts = FactsOf(*log, 2);
  ASSERT_EQ(facts.size(), 1u);
  EXPECT_EQ(facts[0], (Chunk{2, 2, Encoded(*log, 2, 3)}));
  EXPECT_TRUE(VerifyOf(*log).ok);
}

TEST(EventLogFactsTest, OpenRemovesFactsBeyondTheHead) {
  TempDir dir{"event_log_test"};
  {
    auto log = OpenOk(dir.path());
    ASSERT_NE(log, nullptr);
    AppendOk(*log, {Session("a"), Session("b")});
    rocksdb::WriteOptions w;
    w.sync = true;
    // A crashed batch's chunk of facts (its events already taken back).
    ASSERT_TRUE(log->raw_db()->Put(w, log->facts_cf(), Key(3), std::string(9, '\1')).ok());
  }
  auto log = OpenOk(dir.path());
  ASSERT_NE(log, nullptr);
  EXPECT_TRUE(RawFactKeysFrom(*log, 3).empty());
  EXPECT_TRUE(VerifyOf(*log).ok);
  AppendOk(*log, {Session("c")});
  EXPECT_EQ(FactsOf(*log, 3), (std::vector<Chunk>{{3, 1, Encoded(*log, 3, 3)}}));
}

TEST(EventLogFactsTest, VerifyFindsFactsThatDifferFromTheirEvents) {
  TempDir dir{"event_log_test"};
  auto log = OpenOk(dir.path());
  ASSERT_NE(log, nullptr);
  AppendOk(*log, Sessions("a", 5));
  rocksdb::WriteOptions w;
  w.sync = true;
  std::string value;
  ASSERT_TRUE(log->raw_db()->Get(rocksdb::ReadOptions(), log->facts_cf(), Key(1), &value).ok());
  // The care date of the third record moved by a day.
  const size_t third = kFactsHeaderBytes + Encoded(*log, 1, 2).size();
  std::string altered = value;
  altered[third + 1] = static_cast<char>(altered[third + 1] + 1);
  ASSERT_TRUE(log->raw_db()->Put(w, log->facts_cf(), Key(1), altered).ok());
  VerifyReport report = VerifyOf(*log);
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_seq, 3u);
  EXPECT_NE(report.problem.find("facts"), std::string::npos) << report.problem;

  // A count that says more than the chunk holds.
  altered = value;
  altered[1] = 6;
  ASSERT_TRUE(log->raw_db()->Put(w, log->facts_cf(), Key(1), altered).ok());
  EXPECT_FALSE(VerifyOf(*log).ok);

  // No facts at all (a log an older version wrote): nothing to contradict the events.
  ASSERT_TRUE(log->raw_db()->Delete(w, log->facts_cf(), Key(1)).ok());
  EXPECT_TRUE(VerifyOf(*log).ok);
  ASSERT_TRUE(log->raw_db()->Put(w, log->facts_cf(), Key(1), value).ok());
  EXPECT_TRUE(VerifyOf(*log).ok);
}

// Appends `events` as a version before facts wrote logs: no facts.
void AppendWithoutFacts(const std::string& dir, const std::vector<std::string>& events) {
  LogOptions old;
  old.write_facts = false;
  auto log = OpenOk(dir, old);
  ASSERT_NE(log, nullptr);
  AppendOk(*log, events);
  EXPECT_TRUE(FactsOf(*log).empty());
}

TEST(EventLogFactsTest, ALogWrittenWithoutFactsTakesThemFromThen) {
  TempDir dir{"event_log_test"};
  AppendWithoutFacts(dir.path(), Sessions("a", 3));
  auto log = OpenOk(dir.path());
  ASSERT_NE(log, nullptr);
  AppendOk(*log, Sessions("b", 2));
  EXPECT_EQ(FactsOf(*log), (std::vector<Chunk>{{4, 2, Encoded(*log, 4, 5)}}));
  EXPECT_EQ(EndAt(*log, 3), 0u);
  EXPECT_TRUE(VerifyOf(*log).ok);
}

TEST(EventLogFactsTest, ReadEveryFactEncodesTheEventsWithoutAndSplitsAtChunks) {
  TempDir dir{"event_log_test"};
  AppendWithoutFacts(dir.path(), Sessions("a", 3));
  LogOptions options;
  options.chunk_events_max = 2;
  auto log = OpenOk(dir.path(), options);
  ASSERT_NE(log, nullptr);
  AppendOk(*log, {Session("b0"), Session("b1"), Session("b2"), Session("b3"), Void("v", "a1")});
  auto every = [&](Seq from, Seq to) {
    std::vector<Chunk> out;
    Status s = log->ReadEveryFact(from, to, [&](const EventLog::FactsChunk& c) {
      out.push_back({c.first, c.count, std::string(c.records)});
      return true;
    });
    EXPECT_TRUE(s.ok()) << s.error().ToString();
    return out;
  };
  // Events 1-3 have no facts: encoded as written. The void (8) names a1 by its seq, 2.
  EXPECT_EQ(every(1, 99), (std::vector<Chunk>{{1, 3, Encoded(*log, 1, 3)},
                                              {4, 2, Encoded(*log, 4, 5)},
                                              {6, 2, Encoded(*log, 6, 7)},
                                              {8, 1, Encoded(*log, 8, 8)}}));
  // Two readers' shares: 5 lies in the chunk written from 4, which the first reads whole.
  EXPECT_EQ(every(1, 4).back(), (Chunk{4, 2, Encoded(*log, 4, 5)}));
  EXPECT_EQ(every(5, 99).front(), (Chunk{6, 2, Encoded(*log, 6, 7)}));
  EXPECT_EQ(every(2, 2), (std::vector<Chunk>{{2, 1, Encoded(*log, 2, 2)}}));
}

TEST(EventLogTest, AReaderThatStoresNothingStartsNoCompaction) {
  TempDir dir{"event_log_test"};
  {
    auto writer = OpenOk(dir.path());
    ASSERT_NE(writer, nullptr);
    EXPECT_FALSE(writer->raw_db()->GetOptions(writer->events_cf()).disable_auto_compactions);
    AppendOk(*writer, {Session("a")});
  }
  LogOptions options;
  options.compact = false;
  auto reader = OpenOk(dir.path(), options);
  ASSERT_NE(reader, nullptr);
  EXPECT_TRUE(reader->raw_db()->GetOptions(reader->events_cf()).disable_auto_compactions);
  EXPECT_TRUE(reader->raw_db()->GetOptions(reader->facts_cf()).disable_auto_compactions);
  EXPECT_EQ(SeqsOf(ReadAll(*reader)), Range(1, 1));
}

TEST(EventLogTest, ReadOnlyNeedsAnExistingLog) {
  TempDir dir{"event_log_test"};
  LogOptions options;
  options.read_only = true;
  EXPECT_FALSE(EventLog::Open(dir.path() + "/none", options).ok());
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/none"));
}

// ---------------------------------------------------------------------------------------------
// A missing log, and privacy on disk.

TEST(EventLogTest, AMissingLogIsRefusedAndNothingIsCreated) {
  TempDir dir{"event_log_test"};
  LogOptions options;
  options.create_if_missing = false;
  auto missing = EventLog::Open(dir.path() + "/none", options);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound) << missing.error().ToString();
  EXPECT_NE(missing.error().message.find("no ledger"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/none"));
  // A directory that exists but holds no log: refused, left empty.
  auto empty = EventLog::Open(dir.path(), options);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
  // Once created, it opens without creating.
  { ASSERT_NE(OpenOk(dir.path() + "/made"), nullptr); }
  auto made = OpenOk(dir.path() + "/made", options);
  ASSERT_NE(made, nullptr);
  EXPECT_EQ(made->head().seq, 0u);
}

// Restores the process umask at the end of a scope.
class Umask {
 public:
  explicit Umask(mode_t mask) : old_(::umask(mask)) {}
  ~Umask() { ::umask(old_); }

 private:
  mode_t old_;
};

TEST(EventLogTest, ANewLogsDirectoryIsPrivateWhateverTheUmask) {
  TempDir dir{"event_log_test"};
  const Umask permissive(022);
  namespace fs = std::filesystem;
  {
    ASSERT_NE(OpenOk(dir.path() + "/db"), nullptr);
  }
  EXPECT_EQ(fs::status(dir.path() + "/db").permissions() & fs::perms::all, fs::perms::owner_all);
  // An existing empty directory that a log is created in.
  fs::create_directory(dir.path() + "/made");
  fs::permissions(dir.path() + "/made", fs::perms::owner_all | fs::perms::group_read |
                                            fs::perms::group_exec | fs::perms::others_read |
                                            fs::perms::others_exec);
  { ASSERT_NE(OpenOk(dir.path() + "/made"), nullptr); }
  EXPECT_EQ(fs::status(dir.path() + "/made").permissions() & fs::perms::all, fs::perms::owner_all);
}

// ---------------------------------------------------------------------------------------------
// Prepared events: the stored form and the id digest are those of a fresh canonicalisation.

// One event of each type, lists included.
std::vector<std::string> OneOfEachType() {
  return {
      R"({"id":"net-1","type":"network.registered","occurred_on":"2021-09-01","network_id":"N-ADULT-01","name":"Antwerpen adults","population":"adults"})",
      R"({"id":"enr-1","type":"provider.enrolled","occurred_on":"2021-09-01","provider_id":"P-100001","network_id":"N-ADULT-01","profession":"psychologist"})",
      R"({"id":"bud-1","type":"budget.allocated","occurred_on":"2022-01-01","network_id":"N-ADULT-01","year":2022,"care_budget_cents":16942926})",
      R"({"id":"ass-1","type":"assessment.recorded","occurred_on":"2022-01-01","provider_id":"P-100004","network_id":"N-ADULT-01","beneficiary":{"niss":"08012158457","birth_date":"2008-01-21","bim":false}})",
      R"({"id":"ind-1","type":"session.individual","occurred_on":"2022-01-03","provider_id":"P-100105","network_id":"N-ADULT-13","beneficiary":{"niss":"05111778679","birth_date":"2005-11-17","bim":true},"function":"support","minutes":60,"location":"practice"})",
      R"({"id":"con-1","type":"concertation.held","occurred_on":"2022-01-05","network_id":"N-ADULT-05","beneficiary":{"niss":"98122325929","birth_date":"1998-12-23","bim":false},"units":3,"participants":[{"provider_id":"P-100042","role":"psychologist","care_provider":true},{"provider_id":"P-100046","role":"psychologist","care_provider":true},{"role":"school_counsellor","care_provider":false}]})",
      R"({"id":"grp-1","type":"session.group","occurred_on":"2022-01-05","facilitators":[{"provider_id":"P-100069","role":"psychologist"},{"provider_id":"P-100071","role":"psychologist"}],"network_id":"N-ADULT-09","function":"support","minutes":120,"location":"practice","participants":[{"niss":"61062090611","birth_date":"1961-06-20","bim":false},{"niss":"89020263623","birth_date":"1989-02-02","bim":false},{"niss":"03011374432","birth_date":"2003-01-13","bim":false}]})",
      R"({"id":"mis-1","type":"support.mission","occurred_on":"2022-01-06","provider_id":"P-100163","network_id":"N-CHILD-02","minutes":165,"kind":"co_consultation"})",
      R"({"id":"void-1","type":"event.voided","occurred_on":"2022-01-23","target":"ind-1","reason":"recorded for the wrong beneficiary"})",
      R"({"id":"exc-1","type":"exception.granted","occurred_on":"2022-03-09","provider_id":"P-100014","network_id":"N-ADULT-02","beneficiary":{"niss":"96122052307","birth_date":"1996-12-20","bim":false},"function":"support","reason":"continuity of care during a crisis period"})",
      R"({"id":"lft-1","type":"provider.left","occurred_on":"2022-06-25","provider_id":"P-100006","network_id":"N-ADULT-01"})",
      R"({"id":"com-1","type":"community.intervention","occurred_on":"2022-08-19","facilitators":[{"provider_id":"P-100106","role":"psychologist"}],"network_id":"N-ADULT-13","minutes":150,"interaction_minutes":86,"participant_count":21,"defined_group":true,"host":"public library"})",
      Ruleset("rules-1"),
  };
}

std::string CanonicalBytes(schema::Event::Reader event) {
  const kj::Array<capnp::word> words = capnp::canonicalize(event);
  return std::string(reinterpret_cast<const char*>(words.begin()),
                     words.size() * sizeof(capnp::word));
}

TEST(PreparedEventTest, ItsDigestIsTheSha256OfTheEventsCanonicalForm) {
  for (const std::string& json : OneOfEachType()) {
    const DecodedEvent decoded = Ev(json);
    const PreparedEvent prepared(decoded);
    EXPECT_EQ(prepared.digest(), Sha256::Of(CanonicalBytes(decoded.event()))) << json;
    EXPECT_EQ(CanonicalBytes(prepared.event()), CanonicalBytes(decoded.event())) << json;
  }
  DecodedEvent with_version = Ev(Expect(Session("s"), 3));
  EXPECT_EQ(PreparedEvent(with_version).expected_version(), std::optional<int64_t>(3));
}

// What an append stores, checked against Cap'n Proto itself: each value is the chain hash and
// the canonical form of a StoredEvent built afresh from what was read back, and each id's digest
// the SHA-256 of its event's canonical form. With a clock at zero (a recording time of zero
// truncates the canonical data section) as well as a real one, and in chunks.
TEST(PreparedEventTest, StoredValuesAndIdDigestsAreThoseOfAFreshCanonicalisation) {
  for (const int64_t now : {kT0, int64_t{0}}) {
    TempDir dir{"event_log_test"};
    FakeClock clock(now);
    LogOptions options;
    options.now_us = clock.fn();
    options.chunk_events_max = 4;
    auto log = OpenOk(dir.path(), options);
    ASSERT_NE(log, nullptr);
    const std::vector<std::string> jsons = OneOfEachType();
    AppendOk(*log, jsons);
    ASSERT_EQ(log->head().seq, jsons.size());
    Hash prev{};
    for (Seq seq = 1; seq <= jsons.size(); ++seq) {
      const std::string value = RawGet(*log, seq);
      ASSERT_GT(value.size(), 32u);
      const std::string stored_bytes = value.substr(32);
      const DecodedEvent original = Ev(jsons[seq - 1]);
      capnp::MallocMessageBuilder message;
      auto stored = message.initRoot<schema::StoredEvent>();
      stored.setSeq(seq);
      stored.setRecordedAtUs(now);
      stored.setEvent(original.event());
      const kj::Array<capnp::word> words = capnp::canonicalize(stored.asReader());
      EXPECT_EQ(stored_bytes, std::string(reinterpret_cast<const char*>(words.begin()),
                                          words.size() * sizeof(capnp::word)))
          << "seq " << seq << ", clock " << now;
      const Hash hash = Sha256().Update(prev.data(), prev.size()).Update(stored_bytes).Finish();
      EXPECT_EQ(value.substr(0, 32), std::string(hash.begin(), hash.end())) << "seq " << seq;
      prev = hash;

      const std::string id = original.event().getId().cStr();
      std::string entry;
      ASSERT_TRUE(log->raw_db()->Get(rocksdb::ReadOptions(), log->ids_cf(), id, &entry).ok());
      auto decoded_entry = detail::DecodeIdEntry(entry);
      ASSERT_TRUE(decoded_entry.has_value());
      EXPECT_EQ(decoded_entry->seq, seq);
      EXPECT_EQ(decoded_entry->digest, Sha256::Of(CanonicalBytes(original.event()))) << id;
    }
    // The same events again are duplicates: the digests agree with the ones stored.
    const AppendResult again = AppendOk(*log, jsons);
    EXPECT_EQ(again.duplicates, jsons.size());
    EXPECT_TRUE(VerifyOf(*log).ok);
  }
}

// ---------------------------------------------------------------------------------------------
// The derived column family replaced.

std::vector<std::string> ColumnFamilies(const std::string& dir) {
  std::vector<std::string> names;
  EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &names).ok());
  std::sort(names.begin(), names.end());
  return names;
}

std::string TableOf(const std::string& path,
                    const std::vector<std::pair<std::string, std::string>>& kvs) {
  rocksdb::SstFileWriter w{rocksdb::EnvOptions(), rocksdb::Options()};
  EXPECT_TRUE(w.Open(path).ok());
  for (const auto& [k, v] : kvs) EXPECT_TRUE(w.Put(k, v).ok());
  EXPECT_TRUE(w.Finish().ok());
  return path;
}

std::optional<std::string> DerivedGet(const EventLog& log, rocksdb::ColumnFamilyHandle* cf,
                                      const std::string& key) {
  std::string v;
  rocksdb::Status s = log.derived_db()->Get(rocksdb::ReadOptions(), cf, key, &v);
  EXPECT_TRUE(s.ok() || s.IsNotFound()) << s.ToString();
  if (!s.ok()) return std::nullopt;
  return v;
}

TEST(EventLogTest, ReplacingTheDerivedDataLeavesItsHoldersTheOldAndTheNextOpenTheNew) {
  TempDir dir{"event_log_test"};
  TempDir scratch{"event_log_test"};
  {
    auto log = OpenOk(dir.path());
    ASSERT_TRUE(
        log->derived_db()->Put(rocksdb::WriteOptions(), log->derived_cf(), "k", "old").ok());
    ASSERT_TRUE(log->derived_db()->Put(rocksdb::WriteOptions(), log->derived_cf(), "x", "1").ok());
    std::shared_ptr<rocksdb::ColumnFamilyHandle> held = log->derived();
    ASSERT_TRUE(log->EmptySpareDerived(true).ok());
    ASSERT_TRUE(
        log->ReplaceDerived({TableOf(scratch.path() + "/a.sst", {{"k", "new"}, {"m", "1"}})}).ok());
    EXPECT_EQ(DerivedGet(*log, log->derived_cf(), "k"), "new");
    EXPECT_EQ(DerivedGet(*log, log->derived_cf(), "m"), "1");
    EXPECT_EQ(DerivedGet(*log, log->derived_cf(), "x"), std::nullopt);  // only what was given
    // Its holder still reads the old; it is emptied only once let go.
    ASSERT_TRUE(log->EmptySpareDerived(/*wait=*/false).ok());
    EXPECT_EQ(DerivedGet(*log, held.get(), "k"), "old");
    held.reset();
    ASSERT_TRUE(log->EmptySpareDerived(/*wait=*/false).ok());
    // A table that is not one: refused, nothing changes (the catch-ups' writes go on).
    ASSERT_TRUE(log->derived_db()->Put(rocksdb::WriteOptions(), log->derived_cf(), "k", "n2").ok());
    { std::ofstream(scratch.path() + "/bad.sst") << "not a table"; }
    EXPECT_FALSE(log->ReplaceDerived({scratch.path() + "/bad.sst"}).ok());
    EXPECT_EQ(DerivedGet(*log, log->derived_cf(), "k"), "n2");
  }
  EXPECT_EQ(ColumnFamilies(dir.path()).size(), 9u);  // never more, never fewer
  {
    auto log = OpenOk(dir.path());
    EXPECT_EQ(DerivedGet(*log, log->derived_cf(), "k"), "n2");
    EXPECT_EQ(DerivedGet(*log, log->derived_cf(), "m"), "1");
    auto reader = OpenOk(dir.path(), {.read_only = true});
    EXPECT_EQ(DerivedGet(*reader, reader->derived_cf(), "m"), "1");
    EXPECT_FALSE(reader->ReplaceDerived({TableOf(scratch.path() + "/b.sst", {{"k", "x"}})}).ok());
    // And back to the first, which was emptied.
    ASSERT_TRUE(log->EmptySpareDerived(true).ok());
    ASSERT_TRUE(log->ReplaceDerived({TableOf(scratch.path() + "/c.sst", {{"z", "3"}})}).ok());
    EXPECT_EQ(DerivedGet(*log, log->derived_cf(), "z"), "3");
    EXPECT_EQ(DerivedGet(*log, log->derived_cf(), "k"), std::nullopt);
    EXPECT_EQ(DerivedGet(*log, log->derived_cf(), "x"), std::nullopt);
  }

  // A rebuild cut short left its scratch files: the next open removes them.
  ASSERT_TRUE(std::filesystem::create_directory(dir.path() + "/derived.build"));
  { std::ofstream(dir.path() + "/derived.build/run-0") << "keys"; }
  {
    auto log = OpenOk(dir.path());
    EXPECT_EQ(log->derived_scratch_dir(), dir.path() + "/derived.build");
    EXPECT_EQ(DerivedGet(*log, log->derived_cf(), "z"), "3");
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/derived.build"));
}
// A log as the versions before wrote it has no spare projections column family: a reader opens
// it all the same (a writer creates the spare).
TEST(EventLogTest, AReaderOpensALogWrittenBeforeTheSpareProjections) {
  TempDir dir{"event_log_test"};
  {
    auto log = OpenOk(dir.path());
    ASSERT_TRUE(log->derived_db()->Put(rocksdb::WriteOptions(), log->derived_cf(), "k", "v").ok());
  }
  {
    rocksdb::DB* raw = nullptr;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    std::vector<rocksdb::ColumnFamilyDescriptor> all;
    for (const std::string& n : ColumnFamilies(dir.path())) {
      all.emplace_back(n, rocksdb::ColumnFamilyOptions());
    }
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), dir.path(), all, &handles, &raw).ok());
    for (auto* h : handles) {
      if (h->GetName() == "projections.b") {
        ASSERT_TRUE(raw->DropColumnFamily(h).ok());
      }
      raw->DestroyColumnFamilyHandle(h);
    }
    delete raw;
  }
  ASSERT_EQ(ColumnFamilies(dir.path()).size(), 8u);
  {
    auto reader = OpenOk(dir.path(), {.read_only = true, .in_place = true});
    ASSERT_NE(reader, nullptr);
    EXPECT_EQ(DerivedGet(*reader, reader->derived_cf(), "k"), "v");
  }
  {
    auto log = OpenOk(dir.path());
    EXPECT_EQ(DerivedGet(*log, log->derived_cf(), "k"), "v");
  }
  EXPECT_EQ(ColumnFamilies(dir.path()).size(), 9u);
}

}  // namespace
}  // namespace ledger
