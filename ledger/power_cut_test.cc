// Acknowledged means synced: appends under a simulated power cut (ledger/testing/power_cut_fs.h)
// that drops every write not synced, at every point of a workload in turn. After each cut the
// log reopens (on the disk as the cut left it), every acknowledged event is there at its seq,
// every batch is all or nothing, nothing refused is there, and verify holds. kill -9 (the crash
// test) keeps the page cache, so it cannot show this; this can. Three workloads: single-event
// appends, group commits (savepoints, a refused request rolled back, as the committer does),
// and batches written as several unsynced chunks; with memtable flushes among them (a new WAL,
// table files, the MANIFEST).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "ledger/event_log.h"
#include "ledger/testing/power_cut_fs.h"
#include "ledger/testing/temp_dir.h"
#include "schemas/civil_date.h"
#include "schemas/json_codec.h"

namespace ledger {
namespace {

std::string Mission(const std::string& id, int minutes = 90) {
  return R"({"id": ")" + id +
         R"(", "type": "support.mission", "occurred_on": "2024-06-05", "provider_id": "P-)" +
         std::to_string(id.size() % 3) + R"(", "network_id": "N-1", "minutes": )" +
         std::to_string(minutes) + R"(, "kind": "co_consultation"})";
}

DecodedEvent Ev(const std::string& json) {
  auto decoded = DecodeEventJson(json, 0, ToDay({2025, 1, 1}));
  EXPECT_TRUE(decoded.ok()) << decoded.error().ToString();
  return std::move(decoded).value();
}

// What a workload did: every unit that commits as a whole (a batch, a group), the ids it holds,
// and whether its commit was acknowledged; the ids of requests refused inside a group.
struct Outcome {
  struct Unit {
    std::vector<std::string> ids;
    bool acked = false;
    std::map<std::string, Seq> seqs;  // when acked: the seq answered for each id
  };
  std::vector<Unit> units;
  std::set<std::string> refused;
};

using Workload = std::function<void(EventLog&, Outcome*)>;

// Commits `ids` as one batch (AppendAll); false once appends fail.
bool Batch(EventLog& log, const std::vector<std::string>& ids, Outcome* out) {
  Outcome::Unit unit;
  unit.ids = ids;
  std::vector<DecodedEvent> events;
  for (const std::string& id : ids) events.push_back(Ev(Mission(id)));
  auto r = log.AppendAll(events);
  if (r) {
    unit.acked = true;
    for (const AppendedEvent& a : r->results) unit.seqs[a.id] = a.seq;
  }
  out->units.push_back(std::move(unit));
  return r.ok();
}

void Flush(EventLog& log) { (void)log.raw_db()->Flush(rocksdb::FlushOptions(), log.events_cf()); }

// Single-event appends, a memtable flush among them. (A cut inside a flush costs a second:
// RocksDB waits that long after a failed background flush before it closes.)
void Singles(EventLog& log, Outcome* out) {
  for (int i = 0; i < 16; ++i) {
    if (!Batch(log, {"single-" + std::to_string(i)}, out)) return;
    if (i == 7) Flush(log);
  }
}

// Group commits as the committer makes them: a savepoint per request, a request with a
// conflicting event rolled back, the others committed together.
void Groups(EventLog& log, Outcome* out) {
  for (int g = 0; g < 6; ++g) {
    auto append = log.BeginAppend();
    Outcome::Unit unit;
    for (int r = 0; r < 3; ++r) {
      append->SetSavepoint();
      std::vector<std::string> ids = {"group-" + std::to_string(g) + "-" + std::to_string(r) + "a",
                                      "group-" + std::to_string(g) + "-" + std::to_string(r) + "b"};
      bool ok = true;
      for (const std::string& id : ids) {
        if (Status s = append->Add(Ev(Mission(id))); !s) {
          ok = false;
          break;
        }
      }
      // The second request of every group also resends a committed id with other content.
      if (ok && r == 1 && g > 0) {
        ok = append->Add(Ev(Mission("group-0-0a", 45))).ok();
        EXPECT_FALSE(ok);
      }
      if (ok) {
        unit.ids.insert(unit.ids.end(), ids.begin(), ids.end());
      } else {
        append->RollbackToSavepoint();
        out->refused.insert(ids.begin(), ids.end());
      }
    }
    auto result = append->Commit();
    if (result) {
      unit.acked = true;
      for (const AppendedEvent& a : result->results) unit.seqs[a.id] = a.seq;
    }
    out->units.push_back(std::move(unit));
    if (!result) return;
    if (g == 2) Flush(log);
  }
}

// Batches of 10 events written as chunks of 3 (three unsynced chunk writes, then the commit).
void Chunks(EventLog& log, Outcome* out) {
  for (int b = 0; b < 5; ++b) {
    std::vector<std::string> ids;
    for (int i = 0; i < 10; ++i)
      ids.push_back("chunk-" + std::to_string(b) + "-" + std::to_string(i));
    if (!Batch(log, ids, out)) return;
    if (b == 2) Flush(log);
  }
}

// Checks the log after a cut against what the workload was told.
void ExpectSurvived(const std::string& dir, const Outcome& out, int64_t cut) {
  SCOPED_TRACE("power cut at operation " + std::to_string(cut));
  auto reopened = EventLog::Open(dir);
  ASSERT_TRUE(reopened.ok()) << reopened.error().ToString();
  EventLog& log = **reopened;
  std::map<std::string, Seq> stored;
  Status s = log.ReadRange(1, UINT64_MAX, [&](const StoredEventView& v) {
    stored[v.event().getId().cStr()] = v.seq();
    return true;
  });
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  EXPECT_EQ(stored.size(), log.head().seq);
  for (const Outcome::Unit& unit : out.units) {
    size_t present = 0;
    for (const std::string& id : unit.ids) present += stored.count(id);
    // All or nothing, whether it was acknowledged or not (a commit that reached the disk but
    // whose answer was lost is all there).
    EXPECT_TRUE(present == 0 || present == unit.ids.size())
        << present << " of " << unit.ids.size() << " events of a batch survived";
    if (unit.acked) {
      EXPECT_EQ(present, unit.ids.size()) << "an acknowledged batch was lost";
      for (const auto& [id, seq] : unit.seqs) {
        EXPECT_EQ(stored.count(id) ? stored.at(id) : 0, seq) << id;
      }
    }
  }
  for (const std::string& id : out.refused) EXPECT_EQ(stored.count(id), 0u) << id;
  auto report = log.Verify();
  ASSERT_TRUE(report.ok()) << report.error().ToString();
  EXPECT_TRUE(report->ok) << report->first_bad_seq << ": " << report->problem;
  // And it goes on.
  std::vector<DecodedEvent> after;
  after.push_back(Ev(Mission("after-the-cut")));
  auto more = log.AppendAll(after);
  EXPECT_TRUE(more.ok()) << more.error().ToString();
}

// The runs' directories: in memory when /dev/shm is there (the reopened log syncs for real,
// and a slow disk makes hundreds of runs take minutes), else under the test temp dir.
class RunDir {
 public:
  RunDir() {
    std::string tmpl = std::filesystem::is_directory("/dev/shm")
                           ? "/dev/shm/power_cut_test.XXXXXX"
                           : testing::TempDir() + "power_cut_test.XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~RunDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  RunDir(const RunDir&) = delete;
  RunDir& operator=(const RunDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs the workload once without a cut to count its operations, then once per cut point.
void CutEverywhere(const Workload& workload, size_t chunk_events_max, int64_t* cuts_made) {
  auto run = [&](int64_t cut, int64_t* ops) {
    RunDir dir;
    auto fs = std::make_shared<PowerCutFs>();
    LogOptions options;
    options.env = fs->env();
    options.chunk_events_max = chunk_events_max;
    options.compact = false;  // no background compaction: the same operations every run
    Outcome out;
    {
      auto log = EventLog::Open(dir.path(), options);
      ASSERT_TRUE(log.ok()) << log.error().ToString();
      // A first committed batch, before the cut can fall.
      ASSERT_TRUE(Batch(**log, {"first"}, &out));
      fs->CutAfter(cut);
      workload(**log, &out);
      *ops = fs->ops();
    }  // the process ends: what it still writes fails once the power is cut
    fs->ApplyPowerCut();
    if (cut > 0) {
      EXPECT_TRUE(fs->cut()) << "the cut at " << cut << " did not fall";
    }
    ExpectSurvived(dir.path(), out, cut);
  };
  int64_t total = 0;
  run(0, &total);
  ASSERT_GT(total, 10) << "the workload writes nothing?";
  for (int64_t cut = 1; cut <= total && !testing::Test::HasFatalFailure(); ++cut) {
    int64_t ops = 0;
    run(cut, &ops);
    ++*cuts_made;
  }
}

TEST(PowerCutTest, SingleAppendsAcknowledgedSurvive) {
  int64_t cuts = 0;
  CutEverywhere(Singles, 8192, &cuts);
  EXPECT_GT(cuts, 20);
}

TEST(PowerCutTest, GroupCommitsAcknowledgedSurviveAndRolledBackRequestsDoNot) {
  int64_t cuts = 0;
  CutEverywhere(Groups, 8192, &cuts);
  EXPECT_GT(cuts, 10);
}

TEST(PowerCutTest, MultiChunkBatchesAreAllOrNothing) {
  int64_t cuts = 0;
  CutEverywhere(Chunks, 3, &cuts);
  EXPECT_GT(cuts, 20);
}

// The wrapper itself: what it forgets.
TEST(PowerCutFsTest, UnsyncedBytesAndUnsyncedCreationsAreForgotten) {
  TempDir dir{"power_cut_test"};
  auto fs = std::make_shared<PowerCutFs>();
  const std::string a = dir.path() + "/a", b = dir.path() + "/b";
  rocksdb::IOOptions io;
  std::unique_ptr<rocksdb::FSDirectory> d;
  ASSERT_TRUE(fs->NewDirectory(dir.path(), io, &d, nullptr).ok());
  std::unique_ptr<rocksdb::FSWritableFile> fa, fb;
  ASSERT_TRUE(fs->NewWritableFile(a, rocksdb::FileOptions(), &fa, nullptr).ok());
  ASSERT_TRUE(fa->Append("synced", io, nullptr).ok());
  ASSERT_TRUE(fa->Sync(io, nullptr).ok());
  ASSERT_TRUE(d->Fsync(io, nullptr).ok());  // a's creation is durable
  ASSERT_TRUE(fa->Append("-lost", io, nullptr).ok());
  ASSERT_TRUE(fs->NewWritableFile(b, rocksdb::FileOptions(), &fb, nullptr).ok());
  ASSERT_TRUE(fb->Append("b", io, nullptr).ok());
  ASSERT_TRUE(fb->Sync(io, nullptr).ok());  // synced, but no directory sync since its creation
  fs->CutAfter(1);
  EXPECT_FALSE(fa->Append("x", io, nullptr).ok());
  EXPECT_FALSE(fa->Sync(io, nullptr).ok());
  EXPECT_TRUE(fs->cut());
  ASSERT_TRUE(fa->Close(io, nullptr).ok());
  ASSERT_TRUE(fb->Close(io, nullptr).ok());
  fs->ApplyPowerCut();
  std::string text;
  ASSERT_TRUE(rocksdb::ReadFileToString(rocksdb::Env::Default(), a, &text).ok());
  EXPECT_EQ(text, "synced");
  EXPECT_FALSE(rocksdb::Env::Default()->FileExists(b).ok());
}

}  // namespace
}  // namespace ledger
