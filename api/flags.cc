#include "api/flags.h"

#include <charconv>

namespace ledger {

Result<Flags> Flags::Parse(const std::vector<std::string>& args,
                           const std::set<std::string>& valued,
                           const std::set<std::string>& switches) {
  Flags f;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.size() < 3 || a.rfind("--", 0) != 0) {
      f.positional_.push_back(a);
      continue;
    }
    std::string name = a.substr(2), value;
    const size_t eq = name.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    if (switches.count(name)) {
      if (inline_value) return Error{ErrorCode::kInvalidArgument, "--" + name + " takes no value"};
      f.values_[name] = "";
    } else if (valued.count(name)) {
      if (!inline_value) {
        if (i + 1 >= args.size()) {
          return Error{ErrorCode::kInvalidArgument, "--" + name + " needs a value"};
        }
        value = args[++i];
      }
      f.values_[name] = value;
    } else {
      return Error{ErrorCode::kInvalidArgument, "unknown flag --" + name};
    }
  }
  return f;
}

std::optional<std::string> Flags::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string Flags::GetOr(const std::string& name, const std::string& fallback) const {
  return Get(name).value_or(fallback);
}

bool Flags::Has(const std::string& name) const { return values_.count(name) > 0; }

Result<std::optional<int64_t>> Flags::GetInt(const std::string& name, int64_t min,
                                             int64_t max) const {
  auto v = Get(name);
  if (!v) return std::optional<int64_t>();
  int64_t n = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || p != v->data() + v->size() || n < min || n > max) {
    return Error{ErrorCode::kInvalidArgument, "--" + name + " must be a whole number from " +
                                                  std::to_string(min) + " to " +
                                                  std::to_string(max)};
  }
  return std::optional<int64_t>(n);
}

}  // namespace ledger
