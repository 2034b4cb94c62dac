// The `local` search provider: queries a LocalIndex and cuts a snippet from each hit's best paragraph.
#pragma once

#include <memory>

#include "common/result.h"
#include "tools/browser/browser_tool.h"
#include "tools/browser/search_provider.h"

namespace alltools::tools::browser::detail {

Result<std::unique_ptr<SearchProvider>> make_local_search_provider(const SearchConfig& config);

}  // namespace alltools::tools::browser::detail
