#include "ledger/info_log.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <string>

namespace ledger {

std::shared_ptr<InfoLog> InfoLog::Open(const std::string& path, rocksdb::InfoLogLevel level) {
  int fd = -1;
  if (!path.empty()) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_size) > kRotateBytes) {
      (void)::rename(path.c_str(), (path + ".old").c_str());  // kept whole if the rename fails
    }
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  }
  return std::shared_ptr<InfoLog>(new InfoLog(fd, level));
}

InfoLog::~InfoLog() {
  if (!closed_) (void)InfoLog::CloseImpl();
}

rocksdb::Status InfoLog::CloseImpl() {
  std::lock_guard<std::mutex> lock(mu_);
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  closed_ = true;
  return rocksdb::Status::OK();
}

void InfoLog::Logv(const char* format, va_list ap) { Logv(rocksdb::INFO_LEVEL, format, ap); }

// One line as RocksDB's own logger writes it: local time to the microsecond, the thread, the
// message; written with one write(2), appended (O_APPEND), or dropped.
void InfoLog::Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) {
  if (level < GetInfoLogLevel()) return;
  struct timeval now {};
  ::gettimeofday(&now, nullptr);
  struct tm t {};
  const time_t seconds = now.tv_sec;
  ::localtime_r(&seconds, &t);
  char line[2048];
  int n =
      std::snprintf(line, sizeof line, "%04d/%02d/%02d-%02d:%02d:%02d.%06ld %lx ", t.tm_year + 1900,
                    t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                    static_cast<long>(now.tv_usec), static_cast<unsigned long>(::pthread_self()));
  std::string text;
  if (n < 0) n = 0;
  va_list copy;
  va_copy(copy, ap);
  const int body = std::vsnprintf(line + n, sizeof line - static_cast<size_t>(n) - 1, format, copy);
  va_end(copy);
  if (body < 0) {
    ++dropped_;
    return;
  }
  if (static_cast<size_t>(n + body) < sizeof line - 1) {
    n += body;
    text.assign(line, static_cast<size_t>(n));
  } else {  // longer than the buffer: formatted again at its size
    text.assign(line, static_cast<size_t>(n));
    text.resize(static_cast<size_t>(n + body) + 1);
    std::vsnprintf(text.data() + n, static_cast<size_t>(body) + 1, format, ap);
    text.resize(static_cast<size_t>(n + body));
  }
  if (text.empty() || text.back() != '\n') text.push_back('\n');
  std::lock_guard<std::mutex> lock(mu_);
  if (fd_ < 0) {
    ++dropped_;
    return;
  }
  ssize_t written;
  do {
    written = ::write(fd_, text.data(), text.size());
  } while (written < 0 && errno == EINTR);
  if (written != static_cast<ssize_t>(text.size())) ++dropped_;
}

}  // namespace ledger
