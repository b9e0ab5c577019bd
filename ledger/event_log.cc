#include "ledger/event_log.h"

#include <kj/exception.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "ledger/event_log_internal.h"
#include "ledger/info_log.h"

namespace ledger {

using namespace detail;  // NOLINT: the log's own internals

namespace {

int64_t SystemNowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The one place with RocksDB tuning. Defaults are kept except where the ledger's access
// pattern is known: sequential keys in `events`, point lookups in `ids`, `streams` and the
// projections (a catch-up looks up every line, fold state and tally it replaces, most of them
// absent while a rebuild writes), and `facts`, read whole by every replay, kept uncompressed
// (about 40 bytes an event).
rocksdb::ColumnFamilyOptions TunedCfOptions(bool point_lookups, bool compressed) {
  rocksdb::ColumnFamilyOptions cf;
  cf.write_buffer_size = 64 << 20;
  if (!compressed) cf.compression = rocksdb::kNoCompression;
  if (point_lookups) {
    rocksdb::BlockBasedTableOptions t;
    t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  }
  return cf;
}

constexpr const char* kCfNames[] = {"default",      "events", "ids",         "streams",
                                    "stream_index", "meta",   "projections", "facts"};

}  // namespace

std::string StreamOf(schema::Event::Reader ev) {
  using B = schema::Event::Body;
  auto body = ev.getBody();
  auto beneficiary = [](schema::Beneficiary::Reader b) {
    return "beneficiary/" + std::string(b.getNiss().cStr());
  };
  auto provider = [](capnp::Text::Reader id) { return "provider/" + std::string(id.cStr()); };
  auto network = [](capnp::Text::Reader id) { return "network/" + std::string(id.cStr()); };
  switch (body.which()) {
    case B::NETWORK_REGISTERED:
      return network(body.getNetworkRegistered().getNetworkId());
    case B::PROVIDER_ENROLLED:
      return provider(body.getProviderEnrolled().getProviderId());
    case B::PROVIDER_LEFT:
      return provider(body.getProviderLeft().getProviderId());
    case B::BUDGET_ALLOCATED:
      return network(body.getBudgetAllocated().getNetworkId());
    case B::RULESET_PUBLISHED:
      return "rules";
    case B::ASSESSMENT_RECORDED:
      return beneficiary(body.getAssessmentRecorded().getBeneficiary());
    case B::EXCEPTION_GRANTED:
      return beneficiary(body.getExceptionGranted().getBeneficiary());
    case B::SESSION_INDIVIDUAL:
      return beneficiary(body.getSessionIndividual().getBeneficiary());
    case B::SESSION_GROUP:
      return network(body.getSessionGroup().getNetworkId());
    case B::COMMUNITY_INTERVENTION:
      return network(body.getCommunityIntervention().getNetworkId());
    case B::SUPPORT_MISSION:
      return provider(body.getSupportMission().getProviderId());
    case B::CONCERTATION_HELD:
      return beneficiary(body.getConcertationHeld().getBeneficiary());
    case B::EVENT_VOIDED:
      return "";  // the target's stream, resolved by the log
    case B::INVOICE_ISSUED:
      return provider(body.getInvoiceIssued().getProviderId());
  }
  return "";
}

// ---------------------------------------------------------------------------------------------
// Open and recovery.

namespace {

// A log is there when RocksDB's CURRENT file is. When it is not and one may be created, the
// directory is made (or kept) private first: RocksDB would make it with the umask.
Status PrepareDirectory(rocksdb::Env* env, const std::string& dir, bool create) {
  const rocksdb::Status current = env->FileExists(dir + "/CURRENT");
  if (current.ok()) return Ok();
  if (!current.IsNotFound())
    return StorageError(current, ("looking for a ledger in " + dir).c_str());
  if (!create) {
    return Error{ErrorCode::kNotFound, "no ledger in " + dir + " (nothing was created there)"};
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Error{ErrorCode::kStorage,
                 "cannot create the ledger directory " + dir + ": " + std::strerror(errno)};
  }
  if (::chmod(dir.c_str(), 0700) != 0) {
    return Error{ErrorCode::kStorage, "cannot make " + dir + " private: " + std::strerror(errno)};
  }
  return Ok();
}

}  // namespace

Result<std::unique_ptr<EventLog>> EventLog::Open(const std::string& dir, LogOptions options) {
  std::unique_ptr<EventLog> log(new EventLog());
  log->options_ = std::move(options);
  if (!log->options_.now_us) log->options_.now_us = SystemNowUs;
  if (log->options_.chunk_events_max == 0) log->options_.chunk_events_max = 1;

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.paranoid_checks = true;
  db_options.max_background_jobs = 2;
  if (log->options_.env) db_options.env = log->options_.env.get();
  if (Status d = PrepareDirectory(db_options.env, dir,
                                  log->options_.create_if_missing && !log->options_.read_only);
      !d) {
    return d.error();
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (int i = 0; i < kCfCount; ++i) {
    descriptors.emplace_back(
        kCfNames[i], TunedCfOptions(i == kIds || i == kStreams || i == kProjections, i != kFacts));
    descriptors.back().options.disable_auto_compactions = !log->options_.compact;
  }
  // RocksDB's diagnostics: LOG beside the data, by a logger that survives a full disk (its own
  // aborts on one). A reader writes none: it has nowhere it may write.
  db_options.info_log = InfoLog::Open(log->options_.read_only ? "" : dir + "/LOG");
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  if (log->options_.read_only && log->options_.in_place) {
    // RocksDB's read-only mode: the WAL is replayed in memory, nothing is written anywhere.
    db_options.create_if_missing = false;
    db_options.create_missing_column_families = false;
    s = rocksdb::DB::OpenForReadOnly(db_options, dir, descriptors, &log->cfs_, &raw);
    log->failed_.store(true);
  } else if (log->options_.read_only) {
    // A secondary instance keeps every table file open (max_open_files -1), so that files the
    // primary compacts away stay readable for as long as this snapshot lives.
    db_options.create_if_missing = false;
    db_options.create_missing_column_families = false;
    db_options.max_open_files = -1;
    std::string tmpl = (std::filesystem::temp_directory_path() / "ledger-reader-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) {
      return Error{ErrorCode::kStorage, "cannot create a temporary directory for a reader"};
    }
    log->secondary_dir_ = tmpl;
    s = rocksdb::DB::OpenAsSecondary(db_options, dir, log->secondary_dir_, descriptors, &log->cfs_,
                                     &raw);
    if (s.ok()) s = raw->TryCatchUpWithPrimary();
    log->failed_.store(true);  // every write goes to Refuse(), which says why
  } else {
    s = rocksdb::DB::Open(db_options, dir, descriptors, &log->cfs_, &raw);
  }
  if (raw) log->db_.reset(raw);
  if (!s.ok()) return StorageError(s, ("opening " + dir).c_str());
  if (Status r = log->Recover(); !r) return r.error();
  return log;
}

EventLog::~EventLog() {
  if (db_) {
    for (auto* cf : cfs_) db_->DestroyColumnFamilyHandle(cf);
    db_->Close().PermitUncheckedError();
    db_.reset();
  }
  if (!secondary_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(secondary_dir_, ec);
  }
}

Status EventLog::Recover() {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cfs_[kMeta], kHeadKey, &v);
  if (s.ok()) {
    if (v.size() != 8 + kHashBytes + 8) return Error{ErrorCode::kCorruption, "bad head record"};
    head_.seq = GetBE64(v.data());
    std::memcpy(head_.hash.data(), v.data() + 8, kHashBytes);
    head_.recorded_at_us = static_cast<int64_t>(GetBE64(v.data() + 8 + kHashBytes));
  } else if (!s.IsNotFound()) {
    return StorageError(s, "reading the head");
  }
  // Events after the head are the chunks of a batch that never committed (a crash mid-append),
  // and their facts (written in the same chunks), unless a committed batch wrote them: then the
  // head was moved back, and nothing is deleted (README, "Commit and recovery").
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kEvents]));
  std::unique_ptr<rocksdb::Iterator> fit(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kFacts]));
  it->Seek(BE64(head_.seq + 1));
  fit->Seek(BE64(head_.seq + 1));
  if (!it->status().ok()) return StorageError(it->status(), "scanning the tail");
  if (!fit->status().ok()) return StorageError(fit->status(), "scanning the tail of the facts");
  if (it->Valid()) {
    auto committed = CommittedAfterHead(it.get());
    if (!committed) return committed.error();
    if (*committed != 0) {
      const std::string problem =
          "a committed event lies after the recorded head (seq " + std::to_string(head_.seq) +
          "): the id index names it, so a committed batch wrote it; the head was moved back or "
          "rewritten. Nothing was deleted (ops/RUNBOOK.md, \"Corruption\")";
      if (options_.check_tail) return Corruption(*committed, problem);
      past_head_.emplace(*committed, problem);  // verify reports it; nothing is deleted
      return Ok();
    }
  }
  if ((it->Valid() || fit->Valid()) && !options_.read_only) {
    rocksdb::WriteBatch b;
    b.DeleteRange(cfs_[kEvents], BE64(head_.seq + 1), BE64(UINT64_MAX));
    b.DeleteRange(cfs_[kFacts], BE64(head_.seq + 1), BE64(UINT64_MAX));
    if (Status w = WriteDurable(&b); !w) return w;
  }
  return options_.check_tail ? CheckTail() : Ok();
}

// `it` is at the first event after the head. A committed batch writes its events' ids in its
// final write, with the head: an event after the head that the id index names (at its own seq)
// was committed, and the head has moved back since. The first and the last event after the head
// are looked at: an uncommitted tail is one batch's chunks, contiguous from the head on. The
// seq of a committed one, or 0.
Result<Seq> EventLog::CommittedAfterHead(rocksdb::Iterator* it) const {
  ValueDecoder dec;
  std::string idv;
  for (bool last : {false, true}) {
    if (last) it->SeekToLast();
    if (!it->status().ok()) return StorageError(it->status(), "scanning the tail");
    const Seq seq = it->key().size() == 8 ? GetBE64(it->key().data()) : 0;
    Hash hash{};
    schema::StoredEvent::Reader root;
    rocksdb::Status s = rocksdb::Status::NotFound();
    try {
      // A value that does not decode (as its key's event) is no committed event: a commit
      // writes whole events.
      if (dec.Decode(seq, it->value(), &hash, &root)) {
        s = db_->Get(rocksdb::ReadOptions(), cfs_[kIds], root.getEvent().getId().cStr(), &idv);
      }
    } catch (const kj::Exception&) {
    }
    if (s.IsNotFound()) continue;
    if (!s.ok()) return StorageError(s, "reading the id index");
    if (auto entry = DecodeIdEntry(idv); entry && entry->seq == seq) return seq;
  }
  return Seq{0};
}

// The last event must be at the head's seq, decode, carry the head's hash, and chain from the
// event before it. Finds a torn or altered end at start-up without reading all of history.
Status EventLog::CheckTail() {
  if (head_.seq == 0) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kEvents]));
    it->SeekToFirst();
    if (it->Valid()) return Error{ErrorCode::kCorruption, "events stored but no head recorded"};
    return Ok();
  }
  Hash prev{};
  if (head_.seq > 1) {
    std::string pv;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cfs_[kEvents], BE64(head_.seq - 1), &pv);
    if (!s.ok()) return Corruption(head_.seq - 1, "missing before the head: " + s.ToString());
    if (pv.size() < kHashBytes) return Corruption(head_.seq - 1, "stored value too short");
    std::memcpy(prev.data(), pv.data(), kHashBytes);
  }
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cfs_[kEvents], BE64(head_.seq), &v);
  if (!s.ok()) return Corruption(head_.seq, "the head event is missing: " + s.ToString());
  Hash stored{};
  schema::StoredEvent::Reader root;
  ValueDecoder dec;
  try {
    if (Status d = dec.Decode(head_.seq, v, &stored, &root); !d) return d;
  } catch (const kj::Exception& e) {
    return Corruption(head_.seq, "undecodable: " + std::string(e.getDescription().cStr()));
  }
  Sha256 sha;
  const Hash computed = ChainHash(sha, prev, v.data() + kHashBytes, v.size() - kHashBytes);
  if (computed != stored || stored != head_.hash) {
    return Corruption(head_.seq, "the tail of the hash chain does not match the head");
  }
  return Ok();
}

// ---------------------------------------------------------------------------------------------
// The failed state and the head.

Status EventLog::Fail(const rocksdb::Status& s, const char* what) {
  std::lock_guard<std::mutex> lock(failure_mu_);
  failure_ = std::string(what) + ": " + s.ToString();
  failed_.store(true);
  return Error{ErrorCode::kWritesStopped, failure_};
}

Status EventLog::Refuse() const {
  std::lock_guard<std::mutex> lock(failure_mu_);
  if (!failure_.empty()) {
    return Error{ErrorCode::kWritesStopped,
                 "writes are stopped after a storage failure: " + failure_};
  }
  if (options_.in_place) return Error{ErrorCode::kWritesStopped, "the ledger was opened read-only"};
  return Error{ErrorCode::kWritesStopped,
               "the ledger was opened read-only (another process, ledgerd, writes it)"};
}

void EventLog::StopWrites(const std::string& why) {
  std::lock_guard<std::mutex> lock(failure_mu_);
  failure_ = why;
  failed_.store(true);
}

std::string EventLog::failure() const {
  std::lock_guard<std::mutex> lock(failure_mu_);
  return failure_;
}

Head EventLog::head() const {
  std::lock_guard<std::mutex> lock(head_mu_);
  return head_;
}

}  // namespace ledger
