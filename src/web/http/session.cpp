// session.cpp: one management-plane connection, as a coroutine on its own strand (STYLE.md
// §3.3-3.5). Started by Server::Impl::admit() on the accept strand via start_session(). HTTPS:
// TLS handshake, then per request read → precheck → token bucket → handler on the pool → write,
// each read and write under its NE-6 deadline (beast::tcp_stream::expires_after: the deadline
// covers the whole composed operation, so one byte per second does not extend it; the body's
// deadline moves with the bytes received, body_deadline()). Redirect (WS-9): one request on plain
// TCP, answered 301 without the handler, then closed. Every refusal and cut is counted by kind
// (counters.h).
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <limits>
#include <optional>

#include "web/http/precheck.h"
#include "web/http/server_impl.h"
#include "web/http/websocket.h"

namespace sg::web::http::detail {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
namespace websocket = boost::beast::websocket;
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
/// WebSocket (issue 13 item 4): a message the browser sends is read and dropped; none of ours is
/// larger than a control frame's worth.
constexpr std::size_t kWsReadMax = 4096;
/// A WebSocket message not taken by the browser within this ends the connection: a client that
/// stops reading altogether does not keep a connection slot forever (its monitor loses frames,
/// counted, meanwhile).
constexpr std::chrono::seconds kWsWriteTimeout{20};
/// The kernel's send buffer of a WebSocket connection: bounded, so a browser that reads slowly
/// shows as lost monitor frames (counted and reported) rather than megabytes held in the kernel.
constexpr int kWsSendBuffer = 64 * 1024;
/// Issue 13 item 4: a WebSocket from which nothing (not even a pong) came for this long is dead
/// and ends; after half of it without a frame from the client, the server pings. A monitor keeps
/// its web session from going idle only while its socket is alive, and this says when it is not
/// (a browser answers pings by itself, from a hidden tab too).
constexpr std::chrono::seconds kWsIdleTimeout{60};

// Handler dispatch: post to the pool, resume on the caller's strand with the response.
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
    /// these are counted and logged at debug only. `timeouts`: the counter of the phase whose
    /// deadline this was.
    void fail(const ErrorCode& ec, const char* what, Counters::Counter& timeouts) {
        if (ec == beast::error::timeout) {
            Counters::bump(timeouts);
            // NE-6 deadlines are a DoS refusal class too (AU-2), logged like the others.
            impl_->dos_refused(peer_, "https", std::string(what) + ": deadline passed");
        }
        spdlog::debug("http {}: {}: {}", peer_.to_string(), what, ec.message());
    }

    /// 431 and 413 found by the parser, or precheck()'s 413: counted by kind.
    void count_refusal(const Response& reply) {
        if (reply.result() == bhttp::status::request_header_fields_too_large) {
            Counters::bump(impl_->counters_.header_too_large);
            impl_->dos_refused(peer_, "https", "request headers too large (431)");
        } else if (reply.result() == bhttp::status::payload_too_large) {
            Counters::bump(impl_->counters_.body_too_large);
            impl_->dos_refused(peer_, "https", "request body too large (413)");
        }
    }

    ReadResult read_failed(const ErrorCode& ec, const char* what, Counters::Counter& timeouts) {
        if (auto reply = parse_error_response(ec)) {
            count_refusal(*reply);
            fail(ec, what, timeouts);
            return {Read::reply, false, std::move(*reply)};
        }
        fail(ec, what, timeouts);
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
                if (ec == beast::error::timeout) Counters::bump(impl_->counters_.timeout_idle);
                spdlog::debug("http {}: idle: {}", peer_.to_string(), ec.message());
                co_return ReadResult{Read::closed, closing_, {}};
            }
            buffer_.commit(n);
        }

        tcp().expires_after(lim.header_timeout);
        if (auto [ec, n] =
                co_await bhttp::async_read_header(stream_, buffer_, *parser_, core::use_nothrow);
            ec) {
            co_return read_failed(ec, "read header", impl_->counters_.timeout_header);
        }
        if (auto reply = precheck(parser_->get(), lim)) {
            count_refusal(*reply);
            co_return ReadResult{Read::reply, false, std::move(*reply)};
        }
        if (read_body && !parser_->is_done()) {
            if (expects_continue(parser_->get())) {
                // Sizes are already checked (precheck), so the client may send the body.
                bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
                tcp().expires_after(lim.write_timeout);
                if (auto [ec, n] = co_await bhttp::async_write(stream_, cont, core::use_nothrow);
                    ec) {
                    fail(ec, "write 100-continue", impl_->counters_.timeout_write);
                    co_return ReadResult{Read::closed, false, {}};
                }
            }
            // NE-6: at least body_min_bytes_per_second, at most body_timeout in all. The deadline
            // is re-armed after each read from the bytes received so far: a client trickling
            // a byte now and then does not extend it beyond what the rate allows.
            const auto header_done = SteadyClock::now();
            while (!parser_->is_done()) {
                tcp().expires_at(body_deadline(lim, header_done, parser_->get().body().size()));
                if (auto [ec, n] = co_await bhttp::async_read_some(stream_, buffer_, *parser_,
                                                                   core::use_nothrow);
                    ec) {
                    co_return read_failed(ec, "read body", impl_->counters_.timeout_body);
                }
            }
        }
        Counters::bump(impl_->counters_.requests);
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
        if (ec) fail(ec, "write", impl_->counters_.timeout_write);
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

    /// The connection's whole life. serve()'s copy of `self` keeps it alive for as long as the
    /// coroutine frame exists.
    static core::Task<void> run(const std::shared_ptr<HttpsSession>& self) {
        return self->serve(self);
    }

private:
    core::Task<void> serve(std::shared_ptr<HttpsSession> self) {
        Server::Impl& impl = *impl_;
        const Limits& lim = impl.limits_;
        if (closing_) co_return;  // stop() came first
        tcp().expires_after(lim.handshake_timeout);
        if (auto [ec] =
                co_await stream_.async_handshake(ssl::stream_base::server, core::use_nothrow);
            ec) {
            Counters::bump(impl.counters_.handshake_failures);
            fail(ec, "handshake", impl.counters_.timeout_handshake);
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
            // Issue 13 item 4: a WebSocket upgrade goes to the handler like any request, with a
            // place for the feed; the header is kept for the accept (the body is empty).
            std::optional<Upgrade> upgrade;
            std::optional<Request> upgrade_req;
            if (websocket::is_upgrade(req)) {
                upgrade.emplace();
                upgrade_req.emplace(req);
            }
            Response res;
            if (auto wait = impl.sources_.take_token(peer_.address, SteadyClock::now())) {
                Counters::bump(impl.counters_.too_many_requests_source);
                impl.dos_refused(peer_, "https", "request rate (429)");
                res = rate_limited_response(*wait, version, want_keep);
            } else if (!impl.reserve()) {
                Counters::bump(impl.counters_.overloaded_queue);
                impl.dos_refused(peer_, "https", "request queue full (503)");
                res = overloaded_response(version, want_keep);
            } else {
                Peer peer = peer_;
                peer.upgrade = upgrade ? &*upgrade : nullptr;
                res = co_await async_handle(impl, std::move(req), std::move(peer),
                                            asio::use_awaitable);
            }
            if (upgrade && upgrade->feed && res.result() == bhttp::status::switching_protocols) {
                co_await run_websocket(self, std::move(*upgrade_req), std::move(upgrade->feed));
                co_return;
            }
            if (res.result() == bhttp::status::switching_protocols) {
                // A 101 without a feed would leave the client waiting on a dead protocol.
                res = error_response(bhttp::status::internal_server_error, "internal_error");
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

    /// Issue 13 item 4: the rest of the connection as a WebSocket fed by `feed`. The writer (this
    /// coroutine) polls the feed every poll_interval and sends what it gives; a reader coroutine
    /// beside it reads and drops what the browser sends (it must read for ping, pong and close).
    /// Each write runs under kWsWriteTimeout; the connection ends on the feed's close, a read or
    /// write error, close() (stop, allowlist) or the deadline. feed->ended() is called once.
    core::Task<void> run_websocket(std::shared_ptr<HttpsSession> self, Request req,
                                   std::shared_ptr<WebSocketFeed> feed) {
        ws_.emplace(stream_);
        ws_->read_message_max(kWsReadMax);
        ws_->set_option(websocket::stream_base::decorator([](websocket::response_type& r) {
            // No security header is missing from the 101 either (WS-5, WS-6).
            Response headers;
            add_security_headers(headers);
            for (const auto& f : headers) r.set(f.name_string(), f.value());
        }));
        tcp().expires_after(impl_->limits_.write_timeout);
        if (auto [ec] = co_await ws_->async_accept(req, core::use_nothrow); ec) {
            fail(ec, "websocket accept", impl_->counters_.timeout_write);
            feed->ended("websocket handshake failed");
            tcp().close();
            co_return;
        }
        tcp().expires_never();
        websocket::stream_base::timeout idle{};
        idle.handshake_timeout = websocket::stream_base::none();  // done, under write_timeout
        idle.idle_timeout = kWsIdleTimeout;
        idle.keep_alive_pings = true;
        ws_->set_option(idle);
        ErrorCode ignored;
        tcp().socket().set_option(asio::socket_base::send_buffer_size(kWsSendBuffer), ignored);
        ws_tick_.emplace(executor());
        asio::co_spawn(executor(), ws_reader(self), [self](const std::exception_ptr&) {});
        std::string why = "server stopping";
        for (;;) {
            if (closing_) break;
            if (ws_closed_) {
                why = ws_why_;
                break;
            }
            ws_tick_->expires_after(feed->poll_interval());
            (void)co_await ws_tick_->async_wait(core::use_nothrow);
            if (closing_ || ws_closed_) continue;
            WebSocketFeed::Step step = feed->poll();
            if (!step.text.empty()) {
                ws_->text(true);
                tcp().expires_after(kWsWriteTimeout);
                auto [ec, n] =
                    co_await ws_->async_write(asio::buffer(step.text), core::use_nothrow);
                tcp().expires_never();
                if (ec) {
                    why = ec == beast::error::timeout ? "write timeout (the client stopped reading)"
                                                      : "write failed: " + ec.message();
                    if (!ws_closed_) fail(ec, "websocket write", impl_->counters_.timeout_write);
                    if (ws_closed_) why = ws_why_;
                    break;
                }
            }
            if (step.close) {
                // The feed's session is over now, whatever the client does with the close.
                feed->ended(step.reason);
                feed.reset();
                tcp().expires_after(impl_->limits_.shutdown_timeout);
                websocket::close_reason cr;
                cr.code = step.code;  // close_reason takes codes beyond the enum's (4000+)
                cr.reason = step.reason;
                // The close waits for the peer's close frame behind the reader's pending read,
                // which the expiry above does not cover (it was started before): a peer that
                // never answers held the connection, and so serve's stop, for ever. The socket
                // is closed when the bound passes.
                asio::steady_timer bound(executor());
                bound.expires_after(impl_->limits_.shutdown_timeout);
                bound.async_wait([this, self](const ErrorCode& ec) {
                    if (ec) return;
                    ErrorCode unused;
                    tcp().socket().close(unused);
                });
                (void)co_await ws_->async_close(cr, core::use_nothrow);
                bound.cancel();
                break;
            }
        }
        if (feed) feed->ended(why);
        tcp().close();  // the reader ends too (it holds `self` until then)
    }

    core::Task<void> ws_reader(std::shared_ptr<HttpsSession> /*self*/) {
        beast::flat_buffer in;
        for (;;) {
            auto [ec, n] = co_await ws_->async_read(in, core::use_nothrow);
            if (ec) {
                ws_why_ = ec == websocket::error::closed ? "closed by the client"
                                                         : "read failed: " + ec.message();
                ws_closed_ = true;
                if (ws_tick_) ws_tick_->cancel();
                co_return;
            }
            in.consume(in.size());  // read-only: what the browser sends is dropped
        }
    }

    /// Bounded graceful TLS close: our close_notify out, the peer's in (or shutdown_timeout).
    core::Task<void> shutdown() {
        tcp().expires_after(impl_->limits_.shutdown_timeout);
        auto [ec] = co_await stream_.async_shutdown(core::use_nothrow);
        if (ec && ec != ssl::error::stream_truncated && ec != asio::error::eof) {
            fail(ec, "tls shutdown", impl_->counters_.timeout_write);
        }
        tcp().close();
    }

    std::shared_ptr<ssl::context> tls_;  // the context this connection was accepted with
    // Issue 13 item 4: set once the connection became a WebSocket.
    std::optional<websocket::stream<SslStream&>> ws_;
    std::optional<asio::steady_timer> ws_tick_;  // the writer's poll timer
    bool ws_closed_ = false;                     // the reader has ended
    std::string ws_why_;                         // why it ended
};

class RedirectSession final : public Session<beast::tcp_stream> {
public:
    RedirectSession(std::shared_ptr<Server::Impl> impl, tcp::socket socket, Peer peer)
        : Session(std::move(impl), beast::tcp_stream(std::move(socket)), std::move(peer)) {}

    static core::Task<void> run(const std::shared_ptr<RedirectSession>& self) {
        return self->serve(self);
    }

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

void start_session(const std::shared_ptr<Server::Impl>& impl, tcp::socket socket, const Peer& peer,
                   bool https) {
    const auto exec = socket.get_executor();
    auto finish = [impl](Connection* c, const Peer& p, const std::exception_ptr& e) {
        if (e) spdlog::error("http {}: connection ended by an exception", p.to_string());
        impl->finished(c, p);
    };
    if (https) {
        auto s = std::make_shared<HttpsSession>(impl, std::move(socket), impl->tls_, peer);
        if (!impl->add(s, peer.address)) return impl->finished(s.get(), peer);
        asio::co_spawn(exec, HttpsSession::run(s),
                       [s, finish](const std::exception_ptr& e) { finish(s.get(), s->peer(), e); });
    } else {
        auto s = std::make_shared<RedirectSession>(impl, std::move(socket), peer);
        if (!impl->add(s, peer.address)) return impl->finished(s.get(), peer);
        asio::co_spawn(exec, RedirectSession::run(s),
                       [s, finish](const std::exception_ptr& e) { finish(s.get(), s->peer(), e); });
    }
}

}  // namespace sg::web::http::detail
