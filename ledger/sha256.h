// SHA-256 through OpenSSL's EVP interface. Not thread-safe per instance; cheap to reuse.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace ledger {

using Hash = std::array<uint8_t, 32>;

std::string ToHex(const Hash& hash);
std::optional<Hash> HashFromHex(std::string_view hex);

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  Sha256& Update(const void* data, size_t size);
  Sha256& Update(std::string_view s) { return Update(s.data(), s.size()); }
  // Returns the digest and resets for the next message.
  Hash Finish();

  static Hash Of(std::string_view s) { return Sha256().Update(s).Finish(); }

 private:
  evp_md_ctx_st* ctx_;
};

}  // namespace ledger
