#include "api/cli.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "api/version.h"
#include "ledger/log_time.h"
#include "schemas/civil_date.h"

namespace ledger {

int Report(const Error& e, const std::string& where) {
  std::fprintf(stderr, "ledgerctl: %s%s\n", where.c_str(), e.ToString().c_str());
  switch (e.code) {
    case ErrorCode::kInvalidArgument:
      return kExitUsage;
    case ErrorCode::kStorage:
    case ErrorCode::kWritesStopped:
    case ErrorCode::kBusy:
      return kExitStorage;
    default:
      return kExitRefused;
  }
}

void PrintJson(const boost::json::value& v) {
  std::string s = boost::json::serialize(v);
  s.push_back('\n');
  std::fwrite(s.data(), 1, s.size(), stdout);
}

Error NoLedgerError(const std::string& dir) {
  return Error{ErrorCode::kInvalidArgument,
               "no ledger in " + dir +
                   " (is --db right?); nothing was created there. Only `ledgerctl append --db " +
                   dir + " FILE` creates a ledger (an empty FILE, /dev/null, an empty one)"};
}

Result<std::unique_ptr<EventLog>> OpenLog(const Flags& f, LogAccess access, bool check_tail) {
  const std::string dir = f.GetOr("db", "./data");
  LogOptions options;
  options.check_tail = check_tail;
  options.compact = access != LogAccess::kRead;
  options.create_if_missing = access == LogAccess::kCreate;
  auto log = EventLog::Open(dir, options);
  if (!log && log.error().code == ErrorCode::kNotFound) return NoLedgerError(dir);
  if (log) return log;
  // RocksDB's own lock file says that another process has the log open.
  const bool held = log.error().message.find("/LOCK") != std::string::npos;
  if (!held && log.error().code == ErrorCode::kStorage &&
      (access == LogAccess::kRead || access == LogAccess::kQuery)) {
    // A disk that takes no write (full, read-only): a read needs none. In place, writing nothing.
    options.read_only = true;
    options.in_place = true;
    auto reader = EventLog::Open(dir, options);
    if (!reader) return log;
    std::fprintf(stderr,
                 "ledgerctl: %s could not be opened for writing (%s); reading it read-only\n",
                 dir.c_str(), log.error().message.c_str());
    return reader;
  }
  if (!held) return log;
  if (access == LogAccess::kWrite || access == LogAccess::kCreate) {
    return Error{ErrorCode::kStorage,
                 dir +
                     " is open in another process (ledgerd?). Write through its HTTP API "
                     "(POST /v1/events, /v1/rulesets, /v1/months/{month}/close), or stop it "
                     "for this command (ops/RUNBOOK.md)"};
  }
  options.read_only = true;
  auto reader = EventLog::Open(dir, options);
  if (reader && isatty(STDERR_FILENO)) {
    std::fprintf(stderr, "ledgerctl: %s is held by another process; reading it as of seq %llu\n",
                 dir.c_str(), static_cast<unsigned long long>((*reader)->head().seq));
  }
  return reader;
}

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

boost::json::object BackupJson(const BackupRecord& b) {
  boost::json::object o;
  o["backup_id"] = b.backup_id;
  o["seq"] = b.seq;
  o["head"] = ToHex(b.head);
  o["created_at"] = FormatTimestampUs(b.created_at_s * 1000000);
  o["bytes"] = b.bytes;
  return o;
}

std::string VersionText(const char* program) {
  std::string out = std::string(program) + " " + kLedgerVersion;
  if (*kLedgerBuild != '\0') out += std::string(" (") + kLedgerBuild + ")";
  return out;
}

Result<Seq> AsOfSeq(const Flags& f, const EventLog& log) {
  const Seq head = log.head().seq;
  auto seq = f.GetInt("as-of", 0, INT64_MAX);
  if (!seq) return seq.error();
  if (seq->has_value()) return std::min<Seq>(static_cast<Seq>(**seq), head);
  auto time = f.Get("as-of-time");
  if (!time) return head;
  auto us = ParseTimestampUs(*time);
  if (!us) {
    return Error{ErrorCode::kInvalidArgument,
                 "--as-of-time must be RFC 3339 UTC, e.g. 2024-05-01T12:00:00Z"};
  }
  return LastSeqRecordedBy(log, *us);
}

}  // namespace ledger
