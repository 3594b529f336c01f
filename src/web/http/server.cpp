// server.cpp: the HTTPS server (issue 4 item 1) and the optional plain-HTTP redirect (WS-9), on
// Boost.Beast: listeners, connection registry, stop, counters. Created by the app's serve command
// on the io thread; the accept loops run on one accept strand. Each admitted connection becomes a
// coroutine on its own strand (session.cpp). The handler runs on a small thread pool owned here
// (it may block on SQLite or Argon2id, STYLE.md §3.10); the coroutine resumes on its strand with
// the response, so the io thread never waits for it.
//
// Bounds (STYLE.md §3.9, NE-5, NE-8): total and per-source connections, the per-source rate of new
// connections and of TLS handshakes are checked at accept; requests per source go through a token
// bucket; the handler backlog is capped (503); header and
// body sizes are capped by the parser; the per-source table evicts idle entries.
//
// Lifetime: Server owns an Impl shared with every coroutine, so a connection that is still
// winding down after stop() (or when the io_context is destroyed first) never points at freed
// memory. Connections are registered by weak pointer for stop(); each one removes itself.
#include "web/http/server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <vector>

#include "web/http/precheck.h"
#include "web/http/server_impl.h"

namespace sg::web::http {

using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using ErrorCode = boost::system::error_code;
namespace bhttp = boost::beast::http;

namespace {

/// After a failed accept (EMFILE, ENFILE, ENOBUFS): keep serving without spinning.
constexpr std::chrono::milliseconds kAcceptBackoff{100};

std::error_code to_std(const ErrorCode& ec) {
    // errno values (EADDRINUSE, EACCES) compare equal to std::errc this way.
    if (ec.category() == boost::system::system_category()) {
        return {ec.value(), std::generic_category()};
    }
    return ec;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Impl members.

core::Status Server::Impl::listen(tcp::acceptor& acceptor, const std::string& address,
                                  std::uint16_t port, const char* what) {
    const std::string where = std::string(what) + " on " + address + ":" + std::to_string(port);
    if (acceptor.is_open()) {
        return core::make_error(core::Errc::already_exists, std::string(what) + " already started");
    }
    ErrorCode ec;
    const auto addr = asio::ip::make_address(address, ec);
    if (ec) return core::Error{to_std(ec), where + ": not an IP address"};
    const tcp::endpoint ep(addr, port);
    auto fail_with = [&](const char* step) {
        ErrorCode ignored;
        acceptor.close(ignored);
        return core::Error{to_std(ec), where + ": " + step + ": " + ec.message()};
    };
    if (acceptor.open(ep.protocol(), ec); ec) return fail_with("socket");
    if (acceptor.set_option(tcp::acceptor::reuse_address(true), ec); ec)
        return fail_with("setsockopt");
    if (acceptor.bind(ep, ec); ec) return fail_with("bind");
    // NE-7: a deep backlog (SOMAXCONN) so that a SYN burst does not refuse honest clients.
    if (acceptor.listen(asio::socket_base::max_listen_connections, ec); ec)
        return fail_with("listen");
    return {};
}

void Server::Impl::spawn_loop(bool https) {
    {
        const std::lock_guard lock(mutex_);
        ++loops_;
    }
    asio::co_spawn(accept_strand_, accept_loop(shared_from_this(), https),
                   [self = shared_from_this(), https](const std::exception_ptr& e) {
                       if (e) {
                           spdlog::error("{} accept loop ended by an exception",
                                         https ? "https" : "http redirect");
                       }
                       {
                           const std::lock_guard lock(self->mutex_);
                           --self->loops_;
                       }
                       self->check_done();
                   });
}

core::Task<void> Server::Impl::accept_loop(std::shared_ptr<Impl> self, bool https) {
    tcp::acceptor& acceptor = https ? self->https_acceptor_ : self->redirect_acceptor_;
    for (;;) {
        // Each connection gets its own strand (STYLE.md §3.3).
        auto [ec, socket] = co_await acceptor.async_accept(
            core::Executor(asio::make_strand(self->io_)), core::use_nothrow);
        if (ec) {
            if (self->stopping_ || ec == asio::error::operation_aborted || !acceptor.is_open()) {
                co_return;
            }
            spdlog::warn("{} accept: {}", https ? "https" : "http redirect", ec.message());
            asio::steady_timer backoff(self->accept_strand_, kAcceptBackoff);
            (void)co_await backoff.async_wait(core::use_nothrow);
            continue;
        }
        self->admit(std::move(socket), https);
    }
}

void Server::Impl::admit(tcp::socket socket, bool https) {
    Counters::bump(counters_.connections);
    ErrorCode ec;
    const auto remote = socket.remote_endpoint(ec);
    if (ec) return;  // already gone; the socket closes with this scope
    Peer peer{normalize(remote.address()), remote.port(), &counters_};
    if (allowlist_ != nullptr && !allowlist_->allows(peer.address)) {
        // NE-2, SD-3: first of all, before the caps count it, before any byte is read and before
        // TLS: closed with RST (SO_LINGER 0), counted, logged rate-limited (AU-2).
        Counters::bump(counters_.refused_allowlist);
        allowlist_->refused(peer.address, https ? "https" : "http redirect");
        socket.set_option(asio::socket_base::linger(true, 0), ec);
        socket.close(ec);
        return;
    }
    // NE-5: beyond the caps and rates the connection is closed at once, before any byte is read
    // and before TLS (a handshake costs CPU; a refused source must not be able to spend ours).
    // Only this strand increments `active` and evicts, so check-then-increment cannot overshoot.
    // At the global cap, a newcomer from a source holding fewer connections than the heaviest
    // source takes the place of that source's oldest one (issue 14 item 9): 8 sources x 16
    // connections kept busy must not lock the administrator out for hours. The per-source cap
    // and rates still apply to the newcomer first: nobody gets in by eviction who would not get
    // in below the cap.
    const char* why = nullptr;
    std::shared_ptr<detail::Connection> victim;
    if (stopping_) {
        why = "stopping";
    } else if (at_cap() && !(victim = eviction_candidate(peer.address))) {
        Counters::bump(counters_.refused_global_cap);
        why = "connection limit";
    } else {
        switch (sources_.try_connect(peer.address, SteadyClock::now(), https)) {
            case SourceTable::Admit::ok: break;
            case SourceTable::Admit::connection_rate:
                Counters::bump(counters_.refused_connection_rate);
                why = "connection rate";
                break;
            case SourceTable::Admit::source_cap:
                Counters::bump(counters_.refused_source_cap);
                why = "per-source connection limit";
                break;
            case SourceTable::Admit::handshake_rate:
                Counters::bump(counters_.refused_handshake_rate);
                why = "handshake rate";
                break;
        }
    }
    if (why != nullptr) {
        spdlog::debug("http {}: refused: {}", peer.to_string(), why);
        if (!stopping_) dos_refused(peer, https ? "https" : "http redirect", why);
        socket.close(ec);
        return;
    }
    if (victim) evict(victim);
    counters_.active.fetch_add(1, std::memory_order_relaxed);
    socket.set_option(tcp::no_delay(true), ec);  // responses go out whole; no Nagle delay
    detail::start_session(shared_from_this(), std::move(socket), peer, https);
}

bool Server::Impl::add(const std::shared_ptr<detail::Connection>& c,
                       const asio::ip::address& address) {
    const std::lock_guard lock(mutex_);
    if (stopping_) return false;
    c->address = address;
    c->seq = next_seq_++;
    connections_.emplace(c.get(), c);
    return true;
}

bool Server::Impl::at_cap() {
    // Evicted connections are on their way out: they hold no place, only max_evicting bounds them.
    const std::lock_guard lock(mutex_);
    return counters_.active.load() - evicting_ >= limits_.max_connections;
}

std::shared_ptr<detail::Connection> Server::Impl::eviction_candidate(
    const asio::ip::address& address) {
    const std::lock_guard lock(mutex_);
    if (evicting_ >= limits_.max_evicting) return nullptr;
    // One pass over at most max_connections + max_evicting entries, only when the cap is reached.
    struct Source {
        std::size_t count = 0;
        detail::Connection* oldest = nullptr;
    };
    std::unordered_map<asio::ip::address, Source> by_source;
    for (const auto& [c, w] : connections_) {
        if (c->evicted) continue;
        Source& s = by_source[c->address];
        ++s.count;
        if (s.oldest == nullptr || c->seq < s.oldest->seq) s.oldest = c;
    }
    const std::size_t mine = by_source.contains(address) ? by_source[address].count : 0;
    const Source* heaviest = nullptr;
    for (const auto& [a, s] : by_source) {
        if (heaviest == nullptr || s.count > heaviest->count ||
            (s.count == heaviest->count && s.oldest->seq < heaviest->oldest->seq)) {
            heaviest = &s;
        }
    }
    // Two or more apart: the swap leaves the heaviest source at least as many as the newcomer's,
    // so equal shares (every source holding one) refuse the newcomer rather than churn.
    if (heaviest == nullptr || heaviest->count < mine + 2) return nullptr;
    return connections_.at(heaviest->oldest).lock();
}

void Server::Impl::evict(const std::shared_ptr<detail::Connection>& victim) {
    {
        const std::lock_guard lock(mutex_);
        // Ended since it was chosen (its slot is free anyway), or chosen twice: nothing to do.
        if (victim->evicted || !connections_.contains(victim.get())) return;
        victim->evicted = true;
        ++evicting_;
    }
    Counters::bump(counters_.evicted);
    spdlog::debug("http: connection cap reached; closing the oldest connection of {}",
                  victim->address.to_string());
    // On its own strand, as stop() does: pending I/O ends with an error and the coroutine winds
    // down through its usual path (bounded TLS close, finished()).
    asio::post(victim->executor(), [victim] { victim->close(); });
}

void Server::Impl::finished(detail::Connection* c, const Peer& peer) {
    sources_.disconnect(peer.address, SteadyClock::now());
    {
        const std::lock_guard lock(mutex_);
        // `active` and `evicting_` change together under the lock, so at_cap() never sees an
        // evicted connection gone from one and not the other.
        counters_.active.fetch_sub(1, std::memory_order_relaxed);
        if (connections_.erase(c) > 0 && c->evicted) --evicting_;
    }
    check_done();
}

void Server::Impl::check_done() {
    std::function<void()> done;
    {
        const std::lock_guard lock(mutex_);
        if (!stopping_ || loops_ > 0 || !connections_.empty() || !done_) return;
        done = std::exchange(done_, nullptr);
    }
    asio::post(io_, std::move(done));
}

void Server::Impl::stop(std::function<void()> done) {
    std::vector<std::shared_ptr<detail::Connection>> open;
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
        done_ = std::move(done);
        for (auto& [p, w] : connections_) {
            if (auto c = w.lock()) open.push_back(std::move(c));
        }
    }
    asio::post(accept_strand_, [self = shared_from_this()] {
        ErrorCode ignored;
        self->https_acceptor_.close(ignored);
        self->redirect_acceptor_.close(ignored);
    });
    for (auto& c : open) asio::post(c->executor(), [c] { c->close(); });
    check_done();
}

void Server::Impl::close_now() {
    std::vector<std::shared_ptr<detail::Connection>> open;
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
        for (auto& [p, w] : connections_) {
            if (auto c = w.lock()) open.push_back(std::move(c));
        }
    }
    ErrorCode ignored;
    https_acceptor_.close(ignored);
    redirect_acceptor_.close(ignored);
    for (auto& c : open) c->close();
}

Response Server::Impl::call_handler(Request&& req, const Peer& peer) {
    const unsigned version = req.version();
    if (stopping_) return overloaded_response(version, false);  // stop(): no new work
    try {
        return handler_(std::move(req), peer);
    } catch (...) {
        // The message is not logged: it might quote request data (IA-9).
        spdlog::error("http {}: request handler threw; answered 500", peer.to_string());
        return error_response(bhttp::status::internal_server_error, "internal_error", version);
    }
}

// ---------------------------------------------------------------------------------------------
// Server.

Server::Server(asio::io_context& io, Handler handler, Limits limits)
    : impl_(std::make_shared<Impl>(io, std::move(handler), limits)) {
    SG_ASSERT(impl_->handler_);
}

Server::~Server() {
    impl_->close_now();
    impl_->pool_.join();  // a running handler finishes; queued ones see stopping_ and skip
}

core::Status Server::start(const std::string& address, std::uint16_t port,
                           std::shared_ptr<asio::ssl::context> tls) {
    if (!tls) return core::make_error(core::Errc::invalid_config, "https: no TLS context");
    if (auto st = impl_->listen(impl_->https_acceptor_, address, port, "https"); !st) return st;
    impl_->tls_ = std::move(tls);
    ErrorCode ec;
    impl_->https_port_ = impl_->https_acceptor_.local_endpoint(ec).port();
    impl_->spawn_loop(true);
    return {};
}

void Server::set_allowlist(security::allowlist::Gate* allowlist) {
    impl_->allowlist_ = allowlist;
}

void Server::set_events(events::Log* log) {
    impl_->events_ = log;
}

void Server::revoke() {
    if (impl_->allowlist_ == nullptr) return;
    std::vector<std::shared_ptr<detail::Connection>> outside;
    {
        const std::lock_guard lock(impl_->mutex_);  // address is the registry's, under it
        for (auto& [p, w] : impl_->connections_) {
            auto c = w.lock();
            if (c && !impl_->allowlist_->allows(c->address)) outside.push_back(std::move(c));
        }
    }
    for (auto& c : outside) asio::post(c->executor(), [c] { c->close(); });
}

std::uint16_t Server::local_port() const {
    return impl_->https_port_.load();
}

void Server::set_tls_context(std::shared_ptr<asio::ssl::context> tls,
                             std::function<void()> applied) {
    if (!tls) return;
    asio::post(impl_->accept_strand_,
               [impl = impl_, tls = std::move(tls), applied = std::move(applied)]() mutable {
                   impl->tls_ = std::move(tls);
                   if (applied) applied();
               });
}

core::Status Server::start_redirect(const std::string& address, std::uint16_t http_port,
                                    std::uint16_t https_port) {
    if (auto st = impl_->listen(impl_->redirect_acceptor_, address, http_port, "http redirect");
        !st) {
        return st;
    }
    impl_->redirect_to_ = https_port;
    ErrorCode ec;
    impl_->redirect_port_ = impl_->redirect_acceptor_.local_endpoint(ec).port();
    impl_->spawn_loop(false);
    return {};
}

std::uint16_t Server::redirect_port() const {
    return impl_->redirect_port_.load();
}

void Server::stop(std::function<void()> done) {
    impl_->stop(std::move(done));
}

Stats Server::stats() const {
    const CountersSnapshot c = impl_->counters_.snapshot();
    return {.connections = c.connections,
            .active = c.active,
            .rejected_connections = c.refused_global_cap + c.refused_source_cap +
                                    c.refused_connection_rate + c.refused_handshake_rate +
                                    c.refused_allowlist,
            .handshake_failures = c.handshake_failures,
            .requests = c.requests,
            .rejected_rate = c.too_many_requests_source,
            .rejected_size = c.header_too_large + c.body_too_large,
            .rejected_overload = c.overloaded_queue,
            .timeouts = c.timeout_handshake + c.timeout_header + c.timeout_body + c.timeout_write};
}

CountersSnapshot Server::counters() const {
    return impl_->counters_.snapshot();
}

}  // namespace sg::web::http
