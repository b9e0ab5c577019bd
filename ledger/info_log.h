// RocksDB's info log (its own diagnostics: flushes, compactions, background errors), written
// to LOG in the ledger's directory instead of by RocksDB's default logger. That one asserts when
// it writes again after a failed write, and Debian's librocksdb keeps its assertions: on a full
// disk the first line it could not write took the process down (SIGABRT), at every restart too.
// This one drops a line it cannot write, counts it, and goes on: it never aborts, never blocks
// on a retry. It holds no event data (RocksDB logs no keys or values).
#pragma once

#include <rocksdb/env.h>

#include <atomic>
#include <cstdarg>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace ledger {

class InfoLog : public rocksdb::Logger {
 public:
  // Appends to `path` (created 0600); an existing file larger than kRotateBytes is renamed to
  // `path`.old first (replacing an older one). An empty path, or a file that cannot be opened,
  // makes a logger that drops every line (dropped() counts them).
  static std::shared_ptr<InfoLog> Open(const std::string& path,
                                       rocksdb::InfoLogLevel level = rocksdb::INFO_LEVEL);
  static constexpr uint64_t kRotateBytes = 32 << 20;

  ~InfoLog() override;
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override;
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override;
  // Lines not written (no file, or a failed or short write).
  uint64_t dropped() const { return dropped_.load(); }

 protected:
  rocksdb::Status CloseImpl() override;

 private:
  InfoLog(int fd, rocksdb::InfoLogLevel level) : rocksdb::Logger(level), fd_(fd) {}
  std::mutex mu_;
  int fd_ = -1;  // under mu_
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace ledger
