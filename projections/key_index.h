// 64-bit keys -> dense indices 0, 1, 2... in first-seen order, by open addressing (linear
// probing, a table of plain slots: no allocation per key, no string). For the hot lookups of a
// replay: NISS numbers, provider-months.
//
// Thread-safety: none; one owner.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace ledger {

class KeyIndex {
 public:
  // The index of `key`, added when new.
  uint32_t Intern(uint64_t key) {
    if (keys_.size() * 2 >= slots_.size()) Grow();
    for (size_t i = Home(key);; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.key_plus_one == 0) {
        s.key_plus_one = key + 1;
        s.idx = static_cast<uint32_t>(keys_.size());
        keys_.push_back(key);
        return s.idx;
      }
      if (s.key_plus_one == key + 1) return s.idx;
    }
  }
  size_t size() const { return keys_.size(); }
  uint64_t key(uint32_t idx) const { return keys_[idx]; }

 private:
  struct Slot {
    uint64_t key_plus_one = 0;  // 0: empty (so key UINT64_MAX is not allowed)
    uint32_t idx = 0;
  };
  // Fibonacci hashing: the top bits of the product spread nearby keys over the table.
  size_t Home(uint64_t key) const {
    return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_);
  }
  void Grow() {
    std::vector<Slot> old = std::move(slots_);
    const size_t size = std::max<size_t>(1024, old.size() * 2);
    slots_.assign(size, Slot{});
    mask_ = size - 1;
    shift_ = 64;
    for (size_t s = size; s > 1; s >>= 1) --shift_;
    for (const Slot& s : old) {
      if (s.key_plus_one == 0) continue;
      size_t i = Home(s.key_plus_one - 1);
      while (slots_[i].key_plus_one != 0) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  int shift_ = 64;
  std::vector<uint64_t> keys_;  // by index
};

}  // namespace ledger
