// IngestWriter (store_writer.h): a packed rebuild's keys sorted in runs on disk, then merged
// into the table files of the column family that replaces the store.
#include <fcntl.h>
#include <rocksdb/sst_file_writer.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <queue>

#include "projections/store_writer.h"
#include "schemas/invariant.h"

namespace ledger {
namespace {

Error Failed(const std::string& what) {
  return Error{ErrorCode::kStorage, "rebuilding projections: " + what};
}
Error FailedErrno(const std::string& what, const std::string& path) {
  return Failed(what + " " + path + ": " + std::strerror(errno));
}

// A run file, entry after entry: the key's size and the value's (varints: most are one byte
// each), the key, the value.
constexpr size_t kMaxHeader = 10;

void PutVarint(std::string* out, uint32_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// The varint at `p` into `v`; the byte after it, or null when it does not end before `limit`.
const char* GetVarint(const char* p, const char* limit, uint32_t* v) {
  uint32_t result = 0;
  for (int shift = 0; shift <= 28 && p < limit; shift += 7) {
    const auto byte = static_cast<uint8_t>(*p++);
    result |= uint32_t{byte & 0x7fu} << shift;
    if (byte < 0x80) {
      *v = result;
      return p;
    }
  }
  return nullptr;
}

// A run file read in order, each entry in place in its buffer until the next one.
class RunReader {
 public:
  // The entries from `lower` (empty: the first) to before `upper` (empty: the last), read from
  // `offset`, where an entry before `lower` begins.
  RunReader(size_t index, std::string lower, std::string upper)
      : index_(index), lower_(std::move(lower)), upper_(std::move(upper)), buffer_(kBuffer) {}
  ~RunReader() {
    if (fd_ >= 0) ::close(fd_);
  }
  RunReader(const RunReader&) = delete;
  RunReader& operator=(const RunReader&) = delete;

  Status Open(const std::string& path, uint64_t offset) {
    path_ = path;
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return FailedErrno("opening", path);
    if (::lseek(fd_, static_cast<off_t>(offset), SEEK_SET) < 0) return FailedErrno("reading", path);
    return Ok();
  }
  // The next entry of the range into key() and value(); false at its end.
  Result<bool> Next() {
    for (;;) {
      auto next = NextInFile();
      if (!next || !*next) return next;
      if (!upper_.empty() && key_ >= upper_) return false;
      if (key_ >= lower_) return true;
    }
  }
  std::string_view key() const { return key_; }
  std::string_view value() const { return value_; }
  size_t index() const { return index_; }  // the run's: a later one's put came later

 private:
  static constexpr size_t kBuffer = 256 << 10;
  Result<bool> NextInFile() {
    at_ += taken_;
    taken_ = 0;
    auto avail = Fill(kMaxHeader);
    if (!avail) return avail.error();
    if (*avail == 0) return false;
    const char* begin = buffer_.data() + at_;
    uint32_t key_size = 0, value_size = 0;
    const char* p = GetVarint(begin, begin + *avail, &key_size);
    if (p) p = GetVarint(p, begin + *avail, &value_size);
    if (!p) return Failed("a truncated run file " + path_);
    const size_t header = static_cast<size_t>(p - begin);
    const size_t whole = header + key_size + value_size;
    auto got = Fill(whole);
    if (!got) return got.error();
    if (*got < whole) return Failed("a truncated run file " + path_);
    key_ = std::string_view(buffer_.data() + at_ + header, key_size);
    value_ = std::string_view(key_.data() + key_size, value_size);
    taken_ = whole;
    return true;
  }
  // The bytes from at_ in the buffer, read until there are `n` or the file ends.
  Result<size_t> Fill(size_t n) {
    if (end_ - at_ >= n) return end_ - at_;
    std::memmove(buffer_.data(), buffer_.data() + at_, end_ - at_);
    end_ -= at_;
    at_ = 0;
    if (buffer_.size() < n) buffer_.resize(n);
    while (end_ < n) {
      const ssize_t got = ::read(fd_, buffer_.data() + end_, buffer_.size() - end_);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return FailedErrno("reading", path_);
      if (got == 0) break;
      end_ += static_cast<size_t>(got);
    }
    return end_;
  }

  size_t index_;
  std::string lower_, upper_;
  std::string path_;
  int fd_ = -1;
  std::vector<char> buffer_;
  size_t at_ = 0, end_ = 0, taken_ = 0;
  std::string_view key_, value_;
};

}  // namespace

IngestWriter::IngestWriter(std::string scratch_dir, rocksdb::Options options, size_t run_bytes)
    : dir_(std::move(scratch_dir)), options_(std::move(options)), run_bytes_(run_bytes) {}

IngestWriter::~IngestWriter() {
  if (spilling_.valid()) spilling_.wait();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);  // best effort: the next rebuild's Start removes it
}

Status IngestWriter::Start() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  if (ec) return Failed("removing " + dir_ + ": " + ec.message());
  if (::mkdir(dir_.c_str(), 0700) != 0) return FailedErrno("creating", dir_);
  filling_.buffer.reserve(run_bytes_ + (1 << 20));
  return Ok();
}

void IngestWriter::Put(std::string_view key, std::string_view value) {
  if (!failed_) return;
  LEDGER_ASSERT(key.size() < UINT32_MAX && value.size() < UINT32_MAX);
  // Most comparisons of the sort end on the prefix, without reading the keys themselves.
  uint64_t prefix = 0;
  for (size_t i = 0; i < 8; ++i) {
    prefix = prefix << 8 | (i < key.size() ? static_cast<uint8_t>(key[i]) : 0);
  }
  filling_.entries.push_back({prefix, filling_.buffer.size(), static_cast<uint32_t>(key.size()),
                              static_cast<uint32_t>(value.size())});
  filling_.buffer.append(key);
  filling_.buffer.append(value);
  ++put_;
  if (filling_.buffer.size() >= run_bytes_) failed_ = Spill();
}

Status IngestWriter::Flush(bool force) {
  if (!failed_) return failed_;
  if (!force) return Ok();
  if (!filling_.entries.empty()) failed_ = Spill();
  if (failed_) failed_ = Wait();
  return failed_;
}

Status IngestWriter::Wait() {
  if (!spilling_.valid()) return Ok();
  auto run = spilling_.get();
  if (!run) return run.error();
  runs_.push_back(std::move(run).value());
  return Ok();
}

Status IngestWriter::Spill() {
  if (Status s = Wait(); !s) return s;
  // The run written last is the next to fill: its memory kept, not given back and taken again.
  std::swap(filling_, written_);
  filling_.buffer.clear();
  filling_.entries.clear();
  spilling_ = std::async(std::launch::async, WriteRun, &written_,
                         dir_ + "/run-" + std::to_string(runs_.size()));
  return Ok();
}

Result<IngestWriter::RunFile> IngestWriter::WriteRun(Run* sorted, std::string path) {
  Run& run = *sorted;  // sorted here
  const char* data = run.buffer.data();
  auto key = [data](const Entry& e) { return std::string_view(data + e.at, e.key_size); };
  // By key, then in the order put (`at` grows with it).
  std::sort(run.entries.begin(), run.entries.end(), [&](const Entry& a, const Entry& b) {
    if (a.prefix != b.prefix) return a.prefix < b.prefix;
    const int c = key(a).compare(key(b));  // equal first 8 bytes (or a shorter key's zeros)
    return c != 0 ? c < 0 : a.at < b.at;
  });
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return FailedErrno("creating", path);
  RunFile file{path};
  std::string out;
  out.reserve(1 << 20);
  auto write_out = [&]() -> bool {
    file.bytes += out.size();
    for (size_t done = 0; done < out.size();) {
      const ssize_t n = ::write(fd, out.data() + done, out.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return false;
      done += static_cast<size_t>(n);
    }
    out.clear();
    return true;
  };
  bool ok = true;
  size_t written = 0;
  for (size_t i = 0; ok && i < run.entries.size(); ++i) {
    const Entry& e = run.entries[i];
    // Of a key put twice, the last put.
    if (i + 1 < run.entries.size() && key(run.entries[i + 1]) == key(e)) continue;
    if (written++ % kSampleEvery == 0) file.samples.emplace_back(key(e), file.bytes + out.size());
    PutVarint(&out, e.key_size);
    PutVarint(&out, e.value_size);
    out.append(data + e.at, e.key_size + size_t{e.value_size});
    if (out.size() >= (1 << 20)) ok = write_out();
  }
  if (ok) ok = write_out();
  const int saved = errno;
  if (::close(fd) != 0 && ok) return FailedErrno("writing", path);
  errno = saved;
  if (!ok) return FailedErrno("writing", path);
  return file;
}

Result<std::vector<std::string>> IngestWriter::Finish(
    const std::function<void(uint64_t, uint64_t)>& progress) {
  if (Status f = Flush(true); !f) return f.error();
  // Where the parts meet: keys that split the runs' bytes evenly, from the samples (each stands
  // for the bytes up to the next one of its run).
  std::vector<std::pair<std::string_view, uint64_t>> weights;
  uint64_t total = 0;
  for (const RunFile& run : runs_) {
    for (size_t k = 0; k < run.samples.size(); ++k) {
      const uint64_t next = k + 1 < run.samples.size() ? run.samples[k + 1].second : run.bytes;
      weights.emplace_back(run.samples[k].first, next - run.samples[k].second);
      total += next - run.samples[k].second;
    }
  }
  std::sort(weights.begin(), weights.end());
  std::vector<std::string> bounds{""};  // each part's lower bound; the last part has no upper
  uint64_t sum = 0;
  for (const auto& [key, bytes] : weights) {
    if (bounds.size() == kMergeParts) break;
    if (sum >= total / kMergeParts * bounds.size() && key > bounds.back()) bounds.emplace_back(key);
    sum += bytes;
  }
  bounds.emplace_back("");
  std::atomic<uint64_t> merged{0};
  std::vector<std::future<Result<std::vector<std::string>>>> parts;
  for (size_t p = 0; p + 1 < bounds.size(); ++p) {
    parts.push_back(std::async(std::launch::async, [this, p, &bounds, &merged] {
      return MergePart(p, bounds[p], bounds[p + 1], &merged);
    }));
  }
  if (progress) {
    progress(0, put_);
    for (auto& part : parts) {
      while (part.wait_for(std::chrono::milliseconds(200)) != std::future_status::ready) {
        progress(merged.load(std::memory_order_relaxed), put_);
      }
    }
  }
  std::vector<std::string> tables;  // the parts' in order: in key order
  Status failed = Ok();
  for (auto& part : parts) {  // each waited for, whatever another did
    auto got = part.get();
    if (!got) {
      if (failed) failed = got.error();
      continue;
    }
    tables.insert(tables.end(), got->begin(), got->end());
  }
  if (!failed) return failed.error();
  return tables;
}

Result<std::vector<std::string>> IngestWriter::MergePart(size_t part, const std::string& lower,
                                                         const std::string& upper,
                                                         std::atomic<uint64_t>* merged) const {
  std::vector<std::unique_ptr<RunReader>> readers;
  // The smallest key on top; of equal keys, the later run's.
  auto after = [](const RunReader* a, const RunReader* b) {
    const int c = a->key().compare(b->key());
    return c != 0 ? c > 0 : a->index() < b->index();
  };
  std::priority_queue<RunReader*, std::vector<RunReader*>, decltype(after)> heap(after);
  for (size_t i = 0; i < runs_.size(); ++i) {
    const RunFile& run = runs_[i];
    // From the last sample before `lower`: the entries from there up to it are skipped.
    uint64_t offset = 0;
    for (const auto& [key, at] : run.samples) {
      if (lower.empty() || key >= lower) break;
      offset = at;
    }
    readers.push_back(std::make_unique<RunReader>(i, lower, upper));
    if (Status s = readers.back()->Open(run.path, offset); !s) return s.error();
    auto first = readers.back()->Next();
    if (!first) return first.error();
    if (*first) heap.push(readers.back().get());
  }
  std::vector<std::string> tables;
  rocksdb::SstFileWriter table(rocksdb::EnvOptions(), options_, nullptr,
                               /*invalidate_page_cache=*/false);
  bool open = false;
  auto finish_table = [&]() -> Status {
    open = false;
    if (rocksdb::Status s = table.Finish(); !s.ok()) {
      return Failed("writing " + tables.back() + ": " + s.ToString());
    }
    return Ok();
  };
  const uint64_t table_bytes = std::max<uint64_t>(options_.target_file_size_base, 64 << 10);
  bool wrote = false;
  std::string last;  // the key written last: an earlier run's put of it comes after, and goes
  uint64_t count = 0;
  while (!heap.empty()) {
    RunReader* top = heap.top();
    heap.pop();
    if (!wrote || top->key() != last) {
      wrote = true;
      if (!open) {
        tables.push_back(dir_ + "/table-" + std::to_string(part) + "-" +
                         std::to_string(tables.size()) + ".sst");
        if (rocksdb::Status s = table.Open(tables.back()); !s.ok()) {
          return Failed("creating " + tables.back() + ": " + s.ToString());
        }
        open = true;
      }
      if (rocksdb::Status s = table.Put(top->key(), top->value()); !s.ok()) {
        return Failed("writing " + tables.back() + ": " + s.ToString());
      }
      last.assign(top->key());
      if (table.FileSize() >= table_bytes) {
        if (Status s = finish_table(); !s) return s.error();
      }
    }
    if ((++count & 0xffff) == 0) merged->fetch_add(0x10000, std::memory_order_relaxed);
    auto more = top->Next();
    if (!more) return more.error();
    if (*more) heap.push(top);
  }
  if (open) {
    if (Status s = finish_table(); !s) return s.error();
  }
  return tables;
}

}  // namespace ledger
