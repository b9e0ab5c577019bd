// Bearer tokens: a token file holds one JSON object per line
//   {"sha256":"<hex of the token>","role":"coordinator","network":"N-ADULT-01","name":"..."}
// Only the SHA-256 of a token is ever stored; `ledgerctl tokens add` prints the token once.
// A presented token is hashed and compared with every stored hash in constant time.
// Tokens are never logged.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/sha256.h"
#include "schemas/result.h"

namespace ledger {

enum class AccessRole { kRecorder, kCoordinator, kAuditor, kOperator };
const char* RoleName(AccessRole r);
std::optional<AccessRole> ParseRole(std::string_view name);

struct Principal {
  AccessRole role = AccessRole::kAuditor;
  std::string network;  // coordinators: the one network they read
  std::string name;
};

class TokenStore {
 public:
  // Refuses a file that users other than its owner could read or change (any permission for
  // others, write for the group), saying how to fix it (chmod 600).
  static Result<TokenStore> Load(const std::string& path);
  // The principal of a presented token, if any.
  std::optional<Principal> Authenticate(std::string_view token) const;
  size_t size() const { return entries_.size(); }

  // Creates a random token, appends its hash to `path` (created 0600 if missing) and returns
  // the token itself, which is shown once and not kept.
  static Result<std::string> Add(const std::string& path, AccessRole role,
                                 const std::string& network, const std::string& name);

 private:
  struct Entry {
    Hash sha256;
    Principal who;
  };
  std::vector<Entry> entries_;
};

}  // namespace ledger
