#include "api/server/ui_assets.h"

#include <algorithm>
#include <cassert>

#include "api/server/ui_assets_data.h"

namespace ledger {

std::span<const UiAsset> UiAssets() { return {ui_data::kFiles, ui_data::kFileCount}; }

const UiAsset* FindUiAsset(std::string_view path) {
  if (path.empty()) path = "index.html";
  const std::span<const UiAsset> all = UiAssets();
  const auto by_path = [](const UiAsset& a, const UiAsset& b) { return a.path < b.path; };
  assert(std::is_sorted(all.begin(), all.end(), by_path));
  const auto it = std::lower_bound(all.begin(), all.end(), UiAsset{path, {}, {}}, by_path);
  if (it == all.end() || it->path != path) return nullptr;
  return &*it;
}

std::string_view UiContentSecurityPolicy() {
  return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
         "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
}

}  // namespace ledger
