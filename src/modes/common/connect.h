// connect.h: one outgoing TCP connection attempt, shared by the modes that connect out (TCP
// Client, Pair Connection master). Runs on the caller's strand.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <system_error>

#include "core/asio.h"

namespace sg::modes::common {

/// How long one attempt may take before it counts as failed (a destination that drops SYNs).
inline constexpr std::chrono::milliseconds kConnectTimeout{10000};

/// Resolves `host` and connects `socket` to the first of its addresses that accepts. A host name
/// is looked up on every call, so a changed DNS record is followed on the next attempt. With
/// `local_port` != 0 the socket is bound to that port first (the device's "designated local
/// port"), with SO_REUSEADDR so that the port of the previous connection, still in TIME_WAIT, can
/// be taken again. Connecting is bounded by `timeout` per address. Closing `socket` or cancelling
/// `resolver` (stop()) ends the attempt with operation_aborted. On success the socket is connected
/// and has TCP_NODELAY; on failure it is closed.
///
/// `abandoned`, when given, is asked after the name lookup and before each address: once it says
/// true the attempt ends with operation_aborted without opening a socket. A caller that stops
/// needs it because cancelling the resolver does not interrupt a lookup already under way: its
/// results still arrive, and without the check the next connect (up to `timeout` against a
/// destination that drops SYNs) would hold up the stop.
core::Task<std::error_code> connect(asio::ip::tcp::resolver& resolver,
                                    asio::ip::tcp::socket& socket, const std::string& host,
                                    std::uint16_t port, std::uint16_t local_port,
                                    std::chrono::milliseconds timeout = kConnectTimeout,
                                    std::function<bool()> abandoned = {});

/// "host:port" as people write it ("[::1]:4001" for an IPv6 literal).
std::string host_port(const std::string& host, std::uint16_t port);

}  // namespace sg::modes::common
