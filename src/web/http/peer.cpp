// peer.cpp: Peer::to_string. Used by the server's logs and by API handlers for audit events
// (any thread). Kept apart from server.cpp so the libFuzzer builds can link it (no coroutines).
#include "web/http/peer.h"

namespace sg::web::http {

std::string Peer::to_string() const {
    // Appended into one string: `"[" + std::string` (an insert at the front) made GCC 12 at -O2
    // warn -Wrestrict about its own memcpy (a false positive, GCC PR 105329) in the demo's build.
    const bool v6 = address.is_v6();
    std::string out;
    if (v6) out += '[';
    out += address.to_string();
    if (v6) out += ']';
    out += ':';
    out += std::to_string(port);
    return out;
}

}  // namespace sg::web::http
