#include "ledger/info_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ledger/testing/temp_dir.h"

namespace ledger {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(InfoLogTest, WritesOneLinePerMessageAtOrAboveItsLevel) {
  TempDir dir{"info_log_test"};
  const std::string path = dir.path() + "/LOG";
  {
    auto log = InfoLog::Open(path);
    rocksdb::Log(rocksdb::INFO_LEVEL, log, "flush of %s: %d bytes", "events", 42);
    rocksdb::Log(rocksdb::WARN_LEVEL, log, "a warning");
    rocksdb::Log(rocksdb::DEBUG_LEVEL, log, "not at this level");
    const std::string long_text(5000, 'y');
    rocksdb::Log(rocksdb::ERROR_LEVEL, log, "long: %s.", long_text.c_str());
    EXPECT_EQ(log->dropped(), 0u);
    ASSERT_TRUE(log->Close().ok());
  }
  const std::string text = ReadFile(path);
  std::istringstream lines(text);
  std::vector<std::string> got;
  for (std::string line; std::getline(lines, line);) got.push_back(line);
  ASSERT_EQ(got.size(), 3u) << text;
  EXPECT_NE(got[0].find("flush of events: 42 bytes"), std::string::npos) << got[0];
  EXPECT_NE(got[1].find("a warning"), std::string::npos);
  EXPECT_NE(got[2].find(std::string(5000, 'y') + "."), std::string::npos) << "cut short";
  EXPECT_EQ(fs::status(path).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  // Appended to, never truncated.
  { rocksdb::Log(rocksdb::INFO_LEVEL, InfoLog::Open(path), "again"); }
  EXPECT_EQ(ReadFile(path).rfind(text, 0), 0u);
  EXPECT_NE(ReadFile(path).find("again"), std::string::npos);
}

// The failure that aborted ledgerd: a write that fails (a full disk), then more lines.
TEST(InfoLogTest, AFullDiskDropsLinesAndNeverAborts) {
  auto log = InfoLog::Open("/dev/full");  // every write fails with ENOSPC
  for (int i = 0; i < 100; ++i) rocksdb::Log(rocksdb::ERROR_LEVEL, log, "line %d", i);
  EXPECT_EQ(log->dropped(), 100u);
  auto nowhere = InfoLog::Open("/nonexistent-dir/LOG");
  rocksdb::Log(rocksdb::ERROR_LEVEL, nowhere, "dropped");
  EXPECT_EQ(nowhere->dropped(), 1u);
  auto none = InfoLog::Open("");
  rocksdb::Log(rocksdb::ERROR_LEVEL, none, "dropped");
  EXPECT_EQ(none->dropped(), 1u);
}

TEST(InfoLogTest, ALargeLogIsSetAsideAtOpen) {
  TempDir dir{"info_log_test"};
  const std::string path = dir.path() + "/LOG";
  { std::ofstream(path) << "old\n"; }
  fs::resize_file(path, InfoLog::kRotateBytes + 1);
  { rocksdb::Log(rocksdb::INFO_LEVEL, InfoLog::Open(path), "fresh"); }
  EXPECT_EQ(fs::file_size(path + ".old"), InfoLog::kRotateBytes + 1);
  EXPECT_NE(ReadFile(path).find("fresh"), std::string::npos);
  EXPECT_LT(fs::file_size(path), 200u);
}

}  // namespace
}  // namespace ledger
