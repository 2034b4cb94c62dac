#include "tools/browser/browser_tool.h"

#include "tools/browser/fetcher.h"

namespace alltools::tools::browser {

Result<std::unique_ptr<BrowserTool>> make_browser_tool(const BrowserConfig& config) {
  ALLTOOLS_ASSIGN_OR_RETURN(auto fetcher, detail::Fetcher::create(config.network, config.limits));
  (void)fetcher;
  return make_error(ErrorCode::kUnavailable, "simple_browser: under construction");
}

}  // namespace alltools::tools::browser
