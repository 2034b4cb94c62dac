// AddressGuard: decides whether the browser may connect to a resolved socket address or fetch a host name.
// It is the policy half of the SSRF defence; fetcher.cc calls it from CURLOPT_OPENSOCKETFUNCTION on every
// connection (every redirect hop included), after DNS and before connect.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <sys/socket.h>

#include "common/result.h"
#include "tools/browser/browser_tool.h"

namespace alltools::tools::browser::detail {

// An IPv6 network; IPv4 ranges are stored in IPv4-mapped form (::ffff:a.b.c.d/96+n).
struct Cidr {
  std::array<std::uint8_t, 16> addr{};
  int prefix = 0;  // bits, 0..128
  bool contains(const std::array<std::uint8_t, 16>& ip) const;
};

// Parses "10.0.0.0/8", "127.0.0.2" (= /32), "fc00::/7", "::1".
Result<Cidr> parse_cidr(std::string_view text);

class AddressGuard {
 public:
  static Result<AddressGuard> create(const NetworkPolicy& policy);

  // OK, or kDenied with a reason ("127.0.0.1 is loopback"). `sa` is what the socket would connect to.
  Status vet_address(const sockaddr* sa, socklen_t len) const;
  // Same check for a 16-byte address (IPv4 in mapped form) and a port.
  Status vet_ip(const std::array<std::uint8_t, 16>& ip, int port) const;
  // Host-name rules (allowed_hosts / denied_hosts); `host` is lower case without brackets.
  Status vet_host(std::string_view host) const;

 private:
  std::vector<Cidr> allowed_;
  std::vector<std::string> allowed_hosts_;
  std::vector<std::string> denied_hosts_;
  std::vector<int> ports_;
  bool allow_loopback_ = false;
  bool allow_private_ = false;
};

// Text form of a 16-byte address: dotted quad for IPv4-mapped, RFC 5952-ish otherwise.
std::string format_ip(const std::array<std::uint8_t, 16>& ip);

}  // namespace alltools::tools::browser::detail
