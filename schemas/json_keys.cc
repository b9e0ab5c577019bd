#include "schemas/json_keys.h"

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
    frames_.pop_back();
    ValueDone();
    return true;
  }
  bool on_array_begin(error_code&) {
    Push(false);
    return true;
  }
  bool on_array_end(std::size_t, error_code&) {
    frames_.pop_back();
    ValueDone();
    return true;
  }
  bool on_key_part(string_view s, std::size_t, error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(string_view s, std::size_t, error_code& ec) {
    key_.append(s.data(), s.size());
    Frame& f = frames_.back();
    if (!f.keys.insert(key_).second) {
      found_ = Describe(key_);
      ec = json::error::syntax;  // any error: it only stops the scan
      return false;
    }
    f.last_key = std::move(key_);
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
  struct Frame {
    bool object = false;
    std::string label;  // how the parent names it: "beneficiary", "[2]", "" for an event
    std::unordered_set<std::string> keys;
    std::string last_key;
    int64_t count = 0;  // arrays: elements so far
  };

  void Push(bool object) {
    std::string label;
    if (!frames_.empty()) {
      const Frame& parent = frames_.back();
      if (parent.object) {
        label = parent.last_key;
      } else if (frames_.size() > 1) {
        label = "[" + std::to_string(parent.count) + "]";
      }  // else an element of a top-level array: an event, the root of its paths
    }
    frames_.push_back(Frame{object, std::move(label), {}, {}, 0});
  }

  bool ValueDone() {
    if (!frames_.empty() && !frames_.back().object) ++frames_.back().count;
    return true;
  }

  DuplicateKey Describe(const std::string& key) const {
    DuplicateKey d;
    size_t first = 1;  // frames_[0] is the event, or the top-level array
    if (!frames_.front().object) {
      d.index = frames_.front().count;
      first = 2;
    }
    for (size_t i = first; i < frames_.size(); ++i) {
      const std::string& label = frames_[i].label;
      if (!d.path.empty() && !label.empty() && label.front() != '[') d.path.push_back('.');
      d.path += label;
    }
    if (!d.path.empty()) d.path.push_back('.');
    d.path += key;
    return d;
  }

  std::vector<Frame> frames_;
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
