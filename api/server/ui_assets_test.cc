#include "api/server/ui_assets.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

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

// The page keeps the CSP's promises: no inline script or style, no handler attributes, and
// every file it names is embedded (so nothing is fetched from elsewhere).
TEST(UiAssets, ThePageNeedsNothingInlineAndNothingFromElsewhere) {
  const std::string html(FindUiAsset("index.html")->body);
  EXPECT_FALSE(std::regex_search(html, std::regex("<style", std::regex::icase)));
  EXPECT_FALSE(std::regex_search(html, std::regex("\\sstyle\\s*=", std::regex::icase)));
  EXPECT_FALSE(std::regex_search(html, std::regex("\\son[a-z]+\\s*=", std::regex::icase)));
  EXPECT_FALSE(std::regex_search(html, std::regex("javascript:", std::regex::icase)));
  const std::regex script("<script([^>]*)>([^<]*)</script>", std::regex::icase);
  int scripts = 0;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), script);
       it != std::sregex_iterator(); ++it, ++scripts) {
    EXPECT_NE((*it)[1].str().find("src="), std::string::npos) << "inline script: " << it->str();
    EXPECT_TRUE((*it)[2].str().empty()) << it->str();
  }
  EXPECT_GE(scripts, 2);
  const std::regex ref("(?:src|href)=\"([^\"]*)\"", std::regex::icase);
  std::set<std::string> named;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), ref); it != std::sregex_iterator();
       ++it) {
    named.insert((*it)[1].str());
  }
  ASSERT_FALSE(named.empty());
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
