// A progress line for long commands: drawn on stderr when stderr is a terminal, silent when it
// is piped or redirected. Redrawn at most a few times a second.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace ledger {

class Progress {
 public:
  // `what` is a verb phrase ("appending"); `total` is 0 when unknown.
  explicit Progress(std::string what, uint64_t total = 0);
  ~Progress();
  void Update(uint64_t done);
  void set_total(uint64_t total) { total_ = total; }
  // Clears the line.
  void Done();
  bool enabled() const { return enabled_; }

 private:
  std::string what_;
  uint64_t total_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace ledger
