#include "schemas/invariant.h"

#include <cstdio>
#include <cstdlib>

namespace ledger {

void InvariantFailed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "invariant broken at %s:%d: %s\n", file, line, condition);
  std::fflush(stderr);
  std::abort();
}

}  // namespace ledger
