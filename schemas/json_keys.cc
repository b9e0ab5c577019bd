#include "schemas/json_keys.h"

#include <algorithm>
#include <boost/json/basic_parser_impl.hpp>
#include <unordered_set>
#include <vector>

namespace ledger {
namespace {

namespace json = boost::json;
using json::error_code;
using json::string_view;

// A SAX handler (the shape of Boost.JSON's example/validate.cpp) that tracks the keys of every
// open object and stops at the first repeated one.
class KeyChecker {
 public:
  constexpr static std::size_t max_object_size = std::size_t(-1);
  constexpr static std::size_t max_array_size = std::size_t(-1);
  constexpr static std::size_t max_key_size = std::size_t(-1);
  constexpr static std::size_t max_string_size = std::size_t(-1);

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_object_begin(error_code&) {
    Push(true);
    return true;
  }
  bool on_object_end(std::size_t, error_code&) {
    Pop();
    ValueDone();
    return true;
  }
  bool on_array_begin(error_code&) {
    Push(false);
    return true;
  }
  bool on_array_end(std::size_t, error_code&) {
    Pop();
    ValueDone();
    return true;
  }
  bool on_key_part(string_view s, std::size_t, error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(string_view s, std::size_t, error_code& ec) {
    key_.append(s.data(), s.size());
    if (Repeated(key_)) {
      found_ = Describe(key_);
      ec = json::error::syntax;  // any error: it only stops the scan
      return false;
    }
    key_.clear();
    return true;
  }
  bool on_string_part(string_view, std::size_t, error_code&) { return true; }
  bool on_string(string_view, std::size_t, error_code&) { return ValueDone(); }
  bool on_number_part(string_view, error_code&) { return true; }
  bool on_int64(std::int64_t, string_view, error_code&) { return ValueDone(); }
  bool on_uint64(std::uint64_t, string_view, error_code&) { return ValueDone(); }
  bool on_double(double, string_view, error_code&) { return ValueDone(); }
  bool on_bool(bool, error_code&) { return ValueDone(); }
  bool on_null(error_code&) { return ValueDone(); }
  bool on_comment_part(string_view, error_code&) { return true; }
  bool on_comment(string_view, error_code&) { return true; }

  std::optional<DuplicateKey> found() { return std::move(found_); }

 private:
  // One open object or array. Frames are reused from one value to the next (their key lists
  // keep their capacity): the scan runs on every appended event.
  struct Frame {
    bool object = false;
    std::vector<std::string> keys;  // in order; an event's objects have a dozen: linear search
    std::unordered_set<std::string> many;  // used instead past kLinearMax keys
    int64_t count = 0;                     // arrays: elements so far
  };
  static constexpr size_t kLinearMax = 32;

  void Push(bool object) {
    if (depth_ == frames_.size()) frames_.emplace_back();
    Frame& f = frames_[depth_++];
    f.object = object;
    f.keys.clear();
    f.many.clear();
    f.count = 0;
  }
  void Pop() { --depth_; }

  // Whether `key` was already in the innermost object; adds it.
  bool Repeated(const std::string& key) {
    Frame& f = frames_[depth_ - 1];
    if (!f.many.empty()) {
      if (!f.many.insert(key).second) return true;
      f.keys.push_back(key);  // keys.back() stays the latest key, for Label()
      return false;
    }
    if (std::find(f.keys.begin(), f.keys.end(), key) != f.keys.end()) return true;
    f.keys.push_back(key);
    if (f.keys.size() > kLinearMax) f.many.insert(f.keys.begin(), f.keys.end());
    return false;
  }

  bool ValueDone() {
    if (depth_ > 0 && !frames_[depth_ - 1].object) ++frames_[depth_ - 1].count;
    return true;
  }

  // How frame `i` is named by its parent: the parent's latest key, or "[n]".
  std::string Label(size_t i) const {
    const Frame& parent = frames_[i - 1];
    return parent.object ? parent.keys.back() : "[" + std::to_string(parent.count) + "]";
  }

  DuplicateKey Describe(const std::string& key) const {
    DuplicateKey d;
    size_t first = 1;  // frames_[0] is the event, or the top-level array
    if (!frames_[0].object) {
      d.index = frames_[0].count;
      first = 2;  // frames_[1] is the event
    }
    for (size_t i = first; i < depth_; ++i) {
      const std::string label = Label(i);
      if (!d.path.empty() && label.front() != '[') d.path.push_back('.');
      d.path += label;
    }
    if (!d.path.empty()) d.path.push_back('.');
    d.path += key;
    return d;
  }

  std::vector<Frame> frames_;
  size_t depth_ = 0;
  std::string key_;
  std::optional<DuplicateKey> found_;
};

}  // namespace

std::optional<DuplicateKey> FindDuplicateKey(std::string_view text) {
  json::parse_options opts;
  opts.max_depth = 64;
  json::basic_parser<KeyChecker> parser(opts);
  error_code ec;
  parser.write_some(false, text.data(), text.size(), ec);
  return parser.handler().found();
}

}  // namespace ledger
