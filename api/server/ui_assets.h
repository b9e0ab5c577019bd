// The dashboard's files (api/ui/), compiled into the binary by api/embed_ui.cmake, for ledgerd
// to serve under /ui/. The page holds no data (it calls the API with the user's token), so
// the /ui/ answers need no token. Every /ui/ answer carries these headers:
//   Content-Security-Policy: UiContentSecurityPolicy()
//   X-Content-Type-Options: nosniff
//   Referrer-Policy: no-referrer
//   Cache-Control: no-cache
#pragma once

#include <span>
#include <string_view>

namespace ledger {

struct UiAsset {
  std::string_view path;          // relative to /ui/, e.g. "app.js", "vendor/x/y.js"
  std::string_view content_type;  // e.g. "text/javascript; charset=utf-8"
  std::string_view body;          // the file's bytes
};

// The asset at `path`, relative to /ui/ and without the query string: "" and "index.html" are
// the page. Matched exactly against the embedded names (no decoding, no normalisation), so no
// path with "..", "//", "\" or "%" can name anything. nullptr when unknown.
const UiAsset* FindUiAsset(std::string_view path);

// Every embedded asset, sorted by path (for tests and listings).
std::span<const UiAsset> UiAssets();

// The Content-Security-Policy header value to send with every /ui/ answer: same-origin
// scripts, styles, images (and data: images), API calls; nothing inline, no framing.
std::string_view UiContentSecurityPolicy();

}  // namespace ledger
