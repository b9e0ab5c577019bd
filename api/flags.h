// A small command-line parser: `verb [positional...] --name value --name=value --switch`.
// Hand-written rather than a dependency: ledgerctl needs only named values and switches, and
// every unknown flag must be an error naming it.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "schemas/result.h"

namespace ledger {

class Flags {
 public:
  // `valued` are flags that take a value, `switches` flags that do not. Anything else is an
  // error naming the flag.
  static Result<Flags> Parse(const std::vector<std::string>& args,
                             const std::set<std::string>& valued,
                             const std::set<std::string>& switches);

  std::optional<std::string> Get(const std::string& name) const;
  std::string GetOr(const std::string& name, const std::string& fallback) const;
  // An integer flag; an error names the flag when the value is not a whole number in range.
  Result<std::optional<int64_t>> GetInt(const std::string& name, int64_t min, int64_t max) const;
  bool Has(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

}  // namespace ledger
