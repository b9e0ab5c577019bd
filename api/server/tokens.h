// Bearer tokens: a token file holds one JSON object per line
//   {"sha256":"<hex of the token>","role":"coordinator","network":"N-ADULT-01","name":"...",
//    "created":"2026-12-02","expires":"2027-03-31"}
// (`created` and `expires` optional: files written before them have neither; a token without
// `expires` never expires; one with it works up to and including that UTC day.)
// Only the SHA-256 of a token is ever stored; `ledgerctl tokens add` prints the token once.
// A presented token is hashed and compared with every stored hash in constant time.
// Tokens are never logged.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/sha256.h"
#include "schemas/civil_date.h"
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

// What `tokens list` shows of a token: never its hash.
struct TokenInfo {
  std::string name;
  AccessRole role = AccessRole::kAuditor;
  std::string network;
  std::optional<CivilDay> created, expires;
};

// The options of a new token (`tokens add`).
struct NewToken {
  AccessRole role = AccessRole::kAuditor;
  std::string network;  // coordinators: required
  std::string name;     // unique in the file when given (revoke finds a token by it)
  std::optional<CivilDay> expires;
};

class TokenStore {
 public:
  // Refuses a file that users other than its owner could read or change (any permission for
  // others, write for the group), saying how to fix it (chmod 600).
  static Result<TokenStore> Load(const std::string& path);
  // The principal of a presented token, if any and not expired on `today` (UTC; default: now).
  std::optional<Principal> Authenticate(std::string_view token) const;
  std::optional<Principal> Authenticate(std::string_view token, CivilDay today) const;
  size_t size() const { return entries_.size(); }

  // Creates a random token, appends its hash to `path` (created 0600 if missing) and returns
  // the token itself, which is shown once and not kept. A name already in the file is refused.
  static Result<std::string> Add(const std::string& path, const NewToken& token);
  static Result<std::string> Add(const std::string& path, AccessRole role,
                                 const std::string& network, const std::string& name);
  // The tokens of `path`, in file order.
  static Result<std::vector<TokenInfo>> List(const std::string& path);
  // Removes the token named `name` from `path`: the file is rewritten whole (a new file with
  // the same mode and owner, synced, renamed over it), so that a reader sees it before or
  // after, never half written. kNotFound when no token has that name.
  static Status Revoke(const std::string& path, const std::string& name);

 private:
  struct Entry {
    Hash sha256;
    Principal who;
    std::optional<CivilDay> created, expires;
  };
  // Parses the file's text (lines named in errors).
  static Result<TokenStore> Parse(const std::string& path, const std::string& text);
  std::vector<Entry> entries_;
};

}  // namespace ledger
