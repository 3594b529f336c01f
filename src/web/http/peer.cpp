// peer.cpp: Peer::to_string. Used by the server's logs and by API handlers for audit events
// (any thread). Kept apart from server.cpp so the libFuzzer builds can link it (no coroutines).
#include "web/http/peer.h"

namespace sg::web::http {

std::string Peer::to_string() const {
    if (address.is_v6()) return "[" + address.to_string() + "]:" + std::to_string(port);
    return address.to_string() + ":" + std::to_string(port);
}

}  // namespace sg::web::http
