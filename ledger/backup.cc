#include "ledger/backup.h"

#include <rocksdb/utilities/backup_engine.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <filesystem>
#include <memory>
#include <system_error>

namespace ledger {

namespace {

namespace fs = std::filesystem;

Error BackupError(const rocksdb::Status& s, const std::string& what) {
  return Error{ErrorCode::kStorage, what + ": " + s.ToString()};
}

// BackupEngine's app metadata of a backup: {"seq":N,"head":"<hex>"}.
std::string EncodeMetadata(const Head& h) {
  boost::json::object o;
  o["seq"] = h.seq;
  o["head"] = ToHex(h.hash);
  return boost::json::serialize(o);
}

Result<BackupRecord> RecordOf(const rocksdb::BackupInfo& info) {
  BackupRecord r;
  r.backup_id = info.backup_id;
  r.created_at_s = info.timestamp;
  r.bytes = info.size;
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(info.app_metadata, ec);
  const auto* o = !ec && v.is_object() ? &v.get_object() : nullptr;
  const auto* seq = o ? o->if_contains("seq") : nullptr;
  const auto* head = o ? o->if_contains("head") : nullptr;
  auto hash = head && head->is_string() ? HashFromHex(head->get_string()) : std::nullopt;
  if (!seq || !seq->is_number() || !hash) {
    return Error{ErrorCode::kCorruption, "backup " + std::to_string(info.backup_id) +
                                             " records no seq and head (not made by ledgerctl "
                                             "or ledgerd, or its metadata was altered)"};
  }
  r.seq = seq->to_number<Seq>();
  r.head = *hash;
  return r;
}

template <typename Engine>
Result<std::unique_ptr<Engine>> OpenEngine(const std::string& dir) {
  Engine* raw = nullptr;
  rocksdb::IOStatus s =
      Engine::Open(rocksdb::BackupEngineOptions(dir), rocksdb::Env::Default(), &raw);
  if (!s.ok()) return BackupError(s, "opening the backups in " + dir);
  return std::unique_ptr<Engine>(raw);
}

}  // namespace

Result<BackupRecord> CreateBackup(EventLog& log, const std::string& backup_dir) {
  if (log.read_only()) {
    return Error{ErrorCode::kInvalidArgument, "a ledger opened read-only cannot be backed up"};
  }
  std::error_code ec;
  if (fs::create_directories(backup_dir, ec)) ::chmod(backup_dir.c_str(), 0700);
  if (ec) return Error{ErrorCode::kStorage, "cannot create " + backup_dir + ": " + ec.message()};
  auto engine = OpenEngine<rocksdb::BackupEngine>(backup_dir);
  if (!engine) return engine.error();
  rocksdb::BackupID id = 0;
  Head head;
  {
    // The writer paused at a commit boundary: what BackupEngine copies is exactly `head`.
    auto pause = log.BeginAppend();
    head = log.head();
    rocksdb::CreateBackupOptions options;
    options.flush_before_backup = false;  // the WAL is copied instead: a shorter pause
    rocksdb::IOStatus s =
        (*engine)->CreateNewBackupWithMetadata(options, log.raw_db(), EncodeMetadata(head), &id);
    if (!s.ok()) return BackupError(s, "backing up into " + backup_dir);
  }
  if (rocksdb::IOStatus s = (*engine)->VerifyBackup(id, /*verify_with_checksum=*/true); !s.ok()) {
    (void)(*engine)->DeleteBackup(id);
    return Error{ErrorCode::kStorage,
                 "backup " + std::to_string(id) +
                     " failed its checksum check and was deleted: " + s.ToString()};
  }
  rocksdb::BackupInfo info;
  if (rocksdb::Status s = (*engine)->GetBackupInfo(id, &info); !s.ok()) {
    return BackupError(s, "reading backup " + std::to_string(id));
  }
  return RecordOf(info);
}

Result<std::vector<BackupRecord>> ListBackups(const std::string& backup_dir) {
  if (!fs::exists(backup_dir)) {
    return Error{ErrorCode::kNotFound, "no backups in " + backup_dir + " (no such directory)"};
  }
  auto engine = OpenEngine<rocksdb::BackupEngineReadOnly>(backup_dir);
  if (!engine) return engine.error();
  std::vector<rocksdb::BackupInfo> infos;
  (*engine)->GetBackupInfo(&infos);
  std::vector<BackupRecord> out;
  for (const rocksdb::BackupInfo& info : infos) {
    auto r = RecordOf(info);
    if (!r) return r.error();
    out.push_back(*r);
  }
  if (out.empty()) return Error{ErrorCode::kNotFound, "no backups in " + backup_dir};
  return out;
}

namespace {

// The restored ledger in `db_dir`, opened, verified whole and held to the recorded head.
Result<VerifyReport> CheckRestored(const std::string& db_dir, const BackupRecord& backup,
                                   const std::function<void(Seq, Seq)>& progress) {
  LogOptions options;
  options.create_if_missing = false;
  options.check_tail = false;  // verify names the first bad seq instead
  auto log = EventLog::Open(db_dir, options);
  if (!log) return log.error();
  auto report = (*log)->Verify(progress);
  if (!report) return report.error();
  const std::string which = "the ledger restored from backup " + std::to_string(backup.backup_id);
  if (!report->ok) {
    return Error{ErrorCode::kCorruption, which + " fails verification at seq " +
                                             std::to_string(report->first_bad_seq) + ": " +
                                             report->problem};
  }
  if (report->events != backup.seq || report->head != backup.head) {
    return Error{ErrorCode::kCorruption,
                 which + " ends at seq " + std::to_string(report->events) + " with head " +
                     ToHex(report->head) + ", not at the recorded seq " +
                     std::to_string(backup.seq) + " with head " + ToHex(backup.head)};
  }
  return *report;
}

}  // namespace

Result<RestoreReport> RestoreBackup(const std::string& backup_dir,
                                    std::optional<uint32_t> backup_id, const std::string& db_dir,
                                    const std::function<void(Seq, Seq)>& progress) {
  std::error_code ec;
  if (fs::exists(db_dir, ec) && !fs::is_empty(db_dir, ec)) {
    return Error{ErrorCode::kInvalidArgument,
                 db_dir +
                     " exists and is not empty: a restore never writes over a ledger; "
                     "name a new directory"};
  }
  auto backups = ListBackups(backup_dir);
  if (!backups) return backups.error();
  const BackupRecord* chosen = &backups->back();
  if (backup_id) {
    chosen = nullptr;
    for (const BackupRecord& b : *backups) {
      if (b.backup_id == *backup_id) chosen = &b;
    }
    if (!chosen) {
      return Error{ErrorCode::kNotFound,
                   "no backup " + std::to_string(*backup_id) + " in " + backup_dir};
    }
  }
  auto engine = OpenEngine<rocksdb::BackupEngineReadOnly>(backup_dir);
  if (!engine) return engine.error();
  rocksdb::IOStatus s =
      (*engine)->RestoreDBFromBackup(rocksdb::RestoreOptions(), chosen->backup_id, db_dir, db_dir);
  ::chmod(db_dir.c_str(), 0700);
  auto report = s.ok() ? CheckRestored(db_dir, *chosen, progress)
                       : Result<VerifyReport>(BackupError(s, "restoring into " + db_dir));
  if (!report) {
    fs::remove_all(db_dir, ec);
    return Error{report.error().code, report.error().message + " (" + db_dir + " removed)"};
  }
  return RestoreReport{*chosen, *report};
}

}  // namespace ledger
