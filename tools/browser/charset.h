// Character sets: finding a page's encoding (HTTP header, BOM, <meta>) and converting it to valid UTF-8.
#pragma once

#include <string>
#include <string_view>

namespace alltools::tools::browser::detail {

// The charset label declared by Content-Type ("text/html; charset=GBK") or, for HTML, by a BOM or a
// <meta charset> / <meta http-equiv content="...charset=..."> in the first 4 KiB. Lower case; "" if none.
std::string detect_charset(std::string_view content_type, std::string_view body, bool is_html);

// Converts `body` from `charset` to UTF-8 with iconv (labels normalised: gb2312/gbk → GB18030, big5 → BIG5-HKSCS,
// shift_jis/sjis → CP932, ...). Unknown labels and undecodable bytes degrade to U+FFFD, never fail. With an empty
// charset, valid UTF-8 is kept and anything else is decoded as windows-1252. The result is always valid UTF-8.
std::string to_utf8(std::string_view body, std::string_view charset);

// Replaces every invalid UTF-8 sequence (and NUL) by U+FFFD.
std::string sanitize_utf8(std::string_view text);
bool is_valid_utf8(std::string_view text);

// True when the bytes look binary (NULs or many control bytes in the first 4 KiB), whatever the Content-Type says.
bool looks_binary(std::string_view body);

}  // namespace alltools::tools::browser::detail
