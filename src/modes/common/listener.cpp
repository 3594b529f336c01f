// listener.cpp: accept loops, session list and stop of the listening modes (listener.h). Called
// by the mode on the port strand: start() (accept, spawn), the accept callbacks, stop().
#include "modes/common/listener.h"

#include <algorithm>

#include "modes/common/tcp_options.h"

namespace sg::modes::common {

using asio::ip::tcp;

void Listener::accept(tcp::acceptor& acceptor, AcceptRules rules) {
    acceptors_.push_back(&acceptor);
    std::string failure = rules.failure;
    spawn(accept_loop(acceptor, std::move(rules)), std::move(failure));
}

void Listener::spawn(core::Task<void> task, std::string failure, std::function<void()> then) {
    ++running_;
    asio::co_spawn(
        ctx_.strand, std::move(task),
        [this, failure = std::move(failure), then = std::move(then)](const std::exception_ptr& e) {
            if (e) ctx_.events.emit(events::types::kModeFailed, {.port = ctx_.id}, failure);
            if (then) then();
            --running_;
            settle();
        });
}

core::Task<void> Listener::accept_loop(tcp::acceptor& acceptor, AcceptRules rules) {
    for (;;) {
        // The peer's address as accept(2) returns it: a peer that has already reset has no
        // address left for getpeername (remote_endpoint), and judged as the unspecified address
        // a reset flood got a second rate allowance of its own (bench/run --dos found 40/s through
        // a limit of 20/s). accept(2) still knows who it was.
        tcp::endpoint peer;
        auto [ec, socket] = co_await acceptor.async_accept(peer, core::use_nothrow);
        if (ec) {
            if (stopping_ || ec == asio::error::operation_aborted) co_return;
            // EMFILE and friends: log, back off a little, keep serving.
            ctx_.events.emit(events::types::kModeFailed, {.port = ctx_.id},
                             rules.error_prefix + ": " + ec.message());
            asio::steady_timer t(ctx_.strand, std::chrono::milliseconds(100));
            (void)co_await t.async_wait(core::use_nothrow);
            continue;
        }
        if (stopping_) continue;  // accepted before the close took effect: not served
        const auto source = peer.address();
        if (!ctx_.allowed(source)) {
            // NE-2, SD-3: refused before any byte is read or written, with RST (SO_LINGER 0) so
            // the refused source learns nothing and leaves no TIME_WAIT with us; counted and
            // logged rate-limited (AU-2). A peer already gone has the unspecified address.
            boost::system::error_code ignored;
            ctx_.refused_by_allowlist(source, acceptor.local_endpoint(ignored).port());
            reset_now(socket);
            continue;
        }
        if (ctx_.dos != nullptr) {
            // Guide §3.7, NE-5: the source's connection rate and its connections open on this
            // port, before a session is made; refused like the allowlist does (RST, no byte),
            // counted in refused_dos and logged rate-limited. The port's own table: a flood here
            // costs other ports nothing.
            if (const auto verdict = ctx_.dos->admit_connection(source, open_from(source));
                verdict != security::dos::Verdict::ok) {
                boost::system::error_code ignored;
                ctx_.refused_by_dos(source, acceptor.local_endpoint(ignored).port(), verdict);
                reset_now(socket);
                continue;
            }
        }
        if (auto why = rules.refusal()) {
            refuse(socket, std::move(*why));
            continue;
        }
        if (rules.security == config::Security::Plain) {
            rules.take(Stream(std::move(socket), peer));
            continue;
        }
        // Secure Connection: the context in force now (CE-3), a bounded number of handshakes.
        auto tls = ctx_.server_tls(rules.security);
        if (!tls) {
            boost::system::error_code ignored;
            tls_refused(source, acceptor.local_endpoint(ignored).port(),
                        "no device certificate in force");
            close_now(socket);
            continue;
        }
        if (handshaking_.size() >= kMaxHandshakes) {
            refuse(socket, std::to_string(kMaxHandshakes) + " TLS handshakes already under way");
            continue;
        }
        boost::system::error_code ignored;
        const std::uint16_t port = acceptor.local_endpoint(ignored).port();
        if (!ctx_.admit_handshake(source, port)) {
            // NE-5: a handshake costs us an asymmetric-key operation; its own per-source rate
            // (counted and logged by admit_handshake).
            reset_now(socket);
            continue;
        }
        spawn(handshake(Stream(std::move(socket), std::move(tls), peer), port, rules.refusal,
                        rules.take),
              rules.failure);
    }
}

void Listener::refuse(tcp::socket& socket, std::string why) {
    // Refused politely: accepted and closed at once with FIN, so the client sees EOF rather than a
    // timeout, and the event log says why (rate-limited: item 5).
    ctx_.stats.refused.fetch_add(1, std::memory_order_relaxed);
    ctx_.events.emit_limited(events::types::kRefused,
                             {.port = ctx_.id, .source = peer_string(socket)}, std::move(why),
                             kConnectionEventLimit);
    close_now(socket);
}

void Listener::tls_refused(const asio::ip::address& source, std::uint16_t listener_port,
                           const std::string& why) {
    ctx_.stats.refused_tls.fetch_add(1, std::memory_order_relaxed);
    ctx_.events.emit_limited(
        events::types::kTlsRefused, {.port = ctx_.id, .source = source.to_string()},
        "port " + std::to_string(ctx_.id) + " (" + std::to_string(listener_port) + "): " + why,
        kTlsEventLimit);
}

core::Task<void> Listener::handshake(Stream stream, std::uint16_t listener_port,
                                     std::function<std::optional<std::string>()> refusal,
                                     std::function<void(Stream)> take) {
    const auto source = peer_address(stream);
    handshaking_.push_back(&stream);
    const auto it = std::prev(handshaking_.end());
    const std::error_code ec = co_await stream.handshake(asio::ssl::stream_base::server);
    handshaking_.erase(it);
    if (stopping_) {
        stream.close();
        co_return;
    }
    if (ec) {
        tls_refused(source, listener_port, "TLS handshake failed: " + tls_failure(stream, ec));
        stream.close();
        co_return;
    }
    if (auto why = refusal()) {  // the limit may have been reached during the handshake
        refuse(stream.socket(), std::move(*why));
        co_return;
    }
    take(std::move(stream));
}

asio::ip::address unmapped(const asio::ip::address& a) {
    if (a.is_v6() && a.to_v6().is_v4_mapped()) {
        return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    }
    return a;
}

std::size_t Listener::open_from(const asio::ip::address& source) const {
    const auto a = unmapped(source);
    const auto n = std::count_if(sessions_.begin(), sessions_.end(), [&](const SessionBase* s) {
        return !s->ended() && unmapped(s->address()) == a;
    });
    // Connections still in their TLS handshake are the source's too (not yet sessions).
    const auto shaking = std::count_if(handshaking_.begin(), handshaking_.end(), [&](Stream* st) {
        return unmapped(peer_address(*st)) == a;
    });
    return static_cast<std::size_t>(n + shaking) + owner_.other_connections_from(a);
}

void Listener::revoke(const std::function<bool(const asio::ip::address&)>& allowed) {
    for (Stream* h : std::vector<Stream*>(handshaking_.begin(), handshaking_.end())) {
        if (!allowed(peer_address(*h))) h->close();
    }
    // A copy: a session that ends at once leaves the list while we walk it.
    for (SessionBase* s : std::vector<SessionBase*>(sessions_.begin(), sessions_.end())) {
        if (!s->ended() && !allowed(s->address())) s->end();
    }
}

void Listener::revoke() {
    revoke([this](const asio::ip::address& a) { return ctx_.allowed(a); });
}

void Listener::connected(const std::string& peer, std::string text) {
    ctx_.stats.connections.fetch_add(1, std::memory_order_relaxed);  // every one (item 5)
    last_connect_logged_ =
        ctx_.events.emit_limited(events::types::kConnected, {.port = ctx_.id, .source = peer},
                                 std::move(text), kConnectionEventLimit);
}

void Listener::stop(std::function<void()> done, const std::function<void()>& before_drain) {
    stopping_ = true;
    done_ = std::move(done);
    boost::system::error_code ignored;
    for (tcp::acceptor* a : acceptors_) a->close(ignored);
    for (Stream* h : handshaking_) h->close();  // their coroutines see stopping_ and end
    if (before_drain) before_drain();
    // A copy: a session that ends at once leaves the list while we walk it.
    for (SessionBase* s : std::vector<SessionBase*>(sessions_.begin(), sessions_.end())) {
        s->drain();
    }
    settle();
}

void Listener::settle() {
    if (!stopping_ || !done_ || running_ != 0 || !sessions_.empty() || owner_.busy()) return;
    owner_.stopped();
    auto done = std::move(done_);
    done_ = nullptr;
    asio::post(ctx_.strand, std::move(done));
}

void Listener::failure(const std::string& what) {
    ctx_.events.emit(events::types::kModeFailed, {.port = ctx_.id},
                     what + " ended by an unexpected exception");
}

void Listener::session_ended(SessionBase& session) {
    sessions_.remove(&session);
    owner_.session_ended(session);
    settle();
}

}  // namespace sg::modes::common
