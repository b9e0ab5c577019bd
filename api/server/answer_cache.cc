#include "api/server/answer_cache.h"

namespace ledger {

std::shared_ptr<const CachedAnswer> AnswerCache::Find(const std::string& key, Seq seq) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.seq != seq) return nullptr;
  return it->second.body;
}

void AnswerCache::Put(const std::string& key, Seq seq, std::shared_ptr<const CachedAnswer> body) {
  if (max_entries_ == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (seq < newest_) return;  // rendered from projections that have moved on since
  if (seq > newest_) {
    // The projections moved: every entry is stale.
    entries_.clear();
    newest_ = seq;
  }
  if (entries_.size() >= max_entries_ && !entries_.count(key)) entries_.clear();
  entries_[key] = Entry{seq, std::move(body)};
}

}  // namespace ledger
