// Shared plumbing of ledgerctl's commands: error reporting with exit codes, JSON output,
// opening the log, and the --as-of / --as-of-time flags.
#pragma once

#include <boost/json.hpp>
#include <memory>
#include <string>

#include "api/flags.h"
#include "ledger/backup.h"
#include "ledger/event_log.h"
#include "schemas/result.h"

namespace ledger {

inline constexpr int kExitRefused = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitStorage = 3;

// Prints "ledgerctl: <where><error>" to stderr and returns the exit code for the error.
int Report(const Error& e, const std::string& where = "");
void PrintJson(const boost::json::value& v);
// --db DIR (default ./data). A missing ledger (a mistyped --db) is refused, creating nothing,
// except with kCreate: as kWrite, and a new empty ledger is created when DIR holds none (append
// alone; restore too). kWrite: the log itself, recovered and checked. kQuery: the same
// when no other process holds it (a query may bring the persisted projections up to date);
// while one does (ledgerd), a read-only snapshot of what it had committed
// (LogOptions::read_only). kRead: as kQuery, for a command that stores nothing at all: RocksDB
// starts no compaction (LogOptions::compact), which closing would cut short. A writer that
// finds the log held gets an error that says so and what to do instead.
enum class LogAccess { kCreate, kWrite, kQuery, kRead };
Result<std::unique_ptr<EventLog>> OpenLog(const Flags& f, LogAccess access = LogAccess::kWrite,
                                          bool check_tail = true);
// The error for a --db that holds no ledger (EventLog::Open's kNotFound), saying what to do.
Error NoLedgerError(const std::string& dir);
// The seq a query answers at: --as-of SEQ, --as-of-time RFC3339 (the last event recorded at or
// before it), or the head.
Result<Seq> AsOfSeq(const Flags& f, const EventLog& log);
int64_t NowUs();
// {"backup_id","seq","head","created_at","bytes"}: a backup as `backups` lists it (ledgerctl
// backup and POST /v1/admin/backups print it too).
boost::json::object BackupJson(const BackupRecord& b);
// "<program> <version> (<git describe>)": what --version prints (api/version.h).
std::string VersionText(const char* program);

}  // namespace ledger
