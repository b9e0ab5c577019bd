#include "api/progress.h"

#include <unistd.h>

#include <cstdio>

namespace ledger {

Progress::Progress(std::string what, uint64_t total)
    : what_(std::move(what)),
      total_(total),
      enabled_(isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

Progress::~Progress() { Done(); }

void Progress::Update(uint64_t done) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_ < std::chrono::milliseconds(200)) return;
  last_ = now;
  drawn_ = true;
  const double secs = std::chrono::duration<double>(now - start_).count();
  const double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
  if (total_ > 0) {
    std::fprintf(stderr, "\r\033[K%s: %llu/%llu events (%3llu%%), %.0f/s", what_.c_str(),
                 static_cast<unsigned long long>(done), static_cast<unsigned long long>(total_),
                 static_cast<unsigned long long>(done * 100 / total_), rate);
  } else {
    std::fprintf(stderr, "\r\033[K%s: %llu events, %.0f/s", what_.c_str(),
                 static_cast<unsigned long long>(done), rate);
  }
  std::fflush(stderr);
}

void Progress::Done() {
  if (enabled_ && drawn_) {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
  }
  drawn_ = false;
}

}  // namespace ledger
