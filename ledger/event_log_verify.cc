#include <kj/exception.h>

#include <climits>
#include <cstring>
#include <functional>

#include "ledger/event_log.h"
#include "ledger/event_log_internal.h"

namespace ledger {

using namespace detail;  // NOLINT: the log's own internals

// ---------------------------------------------------------------------------------------------
// Verify.

struct EventLog::VerifyPass {
  rocksdb::ReadOptions ro;  // at one snapshot of every column family (a writer may commit)
  Head head;
  // A batch of several chunks is being appended on this head (its pending mark is in the
  // snapshot): its id and stream index entries after the head are not yet part of the log.
  bool batch_in_flight = false;
  VerifyReport report;
  // The hash of each event's stream, by seq (index 0 unused): the stream index must point at
  // events of its stream. 8 bytes an event for the length of the pass.
  std::vector<uint64_t> stream_hash;

  bool Bad(Seq seq, std::string problem) {
    report.ok = false;
    report.first_bad_seq = seq;
    report.problem = std::move(problem);
    return false;
  }
};

namespace {

uint64_t StreamHash(std::string_view stream) { return std::hash<std::string_view>{}(stream); }

// A snapshot released at the end of its scope; none for a reader, whose view does not move.
class ScopedSnapshot {
 public:
  ScopedSnapshot(rocksdb::DB* db, bool take) : db_(db), snap_(take ? db->GetSnapshot() : nullptr) {}
  ~ScopedSnapshot() {
    if (snap_) db_->ReleaseSnapshot(snap_);
  }
  ScopedSnapshot(const ScopedSnapshot&) = delete;
  ScopedSnapshot& operator=(const ScopedSnapshot&) = delete;
  const rocksdb::Snapshot* get() const { return snap_; }

 private:
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snap_;
};

}  // namespace

Result<VerifyReport> EventLog::Verify(const std::function<void(Seq, Seq)>& progress) const {
  VerifyPass pass;
  const ScopedSnapshot snapshot(db_.get(), !options_.read_only);
  pass.ro.snapshot = snapshot.get();
  pass.head = head();
  if (snapshot.get()) {
    std::string v;
    rocksdb::Status s = db_->Get(pass.ro, cfs_[kMeta], kHeadKey, &v);
    if (s.ok() && v.size() == 8 + kHashBytes + 8) {
      pass.head.seq = GetBE64(v.data());
      std::memcpy(pass.head.hash.data(), v.data() + 8, kHashBytes);
    } else if (!s.IsNotFound()) {
      return s.ok() ? Error{ErrorCode::kCorruption, "bad head record"}
                    : StorageError(s, "reading the head");
    }
  }
  if (past_head_) {
    pass.Bad(past_head_->first, past_head_->second);
    return pass.report;
  }
  auto pending = PendingOnHead(pass.ro, pass.head.seq);
  if (!pending) return pending.error();
  pass.batch_in_flight = pending->value_or(false);
  if (Status w = VerifyEvents(&pass, progress); !w) return w.error();
  if (pass.report.ok) {
    if (Status i = VerifyIdIndex(&pass); !i) return i.error();
  }
  if (pass.report.ok) {
    if (Status t = VerifyStreamIndex(&pass); !t) return t.error();
  }
  return pass.report;
}

// The id index entry of an event: it points at the event, and names the event's stream (for a
// void, its target's).
bool EventLog::VerifyIdEntry(VerifyPass* pass, Seq seq, schema::Event::Reader ev) const {
  std::string idv;
  rocksdb::Status s = db_->Get(pass->ro, cfs_[kIds], ev.getId().cStr(), &idv);
  auto entry = s.ok() ? DecodeIdEntry(idv) : std::nullopt;
  if (!entry || entry->seq != seq)
    return pass->Bad(seq, "the id index does not point at this event");
  std::string stream;
  if (ev.getBody().isEventVoided()) {
    s = db_->Get(pass->ro, cfs_[kIds], ev.getBody().getEventVoided().getTarget().cStr(), &idv);
    auto target = s.ok() ? DecodeIdEntry(idv) : std::nullopt;
    if (!target || target->seq >= seq) {
      return pass->Bad(seq, "the id index has no earlier event for this void's target");
    }
    stream = std::move(target->stream);
  } else {
    stream = StreamOf(ev);
  }
  // The stream name is not echoed: it may hold a NISS.
  if (entry->stream != stream)
    return pass->Bad(seq, "the id index gives this event another stream");
  pass->stream_hash[seq] = StreamHash(stream);
  return true;
}

Status EventLog::VerifyEvents(VerifyPass* pass,
                              const std::function<void(Seq, Seq)>& progress) const {
  VerifyReport& report = pass->report;
  const Head& head = pass->head;
  pass->stream_hash.assign(head.seq + 1, 0);
  Hash prev{};
  int64_t last_recorded = INT64_MIN;
  Sha256 sha;
  auto bad = [&](Seq seq, std::string problem) { return pass->Bad(seq, std::move(problem)); };
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(pass->ro, cfs_[kEvents]));
  ValueDecoder dec;
  Seq expect = 1;
  // Facts, walked beside the events: each event's record must be what the event encodes to.
  // Events without facts (written by a version before them) are allowed: readers read those
  // events themselves.
  const std::string facts_upper = BE64(head.seq + 1);
  rocksdb::Slice facts_upper_slice(facts_upper);
  rocksdb::ReadOptions fro = pass->ro;
  fro.iterate_upper_bound = &facts_upper_slice;
  std::unique_ptr<rocksdb::Iterator> fit(db_->NewIterator(fro, cfs_[kFacts]));
  fit->SeekToFirst();
  uint32_t chunk_left = 0;  // the records of the chunk being checked not checked yet
  std::string chunk_bytes;
  std::string_view records;  // what is left of chunk_bytes
  std::string want;
  auto check_facts = [&](Seq seq, schema::Event::Reader ev) -> bool {
    if (chunk_left == 0 && fit->Valid()) {
      FactsChunk next;
      if (Status p = ParseFactsChunk(fit->key(), fit->value(), &next); !p) {
        return bad(seq, p.error().message);
      }
      if (next.first < seq) return bad(next.first, "facts chunk overlaps the one before");
      if (next.first == seq) {
        chunk_left = next.count;
        chunk_bytes.assign(next.records);  // the iterator's value does not outlive Next()
        records = chunk_bytes;
        fit->Next();
      }
    }
    if (chunk_left == 0) return true;  // no facts written for this event
    want.clear();
    if (Status e = EncodeFacts(ev, &want); !e) return bad(seq, e.error().message);
    if (!records.starts_with(want)) return bad(seq, "its facts differ from the event");
    records.remove_prefix(want.size());
    if (--chunk_left == 0 && !records.empty()) {
      return bad(seq, "its facts chunk holds more than its count");
    }
    return true;
  };
  try {
    for (it->SeekToFirst(); it->Valid() && expect <= head.seq; it->Next(), ++expect) {
      const Seq seq = it->key().size() == 8 ? GetBE64(it->key().data()) : 0;
      if (seq != expect) {
        bad(expect, "sequence gap: found key " + std::to_string(seq));
        break;
      }
      Hash stored{};
      schema::StoredEvent::Reader root;
      const rocksdb::Slice v = it->value();
      if (v.size() < kHashBytes) {
        bad(seq, "stored value too short");
        break;
      }
      const Hash computed = ChainHash(sha, prev, v.data() + kHashBytes, v.size() - kHashBytes);
      if (std::memcmp(computed.data(), v.data(), kHashBytes) != 0) {
        bad(seq, "hash does not chain from the previous event");
        break;
      }
      if (Status d = dec.Decode(seq, v, &stored, &root); !d) {
        bad(seq, d.error().message);
        break;
      }
      if (root.getRecordedAtUs() < last_recorded) {
        bad(seq, "recorded_at goes backwards");
        break;
      }
      last_recorded = root.getRecordedAtUs();
      if (!VerifyIdEntry(pass, seq, root.getEvent())) break;
      if (!check_facts(seq, root.getEvent())) break;
      prev = stored;
      ++report.events;
      if (progress && seq % 65536 == 0) progress(seq, head.seq);
    }
  } catch (const kj::Exception& e) {
    bad(expect, "undecodable: " + std::string(e.getDescription().cStr()));
  }
  if (!it->status().ok()) return StorageError(it->status(), "reading events");
  if (report.ok && report.events != head.seq) {
    bad(report.events + 1, "the chain ends before the recorded head");
  }
  if (report.ok && prev != head.hash) bad(head.seq, "the last hash differs from the recorded head");
  if (report.ok && chunk_left > 0) bad(head.seq, "its facts chunk holds fewer than its count");
  if (report.ok && fit->Valid()) {
    bad(GetBE64(fit->key().data()), "facts stored for no event");
  }
  if (!fit->status().ok()) return StorageError(fit->status(), "reading facts");
  report.head = prev;
  if (progress) progress(report.events, head.seq);
  return Ok();
}

// Every event's entry points at it (VerifyEvents); so the index holds one entry per event and no
// other. An entry more is named by the seq it points at.
Status EventLog::VerifyIdIndex(VerifyPass* pass) const {
  // An entry of the batch in flight (after the head) is not counted, nor looked at below.
  auto in_flight = [&](const rocksdb::Slice& value) {
    return pass->batch_in_flight && value.size() >= 8 && GetBE64(value.data()) > pass->head.seq;
  };
  uint64_t entries = 0;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(pass->ro, cfs_[kIds]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) entries += in_flight(it->value()) ? 0 : 1;
  if (!it->status().ok()) return StorageError(it->status(), "reading the id index");
  if (entries == pass->report.events) return Ok();
  // Which: the first entry that points past the head or at an event with another id.
  ValueDecoder dec;
  std::string v;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (in_flight(it->value())) continue;
    auto entry = DecodeIdEntry(std::string_view(it->value().data(), it->value().size()));
    if (!entry || entry->seq == 0 || entry->seq > pass->head.seq) {
      pass->Bad(entry ? entry->seq : 0, "the id index names an event past the head");
      return Ok();
    }
    rocksdb::Status s = db_->Get(pass->ro, cfs_[kEvents], BE64(entry->seq), &v);
    if (!s.ok()) return StorageError(s, "reading events");
    Hash hash{};
    schema::StoredEvent::Reader root;
    try {
      if (Status d = dec.Decode(entry->seq, v, &hash, &root); !d) return d;
      if (it->key() != rocksdb::Slice(root.getEvent().getId().cStr())) {
        pass->Bad(entry->seq, "the id index holds an entry for another id that points at it");
        return Ok();
      }
    } catch (const kj::Exception& e) {
      return Corruption(entry->seq, "undecodable: " + std::string(e.getDescription().cStr()));
    }
  }
  if (!it->status().ok()) return StorageError(it->status(), "reading the id index");
  pass->Bad(pass->head.seq, "the id index holds " + std::to_string(entries) + " entries for " +
                                std::to_string(pass->report.events) + " events");
  return Ok();
}

// stream_index, walked in key order (stream, version) beside `streams` (in stream order too):
// each stream's versions are 1, 2, ... in seq order, point at events of that stream, and end at
// the version `streams` records; every event is pointed at once (as many entries as events).
// Stream names are never echoed (they may hold a NISS): problems name a seq.
Status EventLog::VerifyStreamIndex(VerifyPass* pass) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(pass->ro, cfs_[kStreamIndex]));
  std::unique_ptr<rocksdb::Iterator> vit(db_->NewIterator(pass->ro, cfs_[kStreams]));
  vit->SeekToFirst();
  std::string stream;  // the current group's
  uint64_t version = 0, entries = 0;
  Seq last = 0;
  // The group of `stream` is over: `streams` must hold it next, with its count.
  auto close_group = [&]() -> bool {
    if (version == 0) return true;
    if (!vit->Valid() || vit->key() != rocksdb::Slice(stream)) {
      return pass->Bad(last,
                       "the stream of this event has no version recorded, or one is "
                       "recorded for a stream without events before it");
    }
    if (vit->value().size() != 8 || GetBE64(vit->value().data()) != version) {
      return pass->Bad(last, "the version recorded for this event's stream is not its count (" +
                                 std::to_string(version) + ")");
    }
    vit->Next();
    return true;
  };
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const rocksdb::Slice key = it->key();
    if (key.size() < 9 || key[key.size() - 9] != '\0' || it->value().size() != 8) {
      return Error{ErrorCode::kCorruption, "bad stream index entry"};
    }
    const std::string_view name(key.data(), key.size() - 9);
    const uint64_t v = GetBE64(key.data() + key.size() - 8);
    const Seq seq = GetBE64(it->value().data());
    if (pass->batch_in_flight && seq > pass->head.seq) continue;  // not yet part of the log
    if (name != stream) {
      if (!close_group()) return Ok();
      stream.assign(name);
      version = 0;
      last = 0;
    }
    if (seq == 0 || seq > pass->head.seq) {
      pass->Bad(seq, "the stream index names an event past the head");
      return Ok();
    }
    if (v != version + 1 || seq <= last) {
      pass->Bad(seq, "the stream index is out of order at this event");
      return Ok();
    }
    if (pass->stream_hash[seq] != StreamHash(name)) {
      pass->Bad(seq, "the stream index lists this event in another stream");
      return Ok();
    }
    version = v;
    last = seq;
    ++entries;
  }
  if (!it->status().ok()) return StorageError(it->status(), "reading the stream index");
  if (!close_group()) return Ok();
  if (vit->Valid()) {
    pass->Bad(0, "a stream version is recorded for a stream without events");
    return Ok();
  }
  if (!vit->status().ok()) return StorageError(vit->status(), "reading the stream versions");
  if (entries != pass->report.events) {
    pass->Bad(pass->head.seq, "the stream index holds " + std::to_string(entries) +
                                  " entries for " + std::to_string(pass->report.events) +
                                  " events");
  }
  return Ok();
}

}  // namespace ledger
