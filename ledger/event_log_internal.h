// Internals shared by the files of the event log (event_log*.cc): key and value encodings,
// the hash chain, error values. Not part of the log's contract; nothing outside ledger/
// includes it. Layout: ledger/README.md, "Storage layout".
#pragma once

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <rocksdb/slice.h>
#include <rocksdb/status.h>

#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "ledger/bytes.h"
#include "ledger/event_log.h"
#include "ledger/facts.h"
#include "ledger/sha256.h"

namespace ledger::detail {

inline constexpr size_t kHashBytes = 32;
inline constexpr std::string_view kHeadKey = "head";
// Written with the first chunk of a batch that spans several writes, removed by its commit:
// the head seq the batch builds on. Its chunks (events, facts, ids, stream index) lie after
// that head until then, and are the remains of a crash when found on open (README, "Commit
// and recovery").
inline constexpr std::string_view kPendingKey = "pending";

inline std::string StreamIndexKey(std::string_view stream, uint64_t version) {
  std::string k(stream);
  k.push_back('\0');
  PutBE64(&k, version);
  return k;
}

// ids value: seq (8) | content digest (32) | stream
struct IdEntry {
  Seq seq = 0;
  Hash digest{};
  std::string stream;
};
inline std::string EncodeIdEntry(const IdEntry& e) {
  std::string v = BE64(e.seq);
  v.append(reinterpret_cast<const char*>(e.digest.data()), e.digest.size());
  v.append(e.stream);
  return v;
}
inline std::optional<IdEntry> DecodeIdEntry(std::string_view v) {
  if (v.size() < 8 + kHashBytes) return std::nullopt;
  IdEntry e;
  e.seq = GetBE64(v.data());
  std::memcpy(e.digest.data(), v.data() + 8, kHashBytes);
  e.stream = std::string(v.substr(8 + kHashBytes));
  return e;
}

inline std::string EncodeHead(const Head& h) {
  std::string v = BE64(h.seq);
  v.append(reinterpret_cast<const char*>(h.hash.data()), h.hash.size());
  PutBE64(&v, static_cast<uint64_t>(h.recorded_at_us));
  return v;
}

// The hash chain: SHA-256(previous hash | canonical bytes of the StoredEvent).
inline Hash ChainHash(Sha256& sha, const Hash& prev, const void* bytes, size_t size) {
  return sha.Update(prev.data(), prev.size()).Update(bytes, size).Finish();
}

inline Error StorageError(const rocksdb::Status& s, const char* what) {
  return Error{ErrorCode::kStorage, std::string(what) + ": " + s.ToString()};
}

inline Error Corruption(Seq seq, std::string problem) {
  return Error{ErrorCode::kCorruption, "seq " + std::to_string(seq) + ": " + std::move(problem)};
}

// A stored value decoded in place: hash, then the canonical words of a StoredEvent.
class ValueDecoder {
 public:
  Status Decode(Seq key_seq, const rocksdb::Slice& value, Hash* hash,
                schema::StoredEvent::Reader* root) {
    if (value.size() < kHashBytes + sizeof(capnp::word) ||
        (value.size() - kHashBytes) % sizeof(capnp::word) != 0) {
      return Corruption(key_seq, "stored value has a bad size");
    }
    std::memcpy(hash->data(), value.data(), kHashBytes);
    const size_t words = (value.size() - kHashBytes) / sizeof(capnp::word);
    // Not a std::vector: capnp::word cannot be copied, and clang rejects vector<word>::resize.
    if (buf_.size() < words) buf_ = kj::heapArray<capnp::word>(words);
    std::memcpy(buf_.begin(), value.data() + kHashBytes, words * sizeof(capnp::word));
    segment_ = kj::ArrayPtr<const capnp::word>(buf_.begin(), words);
    reader_.emplace(kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>>(&segment_, 1));
    *root = reader_->getRoot<schema::StoredEvent>();
    if (root->getSeq() != key_seq) return Corruption(key_seq, "stored seq differs from its key");
    return Ok();
  }

 private:
  kj::Array<capnp::word> buf_;
  kj::ArrayPtr<const capnp::word> segment_;
  std::optional<capnp::SegmentArrayMessageReader> reader_;
};

inline Status ParseFactsChunk(const rocksdb::Slice& key, const rocksdb::Slice& value,
                              EventLog::FactsChunk* out) {
  const Seq first = key.size() == 8 ? GetBE64(key.data()) : 0;
  if (first == 0 || value.size() < kFactsHeaderBytes) {
    return Corruption(first, "bad facts chunk");
  }
  if (static_cast<uint8_t>(value[0]) != kFactsFormat) {
    return Corruption(first, "facts chunk of an unknown format " +
                                 std::to_string(static_cast<uint8_t>(value[0])));
  }
  out->first = first;
  std::memcpy(&out->count, value.data() + 1, sizeof out->count);
  out->records =
      std::string_view(value.data() + kFactsHeaderBytes, value.size() - kFactsHeaderBytes);
  if (out->count == 0) return Corruption(first, "empty facts chunk");
  return Ok();
}

}  // namespace ledger::detail
