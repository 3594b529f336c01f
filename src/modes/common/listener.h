// listener.h: the network side every listening mode (TCP Server, Real COM, RFC 2217, Pair slave)
// shares, owned by the mode: accept loops that refuse connections past the mode's limit, the
// list of accepted sessions, and the stop — close the acceptors, drain every session, call done
// once every session, loop and whatever else the mode reports busy has ended (Mode::stop()).
// What a connection carries stays in the mode and its Session. On the port strand; no locks.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <optional>
#include <string>
#include <vector>

#include "core/asio.h"
#include "events/rate_limit.h"
#include "modes/common/session_base.h"
#include "modes/mode.h"

namespace sg::modes::common {

/// Issue 14 item 5: connection events (serial.connected, .disconnected, .refused) are what anyone
/// who reaches a port can cause, thousands a second. Per port and source address, the first 10 in
/// a minute are written one by one (a client that reconnects now and then keeps its full trail),
/// further ones are counted into one summary per minute (events/rate_limit.h). The port monitor's
/// counters (connections, refused) still count every one.
inline constexpr events::Limit kConnectionEventLimit{.burst = 10,
                                                     .period = std::chrono::seconds(60)};

/// TLS handshakes one Listener runs at a time (Secure Connection): more are refused at accept. A
/// handshake ends within kHandshakeTimeout, so a stalled peer holds a slot for at most that long.
inline constexpr std::size_t kMaxHandshakes = 16;

/// Secure Connection failures (handshake, mutual-TLS refusal) per port and source address: the
/// first few in a minute are written, the rest counted (anyone who reaches a port causes them).
inline constexpr events::Limit kTlsEventLimit{.burst = 5, .period = std::chrono::seconds(60)};
/// "::ffff:10.0.0.1" → 10.0.0.1: one source whichever socket family saw it (NE-5 per-source
/// counts).
asio::ip::address unmapped(const asio::ip::address& a);

/// How one accept loop treats what its acceptor accepts.
struct AcceptRules {
    /// Why a new connection is refused now, or nullopt to take it; asked for each one. A refused
    /// connection is accepted and closed at once (FIN, so the client sees EOF rather than a
    /// timeout), counted in serial refused and logged with this text.
    std::function<std::optional<std::string>()> refusal;
    /// Takes a connection that was not refused (under TLS, once its handshake succeeded, and
    /// `refusal` asked again then): the mode makes its session or channel.
    std::function<void(Stream)> take;
    /// Start of the event text when accept itself fails (EMFILE and friends).
    std::string error_prefix = "accept";
    /// The event text if the loop ends by an exception (our bug).
    std::string failure = "accept loop ended by an unexpected exception";
    /// Secure Connection: the level of this listener's port. Not plain: each accepted connection
    /// takes PortContext::server_tls() at accept (CE-3: a new certificate applies to new
    /// connections) and must complete a TLS handshake — after the allowlist and `refusal`, which
    /// still refuse before any byte.
    config::Security security = config::Security::Plain;
};

class Listener {
public:
    /// What the listener asks of its mode.
    class Owner {
    public:
        /// A session's last coroutine has ended: its Disconnected event is out and it is no
        /// longer in sessions(). Runs before the stop looks whether anything is left.
        virtual void session_ended(SessionBase& session) = 0;
        /// Something else of the mode still runs (a timer wait, a command channel): a stop waits
        /// for it; the mode calls settle() once it has ended.
        virtual bool busy() const { return false; }
        /// The stop is complete: runs right before `done` is posted (release the serial reads).
        virtual void stopped() {}
        /// NE-5: the mode's open connections from `source` that are not sessions() (command
        /// channels), for the per-source cap (serial_dos.max_connections_per_source).
        virtual std::size_t other_connections_from(const asio::ip::address& /*source*/) const {
            return 0;
        }

    protected:
        ~Owner() = default;
    };

    Listener(PortContext& ctx, Owner& owner) : ctx_(ctx), owner_(owner) {}

    PortContext& ctx() { return ctx_; }
    bool stopping() const { return stopping_; }

    /// Runs an accept loop on `acceptor`, which already listens (common::listen). stop() closes
    /// it; a connection accepted while stopping is closed unseen.
    void accept(asio::ip::tcp::acceptor& acceptor, AcceptRules rules);
    /// Runs one of the mode's own coroutines (a connect loop, a session's serve); stop() waits
    /// for it. `failure` is the event text if it ends by an exception; `then` runs when it ended.
    void spawn(core::Task<void> task, std::string failure, std::function<void()> then = {});

    /// Counts an accepted connection and logs it (Connected, with `text` when given), limited by
    /// kConnectionEventLimit. The mode then makes the connection's session, which reads
    /// last_connect_logged() to write its Disconnected only if its Connected was written.
    void connected(const std::string& peer, std::string text = {});
    bool last_connect_logged() const { return last_connect_logged_; }
    /// NE-4: ends at once (SessionBase::end) every session whose peer `allowed` refuses; the
    /// no-argument form asks the port's allowlist. The mode ends its other connections itself.
    void revoke(const std::function<bool(const asio::ip::address&)>& allowed);
    void revoke();
    /// NE-5: connections open now from `source` (IPv4-mapped or not): sessions() not ended plus
    /// the owner's other_connections_from().
    std::size_t open_from(const asio::ip::address& source) const;
    /// Lists a session made by a `take` (in order of acceptance); the mode starts it.
    void add(SessionBase& session) { sessions_.push_back(&session); }
    const std::list<SessionBase*>& sessions() const { return sessions_; }
    /// The sessions as the mode's own type (every session of a mode is of its Session type): a
    /// forward range over sessions() that yields S*. (Not std::views::transform: clang-tidy 14
    /// cannot parse libstdc++ 12's views, and the gate would skip every file that uses this.)
    template <class S>
    class SessionsAs {
    public:
        class iterator {
        public:
            using value_type = S*;
            using difference_type = std::ptrdiff_t;
            iterator() = default;
            explicit iterator(std::list<SessionBase*>::const_iterator it) : it_(it) {}
            S* operator*() const { return static_cast<S*>(*it_); }
            iterator& operator++() {
                ++it_;
                return *this;
            }
            iterator operator++(int) {
                iterator was = *this;
                ++it_;
                return was;
            }
            bool operator==(const iterator&) const = default;

        private:
            std::list<SessionBase*>::const_iterator it_;
        };
        explicit SessionsAs(const std::list<SessionBase*>& list) : list_(list) {}
        iterator begin() const { return iterator(list_.begin()); }
        iterator end() const { return iterator(list_.end()); }

    private:
        const std::list<SessionBase*>& list_;
    };
    template <class S>
    SessionsAs<S> sessions_as() const {
        return SessionsAs<S>(sessions_);
    }

    /// Mode::stop(): closes the acceptors, runs `before_drain` (what a packer holds goes out),
    /// drains every session and posts `done` once nothing is left (settle()).
    void stop(std::function<void()> done, const std::function<void()>& before_drain = {});
    /// Something a stop waits for has ended: posts done if it was the last. Cheap; idempotent.
    void settle();

    /// Logs "<what> ended by an unexpected exception".
    void failure(const std::string& what);
    /// Called by SessionBase when its last coroutine has ended.
    void session_ended(SessionBase& session);

private:
    core::Task<void> accept_loop(asio::ip::tcp::acceptor& acceptor, AcceptRules rules);
    /// A TLS connection's server handshake; then AcceptRules::take, or the failure counted and
    /// logged (rate-limited, never a payload byte).
    core::Task<void> handshake(Stream stream, std::uint16_t listener_port,
                               std::function<std::optional<std::string>()> refusal,
                               std::function<void(Stream)> take);
    /// Refused politely (max connections): counted in refused, logged rate-limited, closed.
    void refuse(asio::ip::tcp::socket& socket, std::string why);
    /// A Secure Connection failure on `listener_port`: counted in refused_tls, logged
    /// rate-limited per source (security.tls_refused).
    void tls_refused(const asio::ip::address& source, std::uint16_t listener_port,
                     const std::string& why);

    PortContext& ctx_;
    Owner& owner_;
    std::vector<asio::ip::tcp::acceptor*> acceptors_;  // closed by stop()
    std::list<SessionBase*> sessions_;                 // in order of acceptance
    std::list<Stream*> handshaking_;                   // TLS handshakes under way
    std::function<void()> done_;
    int running_ = 0;  // accept loops and other coroutines of the mode
    bool stopping_ = false;
    bool last_connect_logged_ = true;  // of the latest connected()
};

}  // namespace sg::modes::common
