// counters.h: what the HTTPS server did and refused since start (NE-5: "excess closed/dropped
// and counted"; NE-8: "after the flood all counters are reported"). One struct of atomics, owned
// by web::http::Server; every connection strand, the accept strand and the handler pool bump it
// without a lock. The API adds the two refusals only it can make (429 per session, 503 while
// waiting for an Argon2id slot) through Peer::counters and reads the whole set for
// GET /api/v1/system/dos. Asio-free, so the fuzz targets and the API tests can use it.
#pragma once

#include <atomic>
#include <cstdint>

namespace sg::web::http {

/// A plain copy of Counters, each field read atomically (the set is not one snapshot).
struct CountersSnapshot {
    // Connections (HTTPS and redirect).
    std::uint64_t connections = 0;         // accepted by the kernel, refused ones included
    std::uint64_t active = 0;              // open now
    std::uint64_t handshake_failures = 0;  // TLS handshake failed or timed out
    std::uint64_t requests = 0;            // complete requests read
    // Closed at accept, before any byte is read and before TLS (NE-5), by reason.
    std::uint64_t refused_global_cap = 0;       // Limits::max_connections open already
    std::uint64_t refused_source_cap = 0;       // max_connections_per_source open already
    std::uint64_t refused_connection_rate = 0;  // connections_per_second_per_source exceeded
    std::uint64_t refused_handshake_rate = 0;   // handshakes_per_second_per_source exceeded
    // Closed to make room at the global cap for a newcomer from a source holding fewer (issue 14
    // item 9): the oldest connection of the source holding the most.
    std::uint64_t evicted = 0;
    std::uint64_t refused_allowlist = 0;  // NE-2: source outside the allowlist (checked first)
    // Requests answered without their handler.
    std::uint64_t too_many_requests_source = 0;   // 429: per-source token bucket (server)
    std::uint64_t too_many_requests_session = 0;  // 429: per-session token bucket (API)
    std::uint64_t overloaded_queue = 0;           // 503: handler backlog full (server)
    std::uint64_t overloaded_argon2 = 0;          // 503: no Argon2id slot within the wait (API)
    std::uint64_t header_too_large = 0;           // 431
    std::uint64_t body_too_large = 0;             // 413
    // Connections cut by a deadline (NE-6), by the phase that ran out of time.
    std::uint64_t timeout_handshake = 0;
    std::uint64_t timeout_header = 0;
    std::uint64_t timeout_body = 0;   // too slow: under the minimum rate, or over the cap
    std::uint64_t timeout_write = 0;  // a response, or our TLS close, not taken in time
    std::uint64_t timeout_idle = 0;   // keep-alive ended by the idle timeout: normal, not a refusal
};

struct Counters {
    using Counter = std::atomic<std::uint64_t>;

    /// Adds one (relaxed: counters order nothing).
    static void bump(Counter& c) { c.fetch_add(1, std::memory_order_relaxed); }

    Counter connections{0};
    Counter active{0};
    Counter handshake_failures{0};
    Counter requests{0};
    Counter refused_global_cap{0};
    Counter refused_source_cap{0};
    Counter refused_connection_rate{0};
    Counter refused_handshake_rate{0};
    Counter evicted{0};
    Counter refused_allowlist{0};
    Counter too_many_requests_source{0};
    Counter too_many_requests_session{0};
    Counter overloaded_queue{0};
    Counter overloaded_argon2{0};
    Counter header_too_large{0};
    Counter body_too_large{0};
    Counter timeout_handshake{0};
    Counter timeout_header{0};
    Counter timeout_body{0};
    Counter timeout_write{0};
    Counter timeout_idle{0};

    CountersSnapshot snapshot() const {
        return {.connections = connections.load(),
                .active = active.load(),
                .handshake_failures = handshake_failures.load(),
                .requests = requests.load(),
                .refused_global_cap = refused_global_cap.load(),
                .refused_source_cap = refused_source_cap.load(),
                .refused_connection_rate = refused_connection_rate.load(),
                .refused_handshake_rate = refused_handshake_rate.load(),
                .evicted = evicted.load(),
                .refused_allowlist = refused_allowlist.load(),
                .too_many_requests_source = too_many_requests_source.load(),
                .too_many_requests_session = too_many_requests_session.load(),
                .overloaded_queue = overloaded_queue.load(),
                .overloaded_argon2 = overloaded_argon2.load(),
                .header_too_large = header_too_large.load(),
                .body_too_large = body_too_large.load(),
                .timeout_handshake = timeout_handshake.load(),
                .timeout_header = timeout_header.load(),
                .timeout_body = timeout_body.load(),
                .timeout_write = timeout_write.load(),
                .timeout_idle = timeout_idle.load()};
    }
};

}  // namespace sg::web::http
