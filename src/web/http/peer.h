// peer.h: the remote end of a management-plane connection, as handlers see it (audit events,
// per-source throttles). Asio-free apart from the address type, so codecs and fuzz targets that
// cannot build the coroutine server can still use it.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <string>

namespace sg::web::http {

struct Counters;
struct Upgrade;

/// The remote end of a connection; the address is normalised (IPv4-mapped IPv6 → IPv4).
struct Peer {
    boost::asio::ip::address address;
    std::uint16_t port = 0;
    /// The counters of the server that accepted the connection (never null for a request that
    /// came through web::http::Server; null in unit tests that make a Peer themselves). The API
    /// bumps the refusals it makes (429 per session, 503 Argon2id wait) and reads them all (NE-5,
    /// NE-8). Outlives every handler call: the server joins its pool before it goes.
    Counters* counters = nullptr;
    /// Issue 13 item 4: non-null only while a handler runs for a WebSocket upgrade request
    /// (websocket.h); a handler that accepts leaves its feed there and answers 101.
    Upgrade* upgrade = nullptr;
    /// "10.0.0.1:51234" or "[::1]:51234".
    std::string to_string() const;
};

}  // namespace sg::web::http
