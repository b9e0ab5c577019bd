#include <gtest/gtest.h>
#include <rocksdb/sst_file_reader.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "ledger/testing/temp_dir.h"
#include "projections/store_writer.h"

namespace ledger {
namespace {

// Every key and value of `tables`, read in the order given; fails on a key not after the one
// before it (tables out of order, overlapping, or a key twice).
std::vector<std::pair<std::string, std::string>> ReadTables(
    const std::vector<std::string>& tables) {
  std::vector<std::pair<std::string, std::string>> all;
  for (const std::string& path : tables) {
    rocksdb::SstFileReader reader{rocksdb::Options()};
    EXPECT_TRUE(reader.Open(path).ok()) << path;
    std::unique_ptr<rocksdb::Iterator> it(reader.NewIterator(rocksdb::ReadOptions()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (!all.empty()) {
        EXPECT_LT(all.back().first, it->key().ToString()) << path;
      }
      all.emplace_back(it->key().ToString(), it->value().ToString());
    }
    EXPECT_TRUE(it->status().ok());
  }
  return all;
}

// Many runs, keys put several times within a run and across runs: the tables hold each key
// once, with its last put's value, in key order across tables and merge parts.
TEST(IngestWriter, MergesManyRunsIntoOrderedTablesTheLastPutWinning) {
  TempDir dir{"store_ingest_test"};
  const std::string scratch = dir.path() + "/scratch";
  rocksdb::Options options;
  options.target_file_size_base = 64 << 10;  // many tables too
  IngestWriter w(scratch, options, /*run_bytes=*/16 << 10);
  ASSERT_TRUE(w.Start().ok());
  struct stat st {};
  ASSERT_EQ(::stat(scratch.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);  // keys name beneficiaries: private

  std::mt19937 rng(7);
  std::map<std::string, std::string> reference;
  for (int i = 0; i < 60000; ++i) {
    // Keys of a few families (first bytes), long and short, from a space small enough to repeat.
    const char family = "LTSbhx"[rng() % 6];
    std::string key(1, family);
    key += std::to_string(rng() % 20000);
    if (rng() % 3 == 0) key += std::string(rng() % 40, 'k');
    const std::string value = "v" + std::to_string(i) + std::string(rng() % 30, 'x');
    w.Put(key, value);
    reference[key] = value;
    if (i % 1000 == 0) {
      ASSERT_TRUE(w.Flush(false).ok());
    }
  }
  ASSERT_GT(w.runs(), 20u);
  auto tables = w.Finish();
  ASSERT_TRUE(tables.ok()) << tables.error().ToString();
  EXPECT_GT(tables->size(), 2u);
  const auto held = ReadTables(*tables);
  ASSERT_EQ(held.size(), reference.size());
  size_t k = 0;
  for (const auto& [key, value] : reference) {
    EXPECT_EQ(held[k].first, key);
    EXPECT_EQ(held[k].second, value) << key;
    ++k;
  }
}

// One key, one run, no split: a table of it.
TEST(IngestWriter, OneKeyMakesOneTable) {
  TempDir dir{"store_ingest_test"};
  IngestWriter w(dir.path() + "/scratch", rocksdb::Options());
  ASSERT_TRUE(w.Start().ok());
  w.Put("k", "v");
  auto tables = w.Finish();
  ASSERT_TRUE(tables.ok());
  ASSERT_EQ(tables->size(), 1u);
  const auto held = ReadTables(*tables);
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0].second, "v");
}

// A scratch directory that cannot be made, or a run that cannot be written, is an error that
// says where; the writer is gone with its directory after.
TEST(IngestWriter, AFailedWriteSaysWhere) {
  TempDir dir{"store_ingest_test"};
  IngestWriter nowhere(dir.path() + "/missing/scratch", rocksdb::Options());
  auto started = nowhere.Start();
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.error().message.find("missing/scratch"), std::string::npos);

  const std::string scratch = dir.path() + "/scratch";
  {
    IngestWriter w(scratch, rocksdb::Options(), /*run_bytes=*/1024);
    ASSERT_TRUE(w.Start().ok());
    // The second run's file cannot be made: a directory has its name.
    ASSERT_TRUE(std::filesystem::create_directory(scratch + "/run-1"));
    for (int i = 0; i < 100; ++i) w.Put("k" + std::to_string(i), std::string(100, 'v'));
    auto flushed = w.Flush(true);
    ASSERT_FALSE(flushed.ok());
    EXPECT_NE(flushed.error().message.find(scratch + "/run-1"), std::string::npos)
        << flushed.error().message;
    w.Put("later", "v");  // refused as the first error says
    auto finished = w.Finish();
    ASSERT_FALSE(finished.ok());
    EXPECT_EQ(finished.error().message, flushed.error().message);
  }
  EXPECT_FALSE(std::filesystem::exists(scratch));
}

}  // namespace
}  // namespace ledger
