// For tests: a RocksDB file system that forgets, at a simulated power cut, everything a real
// disk may forget: every byte written to a file but not synced (fsync/fdatasync) since, and every
// file created since its directory was last synced. The idea of RocksDB's own
// FaultInjectionTestFS (utilities/fault_injection_fs.h, not installed by Debian), kept small.
//
//   auto fs = std::make_shared<PowerCutFs>();
//   options.env = fs->env();           // the log writes through it
//   fs->CutAfter(n);                   // the n-th write, sync or directory sync from now fails,
//                                      // and every file operation after it
//   ... appends; acknowledged ones are noted ...
//   log.reset();                       // the process "dies" (its writes fail)
//   fs->ApplyPowerCut();               // the disk as it is after the power comes back
//   ... reopen without the wrapper, check ...
//
// Not modelled (simplifications the ledger does not rely on): a deleted or renamed file coming
// back after the cut (a rename counts as creating the new name), and partial sectors. Writes to
// the files themselves go through to the real disk (its page cache), so that the process reads
// back what it wrote; syncs are simulated only (the real disk is never asked to sync).
#pragma once

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace ledger {

class PowerCutFs : public rocksdb::FileSystemWrapper,
                   public std::enable_shared_from_this<PowerCutFs> {
 public:
  PowerCutFs() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "PowerCutFs"; }

  // An Env that uses this file system (kept alive by the Env's shared owner).
  std::shared_ptr<rocksdb::Env> env() {
    return std::shared_ptr<rocksdb::Env>(rocksdb::NewCompositeEnv(shared_from_this()).release());
  }

  // The n-th counted operation from now (1: the next one) fails and the power is cut: every
  // later file operation fails too. 0: never. Counted: writes, syncs, directory syncs.
  void CutAfter(int64_t n) {
    ops_ = 0;
    cut_at_ = n;
  }
  int64_t ops() const { return ops_.load(); }
  bool cut() const { return dead_.load(); }

  // After the process that wrote through this file system has closed everything: truncates each
  // file to what was synced, deletes the files whose creation no directory sync made durable.
  void ApplyPowerCut() {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, f] : files_) {
      if (f.created_unsynced) {
        ::unlink(name.c_str());
      } else if (::truncate(name.c_str(), static_cast<off_t>(f.synced)) != 0) {
        // The file was deleted since: nothing to forget.
      }
    }
    files_.clear();
  }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    if (dead_) return Dead();
    rocksdb::IOStatus s = target()->NewWritableFile(name, options, result, dbg);
    if (!s.ok()) return s;
    {
      std::lock_guard<std::mutex> lock(mu_);
      files_[name] = FileState{0, 0, true};
    }
    *result = std::make_unique<File>(std::move(*result), this, name);
    return s;
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override {
    if (dead_) return Dead();
    rocksdb::IOStatus s = target()->ReopenWritableFile(name, options, result, dbg);
    if (!s.ok()) return s;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!files_.count(name)) {  // a file from before: durable as it is
        uint64_t size = 0;
        (void)target()->GetFileSize(name, rocksdb::IOOptions(), &size, nullptr);
        files_[name] = FileState{size, size, false};
      }
    }
    *result = std::make_unique<File>(std::move(*result), this, name);
    return s;
  }
  rocksdb::IOStatus ReuseWritableFile(const std::string&, const std::string&,
                                      const rocksdb::FileOptions&,
                                      std::unique_ptr<rocksdb::FSWritableFile>*,
                                      rocksdb::IODebugContext*) override {
    return rocksdb::IOStatus::NotSupported("PowerCutFs: WAL recycling is not modelled");
  }
  rocksdb::IOStatus NewDirectory(const std::string& name, const rocksdb::IOOptions& io_opts,
                                 std::unique_ptr<rocksdb::FSDirectory>* result,
                                 rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->NewDirectory(name, io_opts, result, dbg);
    if (s.ok()) *result = std::make_unique<Directory>(std::move(*result), this, name);
    return s;
  }
  rocksdb::IOStatus RenameFile(const std::string& src, const std::string& dst,
                               const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override {
    if (dead_) return Dead();
    rocksdb::IOStatus s = target()->RenameFile(src, dst, options, dbg);
    if (s.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      FileState f{0, 0, true};
      if (auto it = files_.find(src); it != files_.end()) {
        f = it->second;
        files_.erase(it);
      } else {
        uint64_t size = 0;
        (void)target()->GetFileSize(dst, rocksdb::IOOptions(), &size, nullptr);
        f = FileState{size, size, true};
      }
      f.created_unsynced = true;  // the new name is durable once its directory is synced
      files_[dst] = f;
    }
    return s;
  }
  rocksdb::IOStatus DeleteFile(const std::string& name, const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override {
    if (dead_) return Dead();
    rocksdb::IOStatus s = target()->DeleteFile(name, options, dbg);
    if (s.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      files_.erase(name);
    }
    return s;
  }
  rocksdb::IOStatus CreateDir(const std::string& name, const rocksdb::IOOptions& options,
                              rocksdb::IODebugContext* dbg) override {
    if (dead_) return Dead();
    return target()->CreateDir(name, options, dbg);
  }
  rocksdb::IOStatus CreateDirIfMissing(const std::string& name, const rocksdb::IOOptions& options,
                                       rocksdb::IODebugContext* dbg) override {
    if (dead_) return Dead();
    return target()->CreateDirIfMissing(name, options, dbg);
  }

 private:
  struct FileState {
    uint64_t size = 0;    // bytes written
    uint64_t synced = 0;  // of which made durable by a sync
    bool created_unsynced = false;
  };

  static rocksdb::IOStatus Dead() { return rocksdb::IOStatus::IOError("power cut (test)"); }

  // Counts an operation; false once the power is cut (this operation included).
  bool Alive() {
    if (dead_) return false;
    const int64_t n = ++ops_;
    if (cut_at_ > 0 && n >= cut_at_) dead_ = true;
    return !dead_;
  }
  void Appended(const std::string& name, uint64_t bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    files_[name].size += bytes;
  }
  uint64_t SizeOf(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    return files_[name].size;
  }
  void Synced(const std::string& name, uint64_t size) {
    std::lock_guard<std::mutex> lock(mu_);
    FileState& f = files_[name];
    if (size > f.synced) f.synced = size;
  }
  void DirectorySynced(const std::string& dir) {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string prefix = dir.back() == '/' ? dir : dir + "/";
    for (auto& [name, f] : files_) {
      if (name.rfind(prefix, 0) == 0 && name.find('/', prefix.size()) == std::string::npos) {
        f.created_unsynced = false;
      }
    }
  }

  class File : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile> file, PowerCutFs* fs, std::string name)
        : FSWritableFileOwnerWrapper(std::move(file)), fs_(fs), name_(std::move(name)) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
      if (!fs_->Alive()) return Dead();
      rocksdb::IOStatus s = FSWritableFileOwnerWrapper::Append(data, options, dbg);
      if (s.ok()) fs_->Appended(name_, data.size());
      return s;
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             const rocksdb::DataVerificationInfo& info,
                             rocksdb::IODebugContext* dbg) override {
      if (!fs_->Alive()) return Dead();
      rocksdb::IOStatus s = FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
      if (s.ok()) fs_->Appended(name_, data.size());
      return s;
    }
    rocksdb::IOStatus PositionedAppend(const rocksdb::Slice&, uint64_t, const rocksdb::IOOptions&,
                                       rocksdb::IODebugContext*) override {
      return rocksdb::IOStatus::NotSupported("PowerCutFs: positioned writes are not modelled");
    }
    rocksdb::IOStatus PositionedAppend(const rocksdb::Slice&, uint64_t, const rocksdb::IOOptions&,
                                       const rocksdb::DataVerificationInfo&,
                                       rocksdb::IODebugContext*) override {
      return rocksdb::IOStatus::NotSupported("PowerCutFs: positioned writes are not modelled");
    }
    rocksdb::IOStatus Truncate(uint64_t size, const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override {
      if (fs_->dead_) return Dead();
      rocksdb::IOStatus s = FSWritableFileOwnerWrapper::Truncate(size, options, dbg);
      if (s.ok()) {
        std::lock_guard<std::mutex> lock(fs_->mu_);
        FileState& f = fs_->files_[name_];
        f.size = size;
        if (f.synced > size) f.synced = size;
      }
      return s;
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
      return SyncWith(options, dbg, false);
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                            rocksdb::IODebugContext* dbg) override {
      return SyncWith(options, dbg, true);
    }
    rocksdb::IOStatus RangeSync(uint64_t, uint64_t, const rocksdb::IOOptions&,
                                rocksdb::IODebugContext*) override {
      // Starts writeback of a range: no durability promised. Nothing to do here.
      return fs_->dead_ ? Dead() : rocksdb::IOStatus::OK();
    }

   private:
    rocksdb::IOStatus SyncWith(const rocksdb::IOOptions&, rocksdb::IODebugContext*, bool) {
      if (!fs_->Alive()) return Dead();
      // What this sync makes durable. The real disk is not asked: durability is what this file
      // system simulates (and a test of hundreds of cuts would wait on real syncs for minutes).
      fs_->Synced(name_, fs_->SizeOf(name_));
      return rocksdb::IOStatus::OK();
    }
    PowerCutFs* fs_;
    std::string name_;
  };

  class Directory : public rocksdb::FSDirectoryWrapper {
   public:
    Directory(std::unique_ptr<rocksdb::FSDirectory> dir, PowerCutFs* fs, std::string name)
        : FSDirectoryWrapper(std::move(dir)), fs_(fs), name_(std::move(name)) {}
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions&, rocksdb::IODebugContext*) override {
      if (!fs_->Alive()) return Dead();
      fs_->DirectorySynced(name_);  // simulated, as file syncs are
      return rocksdb::IOStatus::OK();
    }
    rocksdb::IOStatus FsyncWithDirOptions(const rocksdb::IOOptions&, rocksdb::IODebugContext*,
                                          const rocksdb::DirFsyncOptions&) override {
      if (!fs_->Alive()) return Dead();
      fs_->DirectorySynced(name_);
      return rocksdb::IOStatus::OK();
    }

   private:
    PowerCutFs* fs_;
    std::string name_;
  };

  std::mutex mu_;
  std::map<std::string, FileState> files_;  // under mu_
  std::atomic<int64_t> ops_{0};
  std::atomic<int64_t> cut_at_{0};
  std::atomic<bool> dead_{false};
};

}  // namespace ledger
