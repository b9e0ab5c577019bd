// Big-endian integers and length-prefixed strings for RocksDB keys and values: big-endian so
// that byte order is numeric order in keys.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace ledger {

inline void PutBE64(std::string* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline void PutBE32(std::string* out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline std::string BE64(uint64_t v) {
  std::string s;
  PutBE64(&s, v);
  return s;
}
inline uint64_t GetBE64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
inline uint32_t GetBE32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
// Signed values keep their order in keys by flipping the sign bit.
inline void PutOrdered32(std::string* out, int32_t v) {
  PutBE32(out, static_cast<uint32_t>(v) ^ 0x80000000u);
}
inline int32_t GetOrdered32(const char* p) {
  return static_cast<int32_t>(GetBE32(p) ^ 0x80000000u);
}

// Reads fields back in the order they were written; any overrun sets ok() to false.
class ByteReader {
 public:
  explicit ByteReader(std::string_view data) : data_(data) {}
  bool ok() const { return ok_; }
  bool done() const { return pos_ == data_.size(); }
  uint64_t U64() { return Take(8) ? GetBE64(data_.data() + pos_ - 8) : 0; }
  uint32_t U32() { return Take(4) ? GetBE32(data_.data() + pos_ - 4) : 0; }
  int64_t I64() { return static_cast<int64_t>(U64()); }
  int32_t I32() { return static_cast<int32_t>(U32()); }
  uint8_t U8() { return Take(1) ? static_cast<uint8_t>(data_[pos_ - 1]) : 0; }
  std::string Str() {
    const uint32_t n = U32();
    if (!Take(n)) return {};
    return std::string(data_.substr(pos_ - n, n));
  }

 private:
  bool Take(size_t n) {
    if (!ok_ || data_.size() - pos_ < n) {
      ok_ = false;
      return false;
    }
    pos_ += n;
    return true;
  }
  std::string_view data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

inline void PutStr(std::string* out, std::string_view s) {
  PutBE32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

}  // namespace ledger
