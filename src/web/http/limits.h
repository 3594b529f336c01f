// limits.h: every bound of the HTTPS server in one struct (STYLE.md §3.9, NE-5, NE-6). Passed to
// web::http::Server by value at construction; the fuzz target and precheck() read the same struct,
// so what the fuzzer explores is what the server enforces. The defaults are the values of NE-5 and
// NE-6; every refusal they cause is counted (counters.h). The operator's part of them is the
// config section https.dos (config::DosSettings): limits_from() below, taken when serve builds
// the server, so a change applies at the next start.
#pragma once

#include <chrono>
#include <cstddef>

#include "config/settings.h"

namespace sg::web::http {

struct Limits {
    /// Request line + header fields, bytes (NE-6: 16 KiB). Beyond: 431 and close.
    std::size_t header_bytes = 16 * 1024;
    /// Request body, bytes (after de-chunking; NE-6: JSON ≤ 1 MiB; there is no upload endpoint,
    /// whose 64 MiB would need a streaming body). Beyond: 413 and close.
    std::size_t body_bytes = 1024 * 1024;

    /// TCP accept → TLS handshake finished (NE-6: 10 s). Covers a client that never speaks.
    std::chrono::seconds handshake_timeout{10};
    /// First byte of a request → complete header block; for the first request, from the end of
    /// the handshake (NE-6: full request headers in 10 s). A slowloris client is cut here.
    std::chrono::seconds header_timeout{10};
    /// NE-6: the body must arrive at ≥ body_min_bytes_per_second, and whole within body_timeout
    /// (60 s) of the end of the header whatever its rate. Rate rule: once B body bytes are in,
    /// the rest must start within body_grace + B / body_min_bytes_per_second of the end of the
    /// header (body_deadline() in precheck.h). A body that falls behind is cut: the connection
    /// is closed without an answer (the deadline closes the socket; a client this slow would not
    /// read a 408 either), counted as timeout_body. body_min_bytes_per_second = 0: cap only.
    std::chrono::seconds body_timeout{60};
    std::size_t body_min_bytes_per_second = 1024;
    std::chrono::seconds body_grace{5};
    /// Keep-alive: end of a response → first byte of the next request (NE-6: 15 s).
    std::chrono::seconds idle_timeout{15};
    /// One response written; a client that stops reading is cut here.
    std::chrono::seconds write_timeout{30};
    /// Graceful TLS close (our close_notify out, theirs in); then the socket is closed anyway.
    std::chrono::seconds shutdown_timeout{2};

    /// HTTPS + redirect connections in total (NE-5: 128). At the cap a newcomer from a source
    /// holding fewer connections than the source holding the most (by two or more) takes the
    /// place of that source's oldest connection, which is closed (issue 14 item 9: a few sources
    /// cannot hold every place, the administrator's included); otherwise the newcomer is accepted
    /// and closed at once.
    std::size_t max_connections = 128;
    /// Evicted connections still closing (their bounded TLS close, shutdown_timeout) at once;
    /// while this many are, the cap refuses instead. So at most max_connections + max_evicting
    /// sockets are ever open.
    std::size_t max_evicting = 16;
    /// Concurrent connections from one source address (NE-5: 16); beyond: closed at once.
    std::size_t max_connections_per_source = 16;
    /// Token bucket per source address for new TCP connections, HTTPS and redirect alike (NE-5:
    /// 20/s, burst 40). Empty: accepted and closed at once, before TLS, counted.
    double connections_per_second_per_source = 20;
    double connection_burst_per_source = 40;
    /// Token bucket per source address for TLS handshakes (NE-5: 10/s; burst 40, as for new
    /// connections: a browser opening the console in a fresh context opens several connections
    /// at once, and a burst of 10 refused some of them). Taken at accept, after the checks above;
    /// empty: closed before the handshake's work, counted.
    double handshakes_per_second_per_source = 10;
    double handshake_burst_per_source = 40;
    /// Token bucket per source address: refill rate (requests/s) and depth. Empty → 429 +
    /// Retry-After, the handler is not called (50/s, burst 100). The API adds a bucket of the
    /// same size per session (NE-5; web/api/sessions.h).
    double requests_per_second_per_source = 50;
    double burst_per_source = 100;
    /// Source addresses remembered (connection counts, buckets). When full, idle entries are
    /// evicted, so a spray of source addresses cannot grow memory (NE-8). Must exceed
    /// max_connections so that an entry without connections always exists to evict.
    std::size_t max_sources = 4096;

    /// Requests served on one connection; the last one is answered with Connection: close.
    std::size_t max_requests_per_connection = 1000;
    /// Threads running the handler (it may block on SQLite or Argon2id).
    std::size_t handler_threads = 2;
    /// Requests waiting for a handler thread; beyond: 503 + Retry-After.
    std::size_t max_queued_requests = 256;

    bool operator==(const Limits&) const = default;
};

/// The server's bounds from the configuration (https.dos); what it does not set (body_grace,
/// write and shutdown timeouts, max_sources, handler threads and queue) keeps its default. The
/// per-session bucket and the Argon2id values of DosSettings are the API's, not the server's.
constexpr Limits limits_from(const config::DosSettings& d) {
    Limits l;
    l.header_bytes = d.header_bytes;
    l.body_bytes = d.body_bytes;
    l.handshake_timeout = std::chrono::seconds(d.handshake_timeout_s);
    l.header_timeout = std::chrono::seconds(d.header_timeout_s);
    l.body_timeout = std::chrono::seconds(d.body_timeout_s);
    l.body_min_bytes_per_second = d.body_min_bytes_per_second;
    l.idle_timeout = std::chrono::seconds(d.idle_timeout_s);
    l.max_connections = d.max_connections;
    l.max_connections_per_source = d.max_connections_per_source;
    l.connections_per_second_per_source = d.connections_per_second_per_source;
    l.connection_burst_per_source = d.connection_burst_per_source;
    l.handshakes_per_second_per_source = d.handshakes_per_second_per_source;
    l.handshake_burst_per_source = d.handshake_burst_per_source;
    l.requests_per_second_per_source = d.requests_per_second_per_source;
    l.burst_per_source = d.request_burst_per_source;
    return l;
}

// An absent https.dos section must leave the server exactly as NE-5 and NE-6 have it.
static_assert(limits_from(config::DosSettings{}) == Limits{},
              "config::DosSettings defaults differ from web::http::Limits defaults");
// config's 1..1024 keeps max_sources above every max_connections (see max_sources).
static_assert(Limits{}.max_sources > 1024);

}  // namespace sg::web::http
