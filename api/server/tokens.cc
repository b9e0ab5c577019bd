#include "api/server/tokens.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <sstream>

namespace ledger {

const char* RoleName(AccessRole r) {
  switch (r) {
    case AccessRole::kRecorder:
      return "recorder";
    case AccessRole::kCoordinator:
      return "coordinator";
    case AccessRole::kAuditor:
      return "auditor";
    case AccessRole::kOperator:
      return "operator";
  }
  return "?";
}

std::optional<AccessRole> ParseRole(std::string_view name) {
  for (AccessRole r : {AccessRole::kRecorder, AccessRole::kCoordinator, AccessRole::kAuditor,
                       AccessRole::kOperator}) {
    if (name == RoleName(r)) return r;
  }
  return std::nullopt;
}

namespace {

// The token file's text, refused when users other than its owner (and its group, which may only
// read it: the runbook's root:ledger 0640) could read or change it.
Result<std::string> ReadPrivateFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error{ErrorCode::kInvalidArgument, "cannot read the token file " + path};
  struct stat st {};
  std::string text;
  bool ok = ::fstat(fd, &st) == 0;
  const mode_t mode = st.st_mode & 0777;
  if (ok && (mode & (S_IRWXO | S_IWGRP)) != 0) {
    ::close(fd);
    char octal[8];
    std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode));
    return Error{ErrorCode::kInvalidArgument,
                 "the token file " + path + " can be read or changed by other users (mode " +
                     octal + "); fix it with: chmod 600 " + path +
                     " (or 640 with the service's group, as ops/RUNBOOK.md keeps it)"};
  }
  char buf[8192];
  for (ssize_t n; ok && (n = ::read(fd, buf, sizeof buf)) != 0;) {
    if (n < 0) {
      ok = errno == EINTR;
      continue;
    }
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (!ok) return Error{ErrorCode::kInvalidArgument, "cannot read the token file " + path};
  return text;
}

}  // namespace

Result<TokenStore> TokenStore::Load(const std::string& path) {
  auto text = ReadPrivateFile(path);
  if (!text) return text.error();
  std::istringstream in(*text);
  TokenStore store;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + " line " + std::to_string(n) + ": ";
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(line, ec);
    if (ec || !v.is_object())
      return Error{ErrorCode::kInvalidArgument, where + "not a JSON object"};
    const auto& o = v.get_object();
    auto str = [&](const char* k) -> std::string {
      const auto* x = o.if_contains(k);
      return x && x->is_string() ? std::string(x->get_string()) : std::string();
    };
    auto hash = HashFromHex(str("sha256"));
    auto role = ParseRole(str("role"));
    if (!hash) return Error{ErrorCode::kInvalidArgument, where + "sha256 must be 64 hex digits"};
    if (!role) return Error{ErrorCode::kInvalidArgument, where + "unknown role"};
    Principal who{*role, str("network"), str("name")};
    if (who.role == AccessRole::kCoordinator && who.network.empty()) {
      return Error{ErrorCode::kInvalidArgument, where + "a coordinator token needs a network"};
    }
    store.entries_.push_back({*hash, std::move(who)});
  }
  return store;
}

std::optional<Principal> TokenStore::Authenticate(std::string_view token) const {
  if (token.empty()) return std::nullopt;
  const Hash presented = Sha256::Of(token);
  std::optional<Principal> found;
  // Every entry is compared, in constant time, whatever matched before.
  for (const Entry& e : entries_) {
    if (CRYPTO_memcmp(e.sha256.data(), presented.data(), presented.size()) == 0) found = e.who;
  }
  return found;
}

Result<std::string> TokenStore::Add(const std::string& path, AccessRole role,
                                    const std::string& network, const std::string& name) {
  if (role == AccessRole::kCoordinator && network.empty()) {
    return Error{ErrorCode::kInvalidArgument, "a coordinator token needs --network"};
  }
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) {
    return Error{ErrorCode::kStorage, "no randomness available for a token"};
  }
  Hash bytes{};
  std::copy(std::begin(raw), std::end(raw), bytes.begin());
  const std::string token = "lt_" + ToHex(bytes);
  boost::json::object o;
  o["sha256"] = ToHex(Sha256::Of(token));
  o["role"] = RoleName(role);
  if (!network.empty()) o["network"] = network;
  if (!name.empty()) o["name"] = name;
  const std::string line = boost::json::serialize(o) + "\n";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return Error{ErrorCode::kStorage, "cannot open " + path};
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Error{ErrorCode::kStorage, "writing " + path + " failed"};
  return token;
}

}  // namespace ledger
