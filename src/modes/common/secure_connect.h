// secure_connect.h: the client side of Secure Connection (issue 11 item 3) for the modes that
// connect out — TCP Client's destinations and the Pair Connection master: after the TCP connect,
// the TLS handshake with the client context in force, the server's chain and name checked unless
// the destination says `verify: false`. On the port strand.
#pragma once

#include <optional>
#include <string>

#include "core/asio.h"
#include "modes/common/stream.h"
#include "modes/mode.h"

namespace sg::modes::common {

/// Where an outgoing connection goes, as configured.
struct SecureTarget {
    config::Security level = config::Security::Plain;
    std::string host;    // as configured: DNS name (SNI, DNS SANs) or IP address (IP SANs)
    bool verify = true;  // false: neither chain nor name checked; a Warning at every connect
    std::string who;     // "destination 1 host:port", "pair slave host:port": for the log
};

/// Makes the connected `socket` the Stream the connection runs over: as it is when plain; else
/// TLS with PortContext::tls's client context (taken now: a new certificate or CA list applies
/// to the next connection), SNI and the host check, and the handshake (bounded by
/// kHandshakeTimeout). `verify: false` writes security.tls_unverified (Warning) at every connect.
/// A failure returns nullopt with `why`, counted in refused_tls and logged rate-limited
/// (security.tls_refused); the caller retries with its backoff. While the handshake runs,
/// `*handshaking` points to its Stream, for a stop to close it (then nullptr again).
core::Task<std::optional<Stream>> secure_connect(PortContext& ctx, asio::ip::tcp::socket socket,
                                                 const SecureTarget& target, std::string& why,
                                                 Stream*& handshaking);

}  // namespace sg::modes::common
