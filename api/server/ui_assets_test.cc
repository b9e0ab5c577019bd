#include "api/server/ui_assets.h"

#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace ledger {
namespace {

namespace fs = std::filesystem;

// Every file under api/ui/ as it is in the source tree: path relative to api/ui/ -> bytes.
std::map<std::string, std::string> SourceFiles() {
  std::map<std::string, std::string> out;
  const fs::path root(LEDGER_UI_DIR);
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    out[fs::relative(e.path(), root).generic_string()] = bytes.str();
  }
  return out;
}

// The content type a file must be served with, by extension (independent of the generator).
std::string ExpectedType(const std::string& path) {
  static const std::map<std::string, std::string> types = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".md", "text/markdown; charset=utf-8"},
      {".png", "image/png"},
      {".svg", "image/svg+xml"},
      {".json", "application/json"},
      {".txt", "text/plain; charset=utf-8"}};
  const auto it = types.find(fs::path(path).extension().string());
  return it == types.end() ? "?" : it->second;
}

TEST(UiAssets, EveryFileUnderApiUiIsEmbeddedWithItsTypeAndBytes) {
  const auto files = SourceFiles();
  ASSERT_GE(files.size(), 4u) << "index.html, app.js, app.css and the chart library";
  for (const auto& [path, bytes] : files) {
    const UiAsset* a = FindUiAsset(path);
    ASSERT_NE(a, nullptr) << path;
    EXPECT_EQ(a->path, path);
    EXPECT_EQ(a->content_type, ExpectedType(path)) << path;
    EXPECT_EQ(a->body.size(), bytes.size()) << path;
    EXPECT_TRUE(a->body == bytes) << path << ": embedded bytes differ from the source file";
  }
  EXPECT_EQ(UiAssets().size(), files.size()) << "an embedded asset with no file under api/ui/";
}

TEST(UiAssets, TheEmptyPathIsThePage) {
  const UiAsset* page = FindUiAsset("");
  ASSERT_NE(page, nullptr);
  EXPECT_EQ(page, FindUiAsset("index.html"));
  EXPECT_EQ(page->content_type, "text/html; charset=utf-8");
  EXPECT_NE(page->body.find("data-testid=\"token\""), std::string_view::npos);
}

TEST(UiAssets, UnknownPathsAreNull) {
  for (const char* p : {"nope.js", "index.htm", "INDEX.HTML", "app.js.map", "vendor", "vendor/",
                        "app", " index.html", "index.html ", "index.html?x=1", "index.html#x"}) {
    EXPECT_EQ(FindUiAsset(p), nullptr) << p;
  }
}

TEST(UiAssets, NoPathEscapesOrIsNormalised) {
  for (const char* p :
       {"../CMakeLists.txt", "../api/CMakeLists.txt", "../../CMakeLists.txt", "..", "../",
        "./index.html", "/index.html", "//index.html", "index.html/", "vendor/../index.html",
        "vendor/./../app.js", "%2e%2e/CMakeLists.txt", "%2E%2E%2Fserver.cc", "..%2findex.html",
        "vendor\\..\\index.html", "..\\CMakeLists.txt", "app.js/..", "/etc/passwd"}) {
    EXPECT_EQ(FindUiAsset(p), nullptr) << p;
  }
  const std::string with_nul("index.html\0.js", 14);
  EXPECT_EQ(FindUiAsset(with_nul), nullptr);
  for (const UiAsset& a : UiAssets()) {
    EXPECT_EQ(a.path.find(".."), std::string_view::npos) << a.path;
    EXPECT_NE(a.path.front(), '/') << a.path;
    EXPECT_EQ(a.path.find('\\'), std::string_view::npos) << a.path;
    EXPECT_EQ(a.path.find('%'), std::string_view::npos) << a.path;
  }
}

TEST(UiAssets, ContentSecurityPolicyIsStrict) {
  const std::string csp(UiContentSecurityPolicy());
  for (const char* d : {"default-src 'none'", "script-src 'self'", "style-src 'self'",
                        "img-src 'self' data:", "connect-src 'self'", "base-uri 'none'",
                        "form-action 'none'", "frame-ancestors 'none'"}) {
    EXPECT_NE(csp.find(d), std::string::npos) << d;
  }
  EXPECT_EQ(csp.find("unsafe"), std::string::npos);
  EXPECT_EQ(csp.find("http"), std::string::npos) << "no other origin";
  EXPECT_EQ(csp.find('\n'), std::string::npos);
}

// Lower-case ASCII copy (HTML tag and attribute names are case-insensitive).
std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Whether `html` has an attribute whose name starts with `prefix` and continues with letters
// (`exact`: has no more letters) followed by "=", after whitespace: ` style=`, ` onclick =`.
bool HasAttribute(const std::string& html, std::string_view prefix, bool exact) {
  for (size_t i = html.find(prefix); i != std::string::npos; i = html.find(prefix, i + 1)) {
    if (i == 0 || !std::isspace(static_cast<unsigned char>(html[i - 1]))) continue;
    size_t j = i + prefix.size();
    if (!exact) {
      const size_t letters = j;
      while (j < html.size() && std::isalpha(static_cast<unsigned char>(html[j]))) ++j;
      if (j == letters) continue;
    }
    while (j < html.size() && std::isspace(static_cast<unsigned char>(html[j]))) ++j;
    if (j < html.size() && html[j] == '=') return true;
  }
  return false;
}

// The values of every `name="..."` attribute.
std::vector<std::string> AttributeValues(const std::string& html, const std::string& name) {
  std::vector<std::string> out;
  const std::string key = " " + name + "=\"";
  for (size_t i = html.find(key); i != std::string::npos; i = html.find(key, i + 1)) {
    const size_t start = i + key.size();
    const size_t end = html.find('"', start);
    if (end == std::string::npos) break;
    out.push_back(html.substr(start, end - start));
  }
  return out;
}

// The page keeps the CSP's promises: no inline script or style, no handler attributes, and
// every file it names is embedded (so nothing is fetched from elsewhere).
TEST(UiAssets, ThePageNeedsNothingInlineAndNothingFromElsewhere) {
  const std::string html = Lower(FindUiAsset("index.html")->body);
  EXPECT_EQ(html.find("<style"), std::string::npos);
  EXPECT_FALSE(HasAttribute(html, "style", true)) << "a style attribute";
  EXPECT_FALSE(HasAttribute(html, "on", false)) << "an event handler attribute";
  EXPECT_EQ(html.find("javascript:"), std::string::npos);
  int scripts = 0;
  for (size_t i = html.find("<script"); i != std::string::npos;
       i = html.find("<script", i + 1), ++scripts) {
    const size_t tag_end = html.find('>', i);
    const size_t close = html.find("</script>", i);
    ASSERT_NE(tag_end, std::string::npos);
    ASSERT_NE(close, std::string::npos);
    const std::string tag = html.substr(i, tag_end - i);
    EXPECT_NE(tag.find(" src=\""), std::string::npos) << "inline script: " << tag;
    EXPECT_EQ(close, tag_end + 1) << "a script with a body: " << tag;
  }
  EXPECT_GE(scripts, 2);
  std::set<std::string> named;
  for (const char* attr : {"src", "href"}) {
    for (std::string& v : AttributeValues(std::string(FindUiAsset("index.html")->body), attr)) {
      named.insert(std::move(v));
    }
  }
  ASSERT_GE(named.size(), 3u) << "the stylesheet and two scripts";
  for (const std::string& n : named) {
    if (n.rfind("data:", 0) == 0) continue;
    EXPECT_EQ(n.find("//"), std::string::npos) << n << ": another origin";
    EXPECT_NE(FindUiAsset(n), nullptr) << n << " is named by index.html but not embedded";
  }
}

// Every vendored library (vendor/<lib>/) ships with its licence beside it.
TEST(UiAssets, EveryVendoredLibraryShipsWithItsLicence) {
  std::set<std::string> libraries;
  std::set<std::string> licensed;
  for (const UiAsset& a : UiAssets()) {
    if (a.path.rfind("vendor/", 0) != 0) continue;
    const std::string dir = fs::path(std::string(a.path)).parent_path().generic_string();
    if (a.path.ends_with(".js")) libraries.insert(dir);
    if (fs::path(std::string(a.path)).filename().string().rfind("LICENSE", 0) == 0) {
      licensed.insert(dir);
    }
  }
  ASSERT_FALSE(libraries.empty()) << "the chart library under vendor/";
  for (const std::string& dir : libraries) EXPECT_TRUE(licensed.count(dir)) << dir;
}

}  // namespace
}  // namespace ledger
