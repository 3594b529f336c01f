// server_impl.h: the internals of web::http::Server, shared by server.cpp (listeners, registry,
// stop) and session.cpp (one connection's coroutine). Internal to src/web/http: nothing outside
// this folder includes it.
#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "core/asio.h"
#include "security/allowlist/allowlist.h"
#include "web/http/server.h"
#include "web/http/source_table.h"

namespace sg::web::http {

namespace detail {

/// A connection as the registry sees it: something stop() can close on its own strand.
class Connection {
public:
    virtual ~Connection() = default;
    /// Runs on executor(): ends the connection soon (pending I/O completes with an error).
    virtual void close() = 0;
    virtual core::Executor executor() = 0;
    /// The peer's address (normalized: IPv4-mapped shown as IPv4): what the allowlist judges.
    virtual asio::ip::address address() const = 0;
};

}  // namespace detail

// Impl: listeners, registry, counters, handler pool. Shared (shared_ptr) with every coroutine, so
// a connection still winding down after stop() never points at freed memory.
class Server::Impl : public std::enable_shared_from_this<Server::Impl> {
public:
    Impl(asio::io_context& io, Handler handler, Limits limits)
        : io_(io),
          handler_(std::move(handler)),
          limits_(limits),
          sources_(limits_),
          accept_strand_(asio::make_strand(io)),
          https_acceptor_(accept_strand_),
          redirect_acceptor_(accept_strand_),
          pool_(std::max<std::size_t>(1, limits.handler_threads)) {}

    core::Status listen(asio::ip::tcp::acceptor& acceptor, const std::string& address,
                        std::uint16_t port, const char* what);
    void spawn_loop(bool https);
    static core::Task<void> accept_loop(std::shared_ptr<Impl> self, bool https);
    void admit(asio::ip::tcp::socket socket, bool https);
    /// Registers a connection; false once stopping (the caller drops it).
    bool add(const std::shared_ptr<detail::Connection>& c);
    /// The connection's coroutine has ended (on its strand).
    void finished(detail::Connection* c, const Peer& peer);
    void stop(std::function<void()> done);
    /// ~Server: close everything now (io thread, or io stopped).
    void close_now();
    void check_done();
    /// On a pool thread.
    Response call_handler(Request&& req, const Peer& peer);
    /// Reserves a place in the handler backlog; false when full (→ 503).
    bool reserve() {
        if (stopping_.load()) return false;
        if (backlog_.fetch_add(1, std::memory_order_relaxed) >= limits_.max_queued_requests) {
            backlog_.fetch_sub(1, std::memory_order_relaxed);
            return false;
        }
        return true;
    }

    asio::io_context& io_;
    Handler handler_;
    const Limits limits_;
    SourceTable sources_;
    // NE-2: the allowlist in force (serve's, shared with every port); null allows every source.
    // Set before start(); read on the accept strand.
    security::allowlist::Gate* allowlist_ = nullptr;
    Counters counters_;  // NE-5, NE-8; the API adds its refusals through Peer::counters
    std::atomic<std::size_t> backlog_{0};  // requests posted to the pool, not yet started
    std::atomic<bool> stopping_{false};

    core::Strand accept_strand_;  // the two acceptors, tls_ and both accept loops run here
    asio::ip::tcp::acceptor https_acceptor_;
    asio::ip::tcp::acceptor redirect_acceptor_;
    std::shared_ptr<asio::ssl::context> tls_;  // for connections accepted from now on (CE-3)
    std::atomic<std::uint16_t> https_port_{0};
    std::atomic<std::uint16_t> redirect_port_{0};
    std::uint16_t redirect_to_ = 0;  // the HTTPS port the redirect names

    std::mutex mutex_;  // guards the three below
    std::unordered_map<detail::Connection*, std::weak_ptr<detail::Connection>> connections_;
    int loops_ = 0;
    std::function<void()> done_;

    asio::thread_pool pool_;  // last member: joined before anything it could use goes away
};

namespace detail {

/// Creates the session for an admitted socket (HTTPS or redirect), registers it and starts its
/// coroutine on the socket's strand; when the coroutine ends it calls impl->finished(). Runs on
/// the accept strand; `impl->counters_.active` and the source table already count it.
void start_session(const std::shared_ptr<Server::Impl>& impl, asio::ip::tcp::socket socket,
                   const Peer& peer, bool https);

}  // namespace detail

}  // namespace sg::web::http
