#include "policies/network_rules.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <string>

namespace alltools::policies {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

struct Range4 {
  std::uint32_t base;
  int prefix;
};

// sandbox.md §7 item 3.
constexpr std::array<Range4, 16> kPrivate4 = {{
    {0x00000000u, 8},   {0x0A000000u, 8},   {0x64400000u, 10},  {0x7F000000u, 8},
    {0xA9FE0000u, 16},  {0xAC100000u, 12},  {0xC0000000u, 24},  {0xC0000200u, 24},
    {0xC0A80000u, 16},  {0xC6120000u, 15},  {0xC6336400u, 24},  {0xCB007100u, 24},
    {0xE0000000u, 4},   {0xF0000000u, 4},   {0xFFFFFFFFu, 32},  {0x00000000u, 32},
}};

bool private4(std::uint32_t a) {
  for (const Range4& r : kPrivate4) {
    const std::uint32_t mask = r.prefix == 0 ? 0u : (~0u << (32 - r.prefix));
    if ((a & mask) == (r.base & mask)) return true;
  }
  return false;
}

bool prefix6(const unsigned char* a, std::initializer_list<unsigned char> bytes, int bits) {
  unsigned char want[16] = {};
  size_t i = 0;
  for (unsigned char b : bytes) want[i++] = b;
  for (int bit = 0; bit < bits; ++bit) {
    const int byte = bit / 8, shift = 7 - bit % 8;
    if (((a[byte] >> shift) & 1) != ((want[byte] >> shift) & 1)) return false;
  }
  return true;
}

std::uint32_t v4_at(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

bool private6(const unsigned char* a) {
  static const unsigned char zero[16] = {};
  if (std::memcmp(a, zero, 16) == 0) return true;                          // ::
  if (prefix6(a, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96)) return private4(v4_at(a + 12));  // ::ffff:a.b.c.d
  if (prefix6(a, {0x00, 0x64, 0xff, 0x9b}, 96)) return private4(v4_at(a + 12));  // 64:ff9b::/96 NAT64
  if (prefix6(a, {0x20, 0x02}, 16)) return private4(v4_at(a + 2));              // 2002::/16 6to4
  if (prefix6(a, {}, 96)) return true;                                       // ::/96 incl. ::1
  if (prefix6(a, {0xfc}, 7)) return true;                                    // ULA
  if (prefix6(a, {0xfe, 0x80}, 10)) return true;                             // link-local
  if (prefix6(a, {0xff}, 8)) return true;                                    // multicast
  if (prefix6(a, {0x20, 0x01, 0x0d, 0xb8}, 32)) return true;                 // documentation
  return false;
}

}  // namespace

bool host_matches(std::string_view pattern, std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (pattern == "*") return true;
  if (pattern.size() > 2 && pattern.substr(0, 2) == "*.") {
    const std::string_view suffix = pattern.substr(1);  // ".example.com"
    return host.size() > suffix.size() && iequals(host.substr(host.size() - suffix.size()), suffix);
  }
  return iequals(pattern, host);
}

bool is_ip_literal(std::string_view host, bool* is_private) {
  std::string h(host);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (const auto pct = h.find('%'); pct != std::string::npos) h.resize(pct);  // zone id
  in_addr a4{};
  if (h.find(':') == std::string::npos && !h.empty() && inet_aton(h.c_str(), &a4) != 0) {
    if (is_private) *is_private = private4(ntohl(a4.s_addr));
    return true;
  }
  in6_addr a6{};
  if (inet_pton(AF_INET6, h.c_str(), &a6) == 1) {
    if (is_private) *is_private = private6(a6.s6_addr);
    return true;
  }
  return false;
}

}  // namespace alltools::policies
