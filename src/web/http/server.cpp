// server.cpp: the HTTPS server (issue 4 item 1) and the optional plain-HTTP redirect (WS-9), on
// Boost.Beast. Created by the app's serve command on the io thread. Each accepted connection is
// one coroutine on its own strand (STYLE.md §3.3-3.5): TLS handshake, then read request → checks
// → handler → write, with a deadline on every read and write (NE-6). The handler runs on a small
// thread pool owned here (it may block on SQLite or Argon2id, STYLE.md §3.10); the coroutine
// resumes on its strand with the response, so the io thread never waits for it.
//
// Bounds (STYLE.md §3.9, NE-5, NE-8): total and per-source connections are checked at accept;
// requests per source go through a token bucket; the handler backlog is capped (503); header and
// body sizes are capped by the parser; the per-source table evicts idle entries.
//
// Lifetime: Server owns an Impl shared with every coroutine, so a connection that is still
// winding down after stop() (or when the io_context is destroyed first) never points at freed
// memory. Connections are registered by weak pointer for stop(); each one removes itself.
#include "web/http/server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/asio.h"
#include "web/http/precheck.h"
#include "web/http/source_table.h"

namespace sg::web::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using Parser = bhttp::request_parser<bhttp::string_body>;
using SteadyClock = std::chrono::steady_clock;
using ErrorCode = boost::system::error_code;

namespace {

/// Bytes asked of the stream while waiting for the first byte of a keep-alive request.
constexpr std::size_t kFirstRead = 4096;
/// Read buffer slack above the header limit: the parser must see header_bytes + 1 to say 431
/// (header_limit) before the buffer itself is full.
constexpr std::size_t kBufferSlack = 8 * 1024;
/// After a failed accept (EMFILE, ENFILE, ENOBUFS): keep serving without spinning.
constexpr std::chrono::milliseconds kAcceptBackoff{100};

struct Counters {
    std::atomic<std::uint64_t> connections{0};
    std::atomic<std::uint64_t> active{0};
    std::atomic<std::uint64_t> rejected_connections{0};
    std::atomic<std::uint64_t> handshake_failures{0};
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> rejected_rate{0};
    std::atomic<std::uint64_t> rejected_size{0};
    std::atomic<std::uint64_t> rejected_overload{0};
    std::atomic<std::uint64_t> timeouts{0};
};

std::error_code to_std(const ErrorCode& ec) {
    // errno values (EADDRINUSE, EACCES) compare equal to std::errc this way.
    if (ec.category() == boost::system::system_category()) {
        return {ec.value(), std::generic_category()};
    }
    return ec;
}

/// A connection as the registry sees it: something stop() can close on its own strand.
class Connection {
public:
    virtual ~Connection() = default;
    /// Runs on executor(): ends the connection soon (pending I/O completes with an error).
    virtual void close() = 0;
    virtual core::Executor executor() = 0;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Impl: listeners, registry, counters, handler pool.

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

    core::Status listen(tcp::acceptor& acceptor, const std::string& address, std::uint16_t port,
                        const char* what);
    void spawn_loop(bool https);
    static core::Task<void> accept_loop(std::shared_ptr<Impl> self, bool https);
    void admit(tcp::socket socket, bool https);
    /// Registers a connection; false once stopping (the caller drops it).
    bool add(const std::shared_ptr<Connection>& c);
    /// The connection's coroutine has ended (on its strand).
    void finished(Connection* c, const Peer& peer);
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
    Counters counters_;
    std::atomic<std::size_t> backlog_{0};  // requests posted to the pool, not yet started
    std::atomic<bool> stopping_{false};

    core::Strand accept_strand_;  // the two acceptors, tls_ and both accept loops run here
    tcp::acceptor https_acceptor_;
    tcp::acceptor redirect_acceptor_;
    std::shared_ptr<ssl::context> tls_;  // for connections accepted from now on (CE-3)
    std::atomic<std::uint16_t> https_port_{0};
    std::atomic<std::uint16_t> redirect_port_{0};
    std::uint16_t redirect_to_ = 0;  // the HTTPS port the redirect names

    std::mutex mutex_;  // guards the three below
    std::unordered_map<Connection*, std::weak_ptr<Connection>> connections_;
    int loops_ = 0;
    std::function<void()> done_;

    asio::thread_pool pool_;  // last member: joined before anything it could use goes away
};

// ---------------------------------------------------------------------------------------------
// Handler dispatch: post to the pool, resume on the caller's strand with the response.

namespace {

template <typename Token>
auto async_handle(Server::Impl& impl, Request req, Peer peer, Token&& token) {
    return asio::async_initiate<Token, void(Response)>(
        [&impl](auto completion, Request r, Peer p) {
            // Keeps the io_context from running out of work while the handler runs.
            auto work = asio::make_work_guard(asio::get_associated_executor(completion));
            asio::post(impl.pool_, [&impl, completion = std::move(completion),
                                    work = std::move(work), r = std::move(r),
                                    p = std::move(p)]() mutable {
                // `impl` is alive: `completion` holds the coroutine that holds the connection
                // that holds the Impl. Nothing below the post touches impl.
                impl.backlog_.fetch_sub(1, std::memory_order_relaxed);
                Response res = impl.call_handler(std::move(r), p);
                asio::post(work.get_executor(),
                           [completion = std::move(completion), res = std::move(res)]() mutable {
                               std::move(completion)(std::move(res));
                           });
            });
        },
        token, std::move(req), std::move(peer));
}

enum class Read { request, closed, reply };
struct ReadResult {
    Read kind = Read::closed;
    bool graceful = false;  // closed: still worth a TLS close_notify (stop() while idle)
    Response reply;         // reply: send, then close
};

// ---------------------------------------------------------------------------------------------
// Session<Stream>: what HTTPS and redirect connections share — buffer, parser, deadlines.

template <typename Stream>
class Session : public Connection {
public:
    Session(std::shared_ptr<Server::Impl> impl, Stream stream, Peer peer)
        : impl_(std::move(impl)),
          stream_(std::move(stream)),
          buffer_(impl_->limits_.header_bytes + kBufferSlack),
          peer_(std::move(peer)) {}

    void close() override {
        closing_ = true;
        tcp().cancel();  // pending read/handshake completes with operation_aborted
    }
    core::Executor executor() override { return stream_.get_executor(); }
    const Peer& peer() const { return peer_; }

protected:
    beast::tcp_stream& tcp() { return beast::get_lowest_layer(stream_); }

    /// The one failure funnel: peers reset, close and stall all the time on a public port, so
    /// these are counted and logged at debug only.
    void fail(const ErrorCode& ec, const char* what) {
        if (ec == beast::error::timeout) {
            impl_->counters_.timeouts.fetch_add(1, std::memory_order_relaxed);
        }
        spdlog::debug("http {}: {}: {}", peer_.to_string(), what, ec.message());
    }

    ReadResult read_failed(const ErrorCode& ec, const char* what) {
        if (auto reply = parse_error_response(ec)) {
            if (reply->result() != bhttp::status::bad_request) {
                impl_->counters_.rejected_size.fetch_add(1, std::memory_order_relaxed);
            }
            fail(ec, what);
            return {Read::reply, false, std::move(*reply)};
        }
        fail(ec, what);
        // A timeout has closed the socket already; a peer that left gets no close_notify.
        return {Read::closed, closing_ && ec != beast::error::timeout, {}};
    }

    /// Reads one request into parser_ under the NE-6 deadlines. `first`: straight after the
    /// handshake (no idle phase). `read_body`: false for the redirect, which answers after the
    /// header and closes.
    core::Task<ReadResult> read_request(bool first, bool read_body) {
        const Limits& lim = impl_->limits_;
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(
            std::min<std::size_t>(lim.header_bytes, std::numeric_limits<std::uint32_t>::max())));
        parser_->body_limit(lim.body_bytes);
        if (closing_) co_return ReadResult{Read::closed, true, {}};

        if (!first && buffer_.size() == 0) {
            // Keep-alive: the next request may take idle_timeout to start; once its first byte
            // is here, the whole header must follow within header_timeout (slowloris).
            tcp().expires_after(lim.idle_timeout);
            auto [ec, n] =
                co_await stream_.async_read_some(buffer_.prepare(kFirstRead), core::use_nothrow);
            if (ec) {
                // Idle timeout and a client leaving are the normal end of keep-alive.
                spdlog::debug("http {}: idle: {}", peer_.to_string(), ec.message());
                co_return ReadResult{Read::closed, closing_, {}};
            }
            buffer_.commit(n);
        }

        tcp().expires_after(lim.header_timeout);
        if (auto [ec, n] =
                co_await bhttp::async_read_header(stream_, buffer_, *parser_, core::use_nothrow);
            ec) {
            co_return read_failed(ec, "read header");
        }
        if (auto reply = precheck(parser_->get(), lim)) {
            if (reply->result() == bhttp::status::payload_too_large) {
                impl_->counters_.rejected_size.fetch_add(1, std::memory_order_relaxed);
            }
            co_return ReadResult{Read::reply, false, std::move(*reply)};
        }
        if (read_body && !parser_->is_done()) {
            if (expects_continue(parser_->get())) {
                // Sizes are already checked (precheck), so the client may send the body.
                bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
                tcp().expires_after(lim.write_timeout);
                if (auto [ec, n] = co_await bhttp::async_write(stream_, cont, core::use_nothrow);
                    ec) {
                    fail(ec, "write 100-continue");
                    co_return ReadResult{Read::closed, false, {}};
                }
            }
            tcp().expires_after(lim.body_timeout);
            if (auto [ec, n] =
                    co_await bhttp::async_read(stream_, buffer_, *parser_, core::use_nothrow);
                ec) {
                co_return read_failed(ec, "read body");
            }
        }
        impl_->counters_.requests.fetch_add(1, std::memory_order_relaxed);
        co_return ReadResult{Read::request, false, {}};
    }

    /// Writes a finalized response under write_timeout; only the header for HEAD.
    core::Task<bool> write(Response& res, bool head_only) {
        tcp().expires_after(impl_->limits_.write_timeout);
        ErrorCode ec;
        if (head_only) {
            bhttp::response_serializer<bhttp::string_body> sr{res};
            std::tie(ec, std::ignore) =
                co_await bhttp::async_write_header(stream_, sr, core::use_nothrow);
        } else {
            std::tie(ec, std::ignore) =
                co_await bhttp::async_write(stream_, res, core::use_nothrow);
        }
        if (ec) fail(ec, "write");
        co_return !ec;
    }

    std::shared_ptr<Server::Impl> impl_;
    Stream stream_;
    beast::flat_buffer buffer_;  // bounded: header_bytes + slack (a body streams through it)
    std::optional<Parser> parser_;
    Peer peer_;
    bool closing_ = false;  // close() was called (stop)
};

using SslStream = beast::ssl_stream<beast::tcp_stream>;

class HttpsSession final : public Session<SslStream> {
public:
    HttpsSession(std::shared_ptr<Server::Impl> impl, tcp::socket socket,
                 std::shared_ptr<ssl::context> tls, Peer peer)
        : Session(std::move(impl), SslStream(beast::tcp_stream(std::move(socket)), *tls),
                  std::move(peer)),
          tls_(std::move(tls)) {}

    /// The connection's whole life. `self` keeps it alive for as long as the frame exists.
    static core::Task<void> run(std::shared_ptr<HttpsSession> self) { return self->serve(self); }

private:
    core::Task<void> serve(std::shared_ptr<HttpsSession> /*self*/) {
        Server::Impl& impl = *impl_;
        const Limits& lim = impl.limits_;
        if (closing_) co_return;  // stop() came first
        tcp().expires_after(lim.handshake_timeout);
        if (auto [ec] =
                co_await stream_.async_handshake(ssl::stream_base::server, core::use_nothrow);
            ec) {
            impl.counters_.handshake_failures.fetch_add(1, std::memory_order_relaxed);
            fail(ec, "handshake");
            co_return;
        }
        for (std::size_t served = 0;;) {
            ReadResult r = co_await read_request(served == 0, true);
            if (r.kind == Read::closed) {
                if (r.graceful) co_await shutdown();
                co_return;
            }
            if (r.kind == Read::reply) {  // refused before the handler: answer, then close
                finalize_response(r.reply, r.reply.version(), false);
                if (co_await write(r.reply, false)) co_await shutdown();
                co_return;
            }
            Request req = parser_->release();
            ++served;
            const unsigned version = req.version();
            const bool head = req.method() == bhttp::verb::head;
            const bool want_keep = req.keep_alive();
            Response res;
            if (auto wait = impl.sources_.take_token(peer_.address, SteadyClock::now())) {
                impl.counters_.rejected_rate.fetch_add(1, std::memory_order_relaxed);
                res = rate_limited_response(*wait, version, want_keep);
            } else if (!impl.reserve()) {
                impl.counters_.rejected_overload.fetch_add(1, std::memory_order_relaxed);
                res = overloaded_response(version, want_keep);
            } else {
                res = co_await async_handle(impl, std::move(req), peer_, asio::use_awaitable);
            }
            // The server alone decides keep-alive: error_response() marks its answers
            // "Connection: close" by default, and a 404 or 401 must not cost the client its
            // connection.
            const bool keep = want_keep && served < lim.max_requests_per_connection && !closing_ &&
                              !impl.stopping_.load();
            finalize_response(res, version, keep);
            if (!co_await write(res, head)) co_return;
            if (!keep) {
                co_await shutdown();
                co_return;
            }
        }
    }

    /// Bounded graceful TLS close: our close_notify out, the peer's in (or shutdown_timeout).
    core::Task<void> shutdown() {
        tcp().expires_after(impl_->limits_.shutdown_timeout);
        auto [ec] = co_await stream_.async_shutdown(core::use_nothrow);
        if (ec && ec != ssl::error::stream_truncated && ec != asio::error::eof) {
            fail(ec, "tls shutdown");
        }
        tcp().close();
    }

    std::shared_ptr<ssl::context> tls_;  // the context this connection was accepted with
};

class RedirectSession final : public Session<beast::tcp_stream> {
public:
    RedirectSession(std::shared_ptr<Server::Impl> impl, tcp::socket socket, Peer peer)
        : Session(std::move(impl), beast::tcp_stream(std::move(socket)), std::move(peer)) {}

    static core::Task<void> run(std::shared_ptr<RedirectSession> self) { return self->serve(self); }

private:
    core::Task<void> serve(std::shared_ptr<RedirectSession> /*self*/) {
        // WS-9: one answer per connection, never a cookie, never the handler.
        ReadResult r = co_await read_request(true, false);
        if (r.kind == Read::closed) co_return;
        Response res;
        unsigned version = 11;
        bool head = false;
        if (r.kind == Read::reply) {
            res = std::move(r.reply);
            version = res.version();
        } else {
            const Request& req = parser_->get();
            version = req.version();
            head = req.method() == bhttp::verb::head;
            res = redirect_response(req, impl_->redirect_to_);
        }
        finalize_response(res, version, false);
        (void)co_await write(res, head);
        ErrorCode ignored;
        tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
        tcp().close();
    }
};

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
                       if (e)
                           spdlog::error("{} accept loop ended by an exception",
                                         https ? "https" : "http redirect");
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
    counters_.connections.fetch_add(1, std::memory_order_relaxed);
    ErrorCode ec;
    const auto remote = socket.remote_endpoint(ec);
    if (ec) return;  // already gone; the socket closes with this scope
    Peer peer{normalize(remote.address()), remote.port()};
    // NE-5: beyond the caps the connection is closed at once, before any byte is read and
    // before TLS (a handshake costs CPU; a refused source must not be able to spend ours).
    // Only this strand increments `active`, so check-then-increment cannot overshoot.
    if (stopping_ || counters_.active.load() >= limits_.max_connections ||
        !sources_.try_connect(peer.address, SteadyClock::now())) {
        counters_.rejected_connections.fetch_add(1, std::memory_order_relaxed);
        spdlog::debug("http {}: refused: connection limit", peer.to_string());
        socket.close(ec);
        return;
    }
    counters_.active.fetch_add(1, std::memory_order_relaxed);
    socket.set_option(tcp::no_delay(true), ec);  // responses go out whole; no Nagle delay
    const auto exec = socket.get_executor();
    auto finish = [self = shared_from_this()](Connection* c, const Peer& p,
                                              const std::exception_ptr& e) {
        if (e) spdlog::error("http {}: connection ended by an exception", p.to_string());
        self->finished(c, p);
    };
    if (https) {
        auto s = std::make_shared<HttpsSession>(shared_from_this(), std::move(socket), tls_, peer);
        if (!add(s)) return finished(s.get(), peer);
        asio::co_spawn(exec, HttpsSession::run(s),
                       [s, finish](const std::exception_ptr& e) { finish(s.get(), s->peer(), e); });
    } else {
        auto s = std::make_shared<RedirectSession>(shared_from_this(), std::move(socket), peer);
        if (!add(s)) return finished(s.get(), peer);
        asio::co_spawn(exec, RedirectSession::run(s),
                       [s, finish](const std::exception_ptr& e) { finish(s.get(), s->peer(), e); });
    }
}

bool Server::Impl::add(const std::shared_ptr<Connection>& c) {
    const std::lock_guard lock(mutex_);
    if (stopping_) return false;
    connections_.emplace(c.get(), c);
    return true;
}

void Server::Impl::finished(Connection* c, const Peer& peer) {
    sources_.disconnect(peer.address, SteadyClock::now());
    counters_.active.fetch_sub(1, std::memory_order_relaxed);
    {
        const std::lock_guard lock(mutex_);
        connections_.erase(c);
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
    std::vector<std::shared_ptr<Connection>> open;
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
    std::vector<std::shared_ptr<Connection>> open;
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
                           std::shared_ptr<ssl::context> tls) {
    if (!tls) return core::make_error(core::Errc::invalid_config, "https: no TLS context");
    if (auto st = impl_->listen(impl_->https_acceptor_, address, port, "https"); !st) return st;
    impl_->tls_ = std::move(tls);
    ErrorCode ec;
    impl_->https_port_ = impl_->https_acceptor_.local_endpoint(ec).port();
    impl_->spawn_loop(true);
    return {};
}

std::uint16_t Server::local_port() const {
    return impl_->https_port_.load();
}

void Server::set_tls_context(std::shared_ptr<ssl::context> tls) {
    if (!tls) return;
    asio::post(impl_->accept_strand_,
               [impl = impl_, tls = std::move(tls)]() mutable { impl->tls_ = std::move(tls); });
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
    const Counters& c = impl_->counters_;
    return {.connections = c.connections.load(),
            .active = c.active.load(),
            .rejected_connections = c.rejected_connections.load(),
            .handshake_failures = c.handshake_failures.load(),
            .requests = c.requests.load(),
            .rejected_rate = c.rejected_rate.load(),
            .rejected_size = c.rejected_size.load(),
            .rejected_overload = c.rejected_overload.load(),
            .timeouts = c.timeouts.load()};
}

}  // namespace sg::web::http
