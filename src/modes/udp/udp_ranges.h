// udp_ranges.h: the destination ranges of UDP mode (device ref. §3: up to 4 ranges of begin IP,
// end IP and port). They say both where serial data goes (every address of every range) and whose
// datagrams reach the serial line (a source address inside a range). No I/O.
#pragma once

#include <cstdint>
#include <vector>

#include "config/settings.h"
#include "core/asio.h"
#include "core/result.h"

namespace sg::modes::udp {

class Ranges {
public:
    struct Range {
        std::uint32_t first;  // IPv4, host byte order
        std::uint32_t last;   // >= first
        std::uint16_t port;
    };

    /// Validates again what config/mode_yaml.cpp validated (IPv4, begin <= end, at most 256
    /// addresses per range): a Config built in code must not reach the sockets unchecked.
    static core::Result<Ranges> parse(const std::vector<config::UdpDestination>& destinations);

    /// Whether a datagram from `source` may reach the serial line: an IPv4 address (or an
    /// IPv4-mapped IPv6 one) inside any range. The port is not checked: the device filters by
    /// address.
    bool contains(const asio::ip::address& source) const;

    /// Every address of every range with its range's port, in configuration order; as
    /// IPv4-mapped IPv6 endpoints when `v6` (a socket bound to an IPv6 listen address).
    std::vector<asio::ip::udp::endpoint> endpoints(bool v6) const;

    const std::vector<Range>& ranges() const { return ranges_; }

private:
    std::vector<Range> ranges_;
};

}  // namespace sg::modes::udp
