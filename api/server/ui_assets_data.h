// The table api/embed_ui.cmake generates from api/ui/ (build/api/ui_assets_data.cc): every
// file's path relative to api/ui/, content type and bytes, sorted by path. Read it through
// ui_assets.h; only ui_assets.cc includes this.
#pragma once

#include <cstddef>

#include "api/server/ui_assets.h"

namespace ledger::ui_data {

extern const UiAsset kFiles[];
extern const std::size_t kFileCount;

}  // namespace ledger::ui_data
