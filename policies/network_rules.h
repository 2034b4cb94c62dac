// Host patterns and address classes used by the browser policy. Pure functions; no DNS.
#pragma once

#include <string_view>

namespace alltools::policies {

// Case-insensitive host match. "example.com" matches exactly; "*.example.com" matches any sub-domain (not the apex);
// "*" matches every host.
bool host_matches(std::string_view pattern, std::string_view host);

// True when `host` is an IP literal (IPv4 in any form inet_aton accepts — "127.1", "0x7f000001", "2130706433" — or
// IPv6 with or without brackets). Sets *is_private when the address is loopback, private, link-local, CGNAT,
// multicast, reserved or documentation space; IPv4-mapped, NAT64 and 6to4 IPv6 addresses are unwrapped first.
bool is_ip_literal(std::string_view host, bool* is_private);

}  // namespace alltools::policies
