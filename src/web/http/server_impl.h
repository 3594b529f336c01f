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
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/asio.h"
#include "security/allowlist/allowlist.h"
#include "web/http/server.h"
#include "web/http/source_table.h"

namespace sg::web::http {

namespace detail {

/// A connection as the registry sees it: something stop() or an eviction can close on its own
/// strand.
class Connection {
public:
    virtual ~Connection() = default;
    /// Runs on executor(): ends the connection soon (pending I/O completes with an error).
    virtual void close() = 0;
    virtual core::Executor executor() = 0;

    // The registry's own data, set by Server::Impl::add() and used under Impl::mutex_ only.
    asio::ip::address address;  // the peer's source address (normalized): what the allowlist judges
    std::uint64_t seq = 0;      // accept order: lower is older
    bool evicted = false;       // chosen to make room (issue 14 item 9); closing
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
    /// Registers a connection from `address`; false once stopping (the caller drops it).
    bool add(const std::shared_ptr<detail::Connection>& c, const asio::ip::address& address);
    /// Whether the connections that hold a place (open, not evicted) fill max_connections.
    bool at_cap();
    /// At the global cap (on the accept strand): the connection to close so that one from
    /// `address` may come in — the oldest of the source holding the most, when that source holds
    /// at least two more than `address` and fewer than max_evicting evictions are under way —
    /// or null (the newcomer is refused).
    std::shared_ptr<detail::Connection> eviction_candidate(const asio::ip::address& address);
    /// Closes `victim` (chosen by eviction_candidate on this strand) on its own strand, unless it
    /// has ended meanwhile; counted.
    void evict(const std::shared_ptr<detail::Connection>& victim);
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
    events::Log* events_ = nullptr;  // DoS refusals (AU-2); null: not logged
    /// A DoS refusal of `peer` on `listener` ("https", "http redirect"): logged rate-limited.
    void dos_refused(const Peer& peer, const char* listener, std::string_view why) const {
        if (events_ == nullptr) return;
        events_->emit_limited(events::types::kDosRefused, {.source = peer.address.to_string()},
                              std::string(listener) + ": " + std::string(why),
                              events::kRefusalLimit);
    }
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

    std::mutex mutex_;  // guards the five below and the registry data of each Connection
    std::unordered_map<detail::Connection*, std::weak_ptr<detail::Connection>> connections_;
    int loops_ = 0;
    std::function<void()> done_;
    std::uint64_t next_seq_ = 0;
    std::size_t evicting_ = 0;  // evicted, not finished yet (still counted in counters_.active)

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
