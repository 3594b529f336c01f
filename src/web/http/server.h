// server.h: the HTTPS server of the management plane (issue 4 item 1; NE-5, NE-6, WS-5, WS-9,
// CE-3) on Boost.Beast. Owned by the app's serve command; runs on the daemon's io_context (one
// strand per connection) and calls the request handler on its own small thread pool, so neither
// a slow handler nor a flood of requests holds up the serial data plane.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/result.h"
#include "security/allowlist/allowlist.h"
#include "web/http/counters.h"
#include "web/http/headers.h"
#include "web/http/limits.h"
#include "web/http/peer.h"

namespace sg::web::http {

/// Runs on the handler pool (not the io thread): may block on SQLite or Argon2id; must be
/// thread-safe. The server sets version, Connection (keep-alive is its decision: the request's
/// wish, max_requests_per_connection, stop), Content-Length and the security headers of the
/// returned response; it does not call the handler for requests it answers itself (parse
/// errors, precheck(), 429, 503). An exception thrown by the handler becomes 500.
using Handler = std::function<Response(Request&& req, const Peer& peer)>;

/// Totals since construction, each read atomically (the set is not one snapshot). The counters
/// by reason are in CountersSnapshot (Server::counters()); these sums predate them.
struct Stats {
    std::uint64_t connections = 0;           // accepted (HTTPS and redirect), including refused
    std::uint64_t active = 0;                // open now
    std::uint64_t rejected_connections = 0;  // closed at accept: any refused_* reason
    std::uint64_t handshake_failures = 0;    // TLS handshake failed or timed out
    std::uint64_t requests = 0;              // complete requests read
    std::uint64_t rejected_rate = 0;         // 429 (per-source token bucket)
    std::uint64_t rejected_size = 0;         // 431 and 413
    std::uint64_t rejected_overload = 0;     // 503 (handler backlog full)
    std::uint64_t timeouts = 0;  // cut by handshake, header, body or write deadline (not idle)
};

class Server {
public:
    /// Starts `limits.handler_threads` handler threads; listens nowhere yet.
    Server(boost::asio::io_context& io, Handler handler, Limits limits = {});
    /// Closes what is still open and joins the handler threads (a running handler finishes
    /// first). Call from the io thread or after the io_context stopped; stop() first for a
    /// graceful end.
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    /// Binds and listens (SO_REUSEADDR; backlog SOMAXCONN, NE-7). Errors as values: a bad
    /// address, EADDRINUSE, EACCES. Call once, before io.run() or on the io thread.
    core::Status start(const std::string& address, std::uint16_t port,
                       std::shared_ptr<boost::asio::ssl::context> tls);
    /// NE-2: every connection (HTTPS and redirect) is first checked against `allowlist` (null:
    /// every source allowed), which must outlive the Server. Call before start().
    void set_allowlist(security::allowlist::Gate* allowlist);
    /// AU-2: the DoS refusals (connection caps and rates, request rate, overload) are logged to
    /// `log` as security.dos_refused, at most once per source per minute (null: not logged).
    /// `log` must outlive the Server. Call before start().
    void set_events(events::Log* log);
    /// NE-4: the allowlist changed: every open connection from a source it no longer allows is
    /// closed (on its strand). Thread-safe; returns at once.
    void revoke();
    /// The bound HTTPS port (port 0 → the one the OS chose); 0 before start().
    std::uint16_t local_port() const;
    /// CE-3: connections accepted from now on use `tls`; established ones keep theirs.
    /// Thread-safe (posts to the accept strand).
    /// `applied` (optional) runs once connections accepted from then on get `tls`.
    void set_tls_context(std::shared_ptr<boost::asio::ssl::context> tls,
                         std::function<void()> applied = {});
    /// WS-9: plain HTTP on `http_port` that answers every request with 301 to
    /// https://<Host without port>:<https_port><target>, sets no cookie and closes. Same
    /// connection caps and timeouts as HTTPS.
    core::Status start_redirect(const std::string& address, std::uint16_t http_port,
                                std::uint16_t https_port);
    /// The bound redirect port; 0 before start_redirect().
    std::uint16_t redirect_port() const;
    /// Closes the listeners and every connection (an idle keep-alive connection gets a bounded
    /// TLS close; one waiting for its handler ends when the handler returns). `done` runs on the
    /// io thread once nothing is left. Call once.
    void stop(std::function<void()> done);
    Stats stats() const;
    /// Every counter by reason (NE-5, NE-8), including those the handler added via Peer.
    CountersSnapshot counters() const;

    class Impl;  // shared with the connection coroutines, which may outlive a stop()

private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace sg::web::http
