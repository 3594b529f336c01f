// pair_mode.cpp: Pair Connection master and slave. Created by the Port on its strand; the accept
// loop (slave) or the connect loop (master), the one Session and its coroutines run on that
// strand (no locks).
//
// Slave: listens on local_port; one master at a time, a second connection is accepted and closed
// at once (serial.refused), as is a peer that does not complete the HELLO exchange.
// Master: connects to host:port, resolving a name on every attempt; while the slave is down it
// retries with exponential backoff (0.5 s doubling to 10 s) and logs serial.unreachable once per
// outage.
// Both: until a peer is established, and again after it left, RTS and DTR are dropped — the
// far end of the "cable" is unplugged — and serial data is dropped, as the device does with no
// connection.
#include "modes/pair/pair_mode.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "core/limits.h"
#include "modes/common/backoff.h"
#include "modes/common/connect.h"
#include "modes/common/listener.h"
#include "modes/common/read_pause.h"
#include "modes/common/secure_connect.h"
#include "modes/common/tcp_options.h"
#include "modes/pair/pair_session.h"

namespace sg::modes::pair {

namespace {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

class PairMode final : public Mode, public SessionOwner, public common::Listener::Owner {
public:
    PairMode(PortContext& ctx, Role role, std::string host, std::uint16_t port,
             std::uint8_t alive_check_min, config::Security security, bool verify)
        : ctx_(ctx),
          role_(role),
          host_(std::move(host)),
          port_(port),
          alive_check_min_(alive_check_min),
          security_(security),
          verify_(verify),
          acceptor_(ctx.strand),
          resolver_(ctx.strand),
          socket_(ctx.strand),
          serial_writer_(ctx),
          wake_(ctx.strand) {}

    std::error_code start() override {
        drive_outputs(ctx_.serial, std::nullopt);  // no peer yet
        if (role_ == Role::Slave) {
            if (auto ec = common::listen(acceptor_, ctx_.listen_address, port_)) return ec;
            where_ = common::host_port(acceptor_.local_endpoint().address().to_string(), port_);
            listener_.accept(acceptor_, {.refusal = [this] { return refusal(); },
                                         .take = [this](common::Stream s) { take(std::move(s)); },
                                         .failure = kFailure,
                                         .security = security_});
        } else {
            where_ = common::host_port(host_, port_);
            spawn(connect_loop(), {});
        }
        return {};
    }

    void on_serial_data(std::span<const std::byte> bytes) override {
        if (session_ && !listener_.stopping()) session_->send_data(bytes);
    }

    void on_serial_notification(const serial::Notification& n) override {
        if (n.kind != serial::Notification::Kind::ModemLinesChanged) return;
        if (session_ && !listener_.stopping()) session_->send_lines(inputs_of(n.lines));
    }

    void stop(std::function<void()> done) override {
        listener_.stop(std::move(done), [this] {
            resolver_.cancel();
            boost::system::error_code ignored;
            socket_.close(ignored);                              // a connect in progress
            if (handshaking_ != nullptr) handshaking_->close();  // its TLS handshake
            if (session_) session_->drain("stopping");
            wake_.notify();
        });
    }

    void revoke() override {
        // NE-4: a slave ends its master's connection once the allowlist no longer allows it. A
        // master's connection is outgoing: the allowlist governs what the device accepts.
        if (role_ == Role::Slave && session_ && !ctx_.allowed(session_->address())) {
            session_->end("no longer allowed by the allowlist");
        }
    }

    ModeStatus status() const override {
        ModeStatus st{role_ == Role::Master ? "pair_master" : "pair_slave", "", {}};
        if (listener_.stopping()) {
            st.state = "stopping";
        } else if (role_ == Role::Slave) {
            st.state = "listening on " + where_ +
                       (session_ && session_->established() ? ", master " + session_->peer()
                                                            : ", no master");
        } else if (session_ && session_->established()) {
            st.state = "connected to slave " + where_;
        } else if (!last_error_.empty()) {
            st.state = "slave " + where_ + " unreachable (" + last_error_ + "), retrying";
        } else {
            st.state = "connecting to slave " + where_;
        }
        if (session_ && session_->established()) st.peers.push_back(session_->status());
        return st;
    }

    // ---- SessionOwner
    void spawn(core::Task<void> task, std::function<void()> then) override {
        listener_.spawn(std::move(task), kFailure, std::move(then));
    }

    void update_backpressure() override {
        // No ignore_jammed_ip for a pair: the far serial line is the only consumer, so a slow
        // peer slows the serial reads (and through flow control, the local device).
        read_pause_.update(session_ ? session_->queued() : 0);
    }

    void established() override {
        last_error_.clear();
        outage_reported_ = false;
        backoff_.reset();
        ctx_.events.emit(
            events::types::kConnected, {.port = ctx_.id, .source = session_->peer()},
            role_ == Role::Slave ? "pair master connected" : "connected to pair slave " + where_);
    }

    // ---- common::Listener::Owner (no SessionBase here: the Session is the mode's own)
    void session_ended(common::SessionBase&) override {}
    void stopped() override { read_pause_.release(); }

private:
    static constexpr const char* kFailure = "pair: a coroutine ended by an exception";

    std::optional<std::string> refusal() const {
        // One master per slave: a second one is closed at once with FIN, so it sees EOF rather
        // than a timeout, and the log says why.
        if (!session_) return std::nullopt;
        return "a pair master (" + session_->peer() + ") is already connected";
    }

    void take(common::Stream stream) {
        open_session(std::move(stream));
        spawn(serve(), {});
    }

    core::Task<void> connect_loop() {
        while (!listener_.stopping()) {
            // stop() cannot interrupt a name lookup under way: connect() asks before connecting.
            const auto ec = co_await common::connect(resolver_, socket_, host_, port_, 0,
                                                     common::kConnectTimeout,
                                                     [this] { return listener_.stopping(); });
            if (listener_.stopping()) break;
            if (ec) {
                report_outage(ec.message());
                co_await wake_.wait_until(Clock::now() + backoff_.next());
                continue;
            }
            std::string why;
            const common::SecureTarget target{.level = security_,
                                              .host = host_,
                                              .verify = verify_,
                                              .who = "pair slave " + where_};
            auto stream = co_await common::secure_connect(
                ctx_, std::exchange(socket_, tcp::socket(ctx_.strand)), target, why, handshaking_);
            if (listener_.stopping()) {
                if (stream) stream->close();
                break;
            }
            if (!stream) {  // TLS refused (counted and logged): retried like an outage
                report_outage(why);
                co_await wake_.wait_until(Clock::now() + backoff_.next());
                continue;
            }
            open_session(std::move(*stream));
            co_await serve();
            if (listener_.stopping()) break;
            // The slave went away (or refused us): try again, but not in a tight loop.
            co_await wake_.wait_until(Clock::now() + backoff_.next());
        }
    }

    void open_session(common::Stream stream) {
        ctx_.stats.connections.fetch_add(1, std::memory_order_relaxed);
        session_ = std::make_unique<Session>(ctx_, *this, serial_writer_, std::move(stream), role_,
                                             alive_check_min_);
    }

    core::Task<void> serve() {
        const std::string why = co_await session_->run();
        const auto& s = *session_;
        if (s.established()) {
            if (s.protocol_error()) {
                ctx_.events.emit(events::types::kProtocolError,
                                 {.port = ctx_.id, .source = s.peer()}, why);
            }
            ctx_.events.emit(events::types::kDisconnected, {.port = ctx_.id, .source = s.peer()},
                             why + "; sent " + std::to_string(s.tx()) + " bytes, received " +
                                 std::to_string(s.rx()));
        } else if (role_ == Role::Slave) {
            ctx_.stats.refused.fetch_add(1, std::memory_order_relaxed);
            // Anyone reaching the slave's port causes this: limited like the listener's refusals.
            ctx_.events.emit_limited(events::types::kRefused, {.port = ctx_.id, .source = s.peer()},
                                     "not a pair master: " + why, common::kConnectionEventLimit);
        } else {
            report_outage("no pair slave answered: " + why);
        }
        session_.reset();
        drive_outputs(ctx_.serial, std::nullopt);  // the peer is gone: its lines are off
        update_backpressure();
    }

    void report_outage(const std::string& why) {
        last_error_ = why;
        if (outage_reported_) return;  // once per outage, not per retry
        outage_reported_ = true;
        ctx_.events.emit(events::types::kUnreachable, {.port = ctx_.id, .source = where_},
                         "pair slave " + where_ + ": " + why + " (retrying with backoff up to " +
                             std::to_string(common::kReconnectMax.count() / 1000) + " s)");
    }

    PortContext& ctx_;
    const Role role_;
    const std::string host_;    // master: the slave's host
    const std::uint16_t port_;  // master: the slave's port; slave: local_port
    const std::uint8_t alive_check_min_;
    const config::Security security_;  // Secure Connection of the one connection
    const bool verify_;                // master: check the slave's certificate and name
    tcp::acceptor acceptor_;
    tcp::resolver resolver_;
    tcp::socket socket_;                     // master: the connection being made
    common::Stream* handshaking_ = nullptr;  // master: its TLS handshake, while under way
    common::SerialWriter serial_writer_;
    core::Signal wake_;  // master: backoff over early (stop)
    common::Backoff backoff_;
    std::unique_ptr<Session> session_;
    std::string where_;  // slave: listening address; master: the slave's host:port
    std::string last_error_;
    common::Listener listener_{ctx_, *this};  // slave: the accept loop; both: the stop
    common::ReadPause read_pause_{ctx_};      // after ctx_: initialised from it
    bool outage_reported_ = false;
};

}  // namespace

ModePtr create_master(PortContext& ctx, const config::ModeSettings& settings, std::error_code& ec) {
    ec = {};
    const auto& s = std::get<config::PairMasterSettings>(settings);
    return std::make_unique<PairMode>(ctx, Role::Master, s.host, s.port, s.tcp_alive_check_min,
                                      s.security, s.verify);
}

ModePtr create_slave(PortContext& ctx, const config::ModeSettings& settings, std::error_code& ec) {
    ec = {};
    const auto& s = std::get<config::PairSlaveSettings>(settings);
    return std::make_unique<PairMode>(ctx, Role::Slave, std::string(), s.local_port,
                                      s.tcp_alive_check_min, s.security, true);
}

}  // namespace sg::modes::pair
