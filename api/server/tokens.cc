#include "api/server/tokens.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
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

CivilDay TodayUtc() {
  return DayOfTimestampUs(std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count());
}

// The non-blank lines of a token file's text, with their line numbers.
std::vector<std::pair<int, std::string>> FileLines(const std::string& text) {
  std::vector<std::pair<int, std::string>> out;
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") != std::string::npos) out.emplace_back(n, line);
  }
  return out;
}

}  // namespace

Result<TokenStore> TokenStore::Parse(const std::string& path, const std::string& text) {
  TokenStore store;
  for (const auto& [n, line] : FileLines(text)) {
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
    Entry entry{*hash, Principal{*role, str("network"), str("name")}, {}, {}};
    if (entry.who.role == AccessRole::kCoordinator && entry.who.network.empty()) {
      return Error{ErrorCode::kInvalidArgument, where + "a coordinator token needs a network"};
    }
    for (auto [key, day] : {std::pair{"created", &entry.created}, {"expires", &entry.expires}}) {
      if (!o.contains(key)) continue;
      auto date = ParseDate(str(key));
      if (!date) {
        return Error{ErrorCode::kInvalidArgument, where + key + " must be a date YYYY-MM-DD", -1,
                     "", key};
      }
      *day = ToDay(*date);
    }
    store.entries_.push_back(std::move(entry));
  }
  return store;
}

Result<TokenStore> TokenStore::Load(const std::string& path) {
  auto text = ReadPrivateFile(path);
  if (!text) return text.error();
  return Parse(path, *text);
}

Result<std::vector<TokenInfo>> TokenStore::List(const std::string& path) {
  auto store = Load(path);
  if (!store) return store.error();
  std::vector<TokenInfo> out;
  for (const Entry& e : store->entries_) {
    out.push_back({e.who.name, e.who.role, e.who.network, e.created, e.expires});
  }
  return out;
}

std::optional<Principal> TokenStore::Authenticate(std::string_view token) const {
  return Authenticate(token, TodayUtc());
}

std::optional<Principal> TokenStore::Authenticate(std::string_view token, CivilDay today) const {
  if (token.empty()) return std::nullopt;
  const Hash presented = Sha256::Of(token);
  const Entry* found = nullptr;
  // Every entry is compared, in constant time, whatever matched before.
  for (const Entry& e : entries_) {
    if (CRYPTO_memcmp(e.sha256.data(), presented.data(), presented.size()) == 0) found = &e;
  }
  if (!found || (found->expires && today > *found->expires)) return std::nullopt;
  return found->who;
}

Result<std::string> TokenStore::Add(const std::string& path, AccessRole role,
                                    const std::string& network, const std::string& name) {
  return Add(path, NewToken{role, network, name, std::nullopt});
}

Result<std::string> TokenStore::Add(const std::string& path, const NewToken& t) {
  if (t.role == AccessRole::kCoordinator && t.network.empty()) {
    return Error{ErrorCode::kInvalidArgument, "a coordinator token needs --network"};
  }
  if (!t.name.empty() && ::access(path.c_str(), F_OK) == 0) {
    auto existing = List(path);
    if (!existing) return existing.error();
    for (const TokenInfo& e : *existing) {
      if (e.name == t.name) {
        return Error{ErrorCode::kInvalidArgument,
                     "a token named '" + t.name + "' is already in " + path +
                         " (names are how tokens are listed and revoked); choose another"};
      }
    }
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
  o["role"] = RoleName(t.role);
  if (!t.network.empty()) o["network"] = t.network;
  if (!t.name.empty()) o["name"] = t.name;
  o["created"] = FormatDay(TodayUtc());
  if (t.expires) o["expires"] = FormatDay(*t.expires);
  const std::string line = boost::json::serialize(o) + "\n";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return Error{ErrorCode::kStorage, "cannot open " + path};
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Error{ErrorCode::kStorage, "writing " + path + " failed"};
  return token;
}

Status TokenStore::Revoke(const std::string& path, const std::string& name) {
  auto text = ReadPrivateFile(path);
  if (!text) return text.error();
  if (auto parsed = Parse(path, *text); !parsed) return parsed.error();
  std::string kept;
  int removed = 0;
  for (const auto& [n, line] : FileLines(*text)) {
    const boost::json::value v = boost::json::parse(line);  // Parse took every line
    const auto* got = v.as_object().if_contains("name");
    if (got && got->is_string() && got->get_string() == name) {
      ++removed;
    } else {
      kept += line + "\n";
    }
  }
  if (removed == 0) {
    return Error{ErrorCode::kNotFound, "no token named '" + name + "' in " + path};
  }
  if (removed > 1) {
    return Error{ErrorCode::kInvalidArgument,
                 std::to_string(removed) + " tokens are named '" + name + "' in " + path +
                     "; remove the one you mean by hand (its line), nothing was changed"};
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Error{ErrorCode::kStorage, "cannot stat " + path};
  const std::string temp = path + ".new";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Error{ErrorCode::kStorage, "cannot create " + temp};
  // The same mode and owner as before (root:ledger 0640 stays so); a chown only root may do.
  bool ok = ::fchmod(fd, st.st_mode & 0777) == 0;
  if (ok && ::geteuid() == 0) ok = ::fchown(fd, st.st_uid, st.st_gid) == 0;
  ok = ok && ::write(fd, kept.data(), kept.size()) == static_cast<ssize_t>(kept.size()) &&
       ::fsync(fd) == 0;
  ok = ::close(fd) == 0 && ok;
  ok = ok && ::rename(temp.c_str(), path.c_str()) == 0;
  if (!ok) {
    ::unlink(temp.c_str());
    return Error{ErrorCode::kStorage, "rewriting " + path + " failed; it was left as it was"};
  }
  // The rename itself made durable.
  const std::string dir = std::filesystem::path(path).parent_path().empty()
                              ? "."
                              : std::filesystem::path(path).parent_path().string();
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return Ok();
}

}  // namespace ledger
