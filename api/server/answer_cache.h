// Rendered answers of projection reads (invoices, quotas, balances, the network view), kept for as
// long as the projections stay at the seq they were rendered from. A read answers one seq
// (Ledger-Seq); while the projection seq has not moved, the same request gets the same bytes, so a
// cached body is exactly what rendering it again would give. Appends move the seq and so retire
// every entry.
//
// Keys hold path parameters (a NISS for quotas): they live in memory only and are never logged
// or exported. Thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "ledger/event_log.h"

namespace ledger {

// A rendered answer: its body and Content-Type.
struct CachedAnswer {
  std::string body;
  std::string content_type;
};

class AnswerCache {
 public:
  // At most `max_entries` bodies (0: nothing is cached).
  explicit AnswerCache(size_t max_entries) : max_entries_(max_entries) {}

  // The body rendered for `key` at projection seq `seq`; null when there is none.
  std::shared_ptr<const CachedAnswer> Find(const std::string& key, Seq seq) const;
  // Keeps `body` for `key` at `seq`. Entries of older seqs are dropped first; when every entry is
  // current and the cache is full, it starts over (the simplest bound; reads of one seq refill
  // it).
  void Put(const std::string& key, Seq seq, std::shared_ptr<const CachedAnswer> answer);

 private:
  struct Entry {
    Seq seq = 0;
    std::shared_ptr<const CachedAnswer> body;
  };
  const size_t max_entries_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  Seq newest_ = 0;  // the highest seq put
};

}  // namespace ledger
