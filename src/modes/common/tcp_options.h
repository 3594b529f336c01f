// tcp_options.h: socket options shared by the TCP modes.
#pragma once

#include <cstdint>
#include <string>

#include "core/asio.h"

namespace sg::modes::common {

/// TCP alive check (device ref. §3, tcp_alive_check_min): kernel keepalive probes start after
/// `minutes` idle and a dead peer is dropped about a minute later; 0 turns it off. TCP_USER_TIMEOUT
/// bounds how long unacknowledged data may wait, so a peer that vanished mid-transfer is dropped
/// too.
void set_alive_check(asio::ip::tcp::socket& s, std::uint8_t minutes);

/// Opens, binds (SO_REUSEADDR) and listens on `address`:`port` — the one way every listening
/// mode gets its socket. An error (bad address, EADDRINUSE, EACCES) leaves `acceptor` unusable.
boost::system::error_code listen(asio::ip::tcp::acceptor& acceptor, const std::string& address,
                                 std::uint16_t port);

/// "ip:port" ("[ip]:port" for IPv6).
std::string endpoint_string(const asio::ip::tcp::endpoint& ep);
/// "ip:port" of the peer, or "?" when the socket has none.
std::string peer_string(const asio::ip::tcp::socket& s);
/// The peer's address, or the unspecified address when the socket has none (what the allowlist
/// judges, NE-2).
asio::ip::address peer_address(const asio::ip::tcp::socket& s);

}  // namespace sg::modes::common
