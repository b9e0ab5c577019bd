// Backups of the log with RocksDB's BackupEngine: incremental (table files are shared between
// the backups of one backup directory, only new ones are copied), each backup's files checked
// against their checksums once written, and each backup records the head it holds (seq and
// hash, in BackupEngine's app metadata) so that a restore can prove it got exactly that.
//
// Consistency: CreateBackup pauses the log's writer at a commit boundary (it holds the one
// open Append, committing nothing) while BackupEngine captures the files, so that the state
// copied is exactly the head recorded. Appends wait meanwhile (ledgerd queues them); reads go
// on. The pause lasts the copy of the files new since the previous backup.
//
// Thread-safety: one backup directory is used by one process at a time (BackupEngine's rule).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ledger/event_log.h"
#include "schemas/result.h"

namespace ledger {

struct BackupRecord {
  uint32_t backup_id = 0;
  Seq seq = 0;
  Hash head{};
  int64_t created_at_s = 0;  // UTC seconds, BackupEngine's timestamp
  uint64_t bytes = 0;        // the size of the backup's files (shared ones included)
};

// Backs `log` up into `backup_dir` (created 0700 if missing), verifies the copied files'
// checksums, and returns what the backup holds. A log opened read-only cannot be backed up.
Result<BackupRecord> CreateBackup(EventLog& log, const std::string& backup_dir);

// The backups in `backup_dir`, oldest first. kNotFound when it holds none.
Result<std::vector<BackupRecord>> ListBackups(const std::string& backup_dir);

struct RestoreReport {
  BackupRecord backup;
  VerifyReport verify;  // of the restored ledger: ok, and its head is the backup's
};

// Restores backup `backup_id` (default: the latest) into `db_dir`, which must not exist or be
// empty (a restore never writes over a ledger), then opens the restored ledger, verifies its
// whole chain and checks that its head is the one the backup recorded. On any failure after
// the files were restored, `db_dir` is removed again: nothing half-checked is left to be used.
Result<RestoreReport> RestoreBackup(const std::string& backup_dir,
                                    std::optional<uint32_t> backup_id, const std::string& db_dir,
                                    const std::function<void(Seq, Seq)>& progress = {});

}  // namespace ledger
