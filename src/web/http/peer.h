// peer.h: the remote end of a management-plane connection, as handlers see it (audit events,
// per-source throttles). Asio-free apart from the address type, so codecs and fuzz targets that
// cannot build the coroutine server can still use it.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <string>

namespace sg::web::http {

/// The remote end of a connection; the address is normalised (IPv4-mapped IPv6 → IPv4).
struct Peer {
    boost::asio::ip::address address;
    std::uint16_t port = 0;
    /// "10.0.0.1:51234" or "[::1]:51234".
    std::string to_string() const;
};

}  // namespace sg::web::http
