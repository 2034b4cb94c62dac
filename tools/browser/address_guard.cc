#include "tools/browser/address_guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace alltools::tools::browser::detail {
namespace {

using Ip = std::array<std::uint8_t, 16>;

Ip mapped_v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  Ip ip{};
  ip[10] = 0xff;
  ip[11] = 0xff;
  ip[12] = a;
  ip[13] = b;
  ip[14] = c;
  ip[15] = d;
  return ip;
}

bool is_mapped_v4(const Ip& ip) {
  for (int i = 0; i < 10; ++i) {
    if (ip[i] != 0) return false;
  }
  return ip[10] == 0xff && ip[11] == 0xff;
}

struct V4Range {
  std::uint8_t a, b, c, d;
  int prefix;
  const char* what;
};

// Ranges never reachable from the browser unless NetworkPolicy::allowed_cidrs names them (sandbox.md §7.3).
constexpr V4Range kV4AlwaysDenied[] = {
    {0, 0, 0, 0, 8, "'this network' (0.0.0.0/8)"},
    {169, 254, 0, 0, 16, "link-local / cloud metadata (169.254.0.0/16)"},
    {192, 0, 0, 0, 24, "IETF protocol assignments (192.0.0.0/24)"},
    {192, 0, 2, 0, 24, "documentation range TEST-NET-1 (192.0.2.0/24)"},
    {198, 18, 0, 0, 15, "benchmarking range (198.18.0.0/15)"},
    {198, 51, 100, 0, 24, "documentation range TEST-NET-2 (198.51.100.0/24)"},
    {203, 0, 113, 0, 24, "documentation range TEST-NET-3 (203.0.113.0/24)"},
    {224, 0, 0, 0, 4, "multicast (224.0.0.0/4)"},
    {240, 0, 0, 0, 4, "reserved / broadcast (240.0.0.0/4)"},
};
constexpr V4Range kV4Loopback = {127, 0, 0, 0, 8, "loopback (127.0.0.0/8)"};
constexpr V4Range kV4Private[] = {
    {10, 0, 0, 0, 8, "private (10.0.0.0/8)"},
    {172, 16, 0, 0, 12, "private (172.16.0.0/12)"},
    {192, 168, 0, 0, 16, "private (192.168.0.0/16)"},
    {100, 64, 0, 0, 10, "carrier-grade NAT / Alibaba metadata (100.64.0.0/10)"},
};

bool v4_in(const Ip& mapped, const V4Range& r) {
  Cidr c{mapped_v4(r.a, r.b, r.c, r.d), 96 + r.prefix};
  return c.contains(mapped);
}

// If `ip` embeds an IPv4 address (IPv4-mapped, NAT64 64:ff9b::/96, 6to4 2002::/16), returns it mapped.
bool unwrap_v4(const Ip& ip, Ip* out) {
  if (is_mapped_v4(ip)) {
    *out = ip;
    return true;
  }
  static constexpr std::uint8_t kNat64[12] = {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (std::memcmp(ip.data(), kNat64, 12) == 0) {
    *out = mapped_v4(ip[12], ip[13], ip[14], ip[15]);
    return true;
  }
  if (ip[0] == 0x20 && ip[1] == 0x02) {
    *out = mapped_v4(ip[2], ip[3], ip[4], ip[5]);
    return true;
  }
  return false;
}

bool host_matches(std::string_view host, std::string_view rule) {
  if (host == rule) return true;
  return host.size() > rule.size() && host.ends_with(rule) && host[host.size() - rule.size() - 1] == '.';
}

}  // namespace

bool Cidr::contains(const Ip& ip) const {
  int bits = prefix;
  for (int i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    const std::uint8_t mask = bits >= 8 ? 0xff : static_cast<std::uint8_t>(0xff << (8 - bits));
    if ((ip[i] & mask) != (addr[i] & mask)) return false;
  }
  return true;
}

Result<Cidr> parse_cidr(std::string_view text) {
  const std::size_t slash = text.find('/');
  const std::string host(text.substr(0, slash));
  Cidr c;
  bool v4 = false;
  in_addr a4{};
  in6_addr a6{};
  if (inet_pton(AF_INET, host.c_str(), &a4) == 1) {
    const auto* b = reinterpret_cast<const std::uint8_t*>(&a4.s_addr);
    c.addr = mapped_v4(b[0], b[1], b[2], b[3]);
    v4 = true;
  } else if (inet_pton(AF_INET6, host.c_str(), &a6) == 1) {
    std::memcpy(c.addr.data(), a6.s6_addr, 16);
  } else {
    return make_error(ErrorCode::kInvalidArgument, "network.allowed_cidrs: '" + std::string(text) +
                                                       "' is not an IPv4 or IPv6 address/prefix");
  }
  const int max_bits = v4 ? 32 : 128;
  int bits = max_bits;
  if (slash != std::string_view::npos) {
    const std::string_view p = text.substr(slash + 1);
    const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), bits);
    if (ec != std::errc() || end != p.data() + p.size() || bits < 0 || bits > max_bits) {
      return make_error(ErrorCode::kInvalidArgument,
                        "network.allowed_cidrs: bad prefix length in '" + std::string(text) + "'");
    }
  }
  c.prefix = v4 ? 96 + bits : bits;
  return c;
}

std::string format_ip(const Ip& ip) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (is_mapped_v4(ip)) {
    inet_ntop(AF_INET, ip.data() + 12, buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, ip.data(), buf, sizeof buf);
  }
  return buf;
}

Result<AddressGuard> AddressGuard::create(const NetworkPolicy& policy) {
  AddressGuard g;
  for (const std::string& text : policy.allowed_cidrs) {
    ALLTOOLS_ASSIGN_OR_RETURN(Cidr c, parse_cidr(text));
    g.allowed_.push_back(c);
  }
  auto lower = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return std::tolower(ch); });
    while (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  };
  for (const std::string& h : policy.allowed_hosts) g.allowed_hosts_.push_back(lower(h));
  for (const std::string& h : policy.denied_hosts) g.denied_hosts_.push_back(lower(h));
  for (int p : policy.allowed_ports) {
    if (p <= 0 || p > 65535) {
      return make_error(ErrorCode::kInvalidArgument,
                        "network.allowed_ports: " + std::to_string(p) + " is not a TCP port");
    }
    g.ports_.push_back(p);
  }
  g.allow_loopback_ = policy.allow_loopback;
  g.allow_private_ = policy.allow_private;
  return g;
}

Status AddressGuard::vet_ip(const Ip& ip, int port) const {
  const std::string shown = format_ip(ip);
  if (!ports_.empty() && std::find(ports_.begin(), ports_.end(), port) == ports_.end()) {
    return make_error(ErrorCode::kDenied, "port " + std::to_string(port) + " is not allowed by the network policy");
  }
  Ip v4{};
  const bool has_v4 = unwrap_v4(ip, &v4);
  for (const Cidr& c : allowed_) {
    if (c.contains(ip) || (has_v4 && c.contains(v4))) return ok_status();
  }
  auto deny = [&](std::string_view what) {
    return make_error(ErrorCode::kDenied, shown + " is " + std::string(what) + "; the network policy denies it");
  };
  if (has_v4) {
    for (const V4Range& r : kV4AlwaysDenied) {
      if (v4_in(v4, r)) return deny(r.what);
    }
    if (v4_in(v4, kV4Loopback) && !allow_loopback_) return deny(kV4Loopback.what);
    for (const V4Range& r : kV4Private) {
      if (v4_in(v4, r) && !allow_private_) return deny(r.what);
    }
    return ok_status();
  }
  Ip loop6{};
  loop6[15] = 1;
  if (ip == loop6) return allow_loopback_ ? ok_status() : deny("loopback (::1)");
  struct V6Range {
    Cidr cidr;
    const char* what;
  };
  static const V6Range kV6Denied[] = {
      {Cidr{Ip{}, 96}, "unspecified / IPv4-compatible (::/96)"},
      {Cidr{Ip{0xfe, 0x80}, 10}, "link-local (fe80::/10)"},
      {Cidr{Ip{0xfe, 0xc0}, 10}, "site-local (fec0::/10)"},
      {Cidr{Ip{0xff}, 8}, "multicast (ff00::/8)"},
      {Cidr{Ip{0x20, 0x01, 0x0d, 0xb8}, 32}, "documentation range (2001:db8::/32)"},
      {Cidr{Ip{0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48}, "local-use NAT64 (64:ff9b:1::/48)"},
      {Cidr{Ip{0x01, 0x00}, 64}, "discard-only (100::/64)"},
  };
  for (const V6Range& r : kV6Denied) {
    if (r.cidr.contains(ip)) return deny(r.what);
  }
  if (Cidr{Ip{0xfc}, 7}.contains(ip) && !allow_private_) return deny("unique-local (fc00::/7)");
  return ok_status();
}

Status AddressGuard::vet_address(const sockaddr* sa, socklen_t len) const {
  if (sa == nullptr) return make_error(ErrorCode::kDenied, "no socket address");
  if (sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    const auto* s4 = reinterpret_cast<const sockaddr_in*>(sa);
    const auto* b = reinterpret_cast<const std::uint8_t*>(&s4->sin_addr.s_addr);
    return vet_ip(mapped_v4(b[0], b[1], b[2], b[3]), ntohs(s4->sin_port));
  }
  if (sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    const auto* s6 = reinterpret_cast<const sockaddr_in6*>(sa);
    Ip ip{};
    std::memcpy(ip.data(), s6->sin6_addr.s6_addr, 16);
    return vet_ip(ip, ntohs(s6->sin6_port));
  }
  return make_error(ErrorCode::kDenied, "address family " + std::to_string(sa->sa_family) +
                                            " is not allowed (only IPv4 and IPv6)");
}

Status AddressGuard::vet_host(std::string_view host) const {
  for (const std::string& rule : denied_hosts_) {
    if (host_matches(host, rule)) {
      return make_error(ErrorCode::kDenied, "host '" + std::string(host) + "' is denied by the network policy");
    }
  }
  if (allowed_hosts_.empty()) return ok_status();
  for (const std::string& rule : allowed_hosts_) {
    if (host_matches(host, rule)) return ok_status();
  }
  return make_error(ErrorCode::kDenied,
                    "host '" + std::string(host) + "' is not in the network policy's allowed hosts");
}

}  // namespace alltools::tools::browser::detail
