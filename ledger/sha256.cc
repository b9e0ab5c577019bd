#include "ledger/sha256.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace ledger {

std::string ToHex(const Hash& hash) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(64, '0');
  for (size_t i = 0; i < hash.size(); ++i) {
    s[2 * i] = kDigits[hash[i] >> 4];
    s[2 * i + 1] = kDigits[hash[i] & 15];
  }
  return s;
}

std::optional<Hash> HashFromHex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  Hash h{};
  for (size_t i = 0; i < 64; ++i) {
    const char c = hex[i];
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      v = c - 'A' + 10;
    } else {
      return std::nullopt;
    }
    h[i / 2] = static_cast<uint8_t>(h[i / 2] | (i % 2 ? v : v << 4));
  }
  return h;
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1) std::abort();
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

Sha256& Sha256::Update(const void* data, size_t size) {
  if (EVP_DigestUpdate(ctx_, data, size) != 1) std::abort();
  return *this;
}

Hash Sha256::Finish() {
  Hash h{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_, h.data(), &len) != 1 || len != h.size() ||
      EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1) {
    std::abort();  // OpenSSL failing on SHA-256 is not an input error: stop.
  }
  return h;
}

}  // namespace ledger
