// tcp_client_mode.cpp: TCP Client mode. Created by the Port on its strand; every destination's
// connect loop, reader and writer, the force-transmit timer and the inactivity watch run on that
// strand (no locks).
//
// Each destination is a Link whose run() loop waits until the connection control wants the
// connections up, connects (resolving a host name on every attempt, binding the designated local
// port), serves the connection, and after a failure or a lost connection retries with
// exponential backoff (0.5 s doubling to 10 s) for as long as the condition holds. An outage is
// logged once (serial.unreachable), not once per retry.
//
// Serial → network: on_serial_data → connection control (any_character connects) → PackingStage
// → one shared chunk per frame, queued on every link that is connected or making its first
// attempt of this episode (so the byte that triggered any_character goes out once connected). A
// link over kClientQueueBytes is skipped with a counter (ignore_jammed_ip) or pauses the serial
// reads until it drains. A destination that is down gets nothing: like the device, data with no
// connection to go to is dropped.
// Network → serial: each link's reader awaits SerialWriter, which serialises the destinations.
#include "modes/tcp_client/tcp_client_mode.h"

#include <optional>
#include <utility>

#include "core/clock.h"
#include "core/limits.h"
#include "core/signal.h"
#include "modes/common/backoff.h"
#include "modes/common/connect.h"
#include "modes/common/packing_stage.h"
#include "modes/common/peer_watch.h"
#include "modes/common/read_pause.h"
#include "modes/common/read_scratch.h"
#include "modes/common/secure_connect.h"
#include "modes/common/serial_writer.h"
#include "modes/common/stream_writer.h"
#include "modes/common/tcp_options.h"
#include "modes/tcp_client/connection_control.h"

namespace sg::modes::tcp_client {

namespace {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

class TcpClientMode;

/// One destination: its connect loop and, while connected, a reader and a writer coroutine.
class Link {
public:
    Link(TcpClientMode& mode, std::size_t index, const config::Destination& dest);

    /// The connect loop; returns when the mode stops.
    core::Task<void> run();
    /// Fan-out: queues a frame if this link takes data now (see accepting()).
    void enqueue(const common::Chunk& chunk);
    /// The connection control changed its mind, or the mode stops: connect, or end what runs
    /// (`why` goes into the disconnect event).
    void reconsider(const char* why);

    bool connected() const { return state_ == State::Connected; }
    /// Connected, or making a connect attempt: data is queued. A destination in backoff after a
    /// failure takes none.
    bool accepting() const { return out_.has_value() && !out_->finishing(); }
    std::size_t queued() const { return out_ ? out_->queued() : 0; }
    PeerStatus status() const { return {peer_, connected_at_, tx_, rx_}; }
    std::string describe() const;

private:
    enum class State { Idle, Connecting, Connected, Backoff };

    core::Task<void> serve();
    core::Task<void> reader();
    core::Task<void> writer();
    void part_done();
    /// Graceful end of the connection: queued bytes go first, bounded by kDrainTimeout.
    void drain(std::string why);
    /// Immediate end: pending I/O completes with errors.
    void close_now();
    void report_outage(const std::error_code& ec, const std::string& why = {});

    TcpClientMode& mode_;
    const std::size_t index_;  // 0-based; people see index_ + 1
    const config::Destination dest_;
    const std::string name_;  // "host:port"
    tcp::resolver resolver_;
    tcp::socket socket_;                     // the connection being made
    common::Stream* handshaking_ = nullptr;  // its TLS handshake, while under way
    std::optional<common::Stream> stream_;   // the connection, while connected
    std::optional<common::StreamWriter> out_;
    common::PeerWatch watch_;  // the reader's serial write, ended with the connection
    core::Signal wake_;        // the run() loop: control changed, stop, backoff over
    core::Signal parts_wake_;  // serve(): a part ended, or a drain started
    common::Backoff backoff_;
    State state_ = State::Idle;
    int parts_ = 0;  // reader and writer coroutines of the current connection
    bool closed_ = false;
    bool draining_ = false;
    bool jammed_ = false;
    bool outage_reported_ = false;
    Clock::time_point drain_deadline_;
    std::string end_reason_;
    std::string last_error_;
    std::string peer_;
    std::int64_t connected_at_ = 0;
    std::uint64_t tx_ = 0;
    std::uint64_t rx_ = 0;
};

class TcpClientMode final : public Mode, public common::FrameSink {
public:
    TcpClientMode(PortContext& ctx, const config::TcpClientSettings& s)
        : ctx_(ctx),
          settings_(s),
          control_(s.connection_control),
          serial_writer_(ctx),
          packing_(ctx.strand, s.packing, *this, [this] { maybe_done(); }),
          idle_wake_(ctx.strand),
          last_activity_(Clock::now()) {
        for (std::size_t i = 0; i < s.destinations.size(); ++i) {
            links_.push_back(std::make_unique<Link>(*this, i, s.destinations[i]));
        }
    }

    std::error_code start() override {
        auto lines = ctx_.serial.modem_lines();
        std::optional<serial::ModemLines> known;
        if (lines) known = *lines;
        if (control_.needs_lines() && !known) {
            // A pty or a driver without modem lines: the port can never connect. Said once, so
            // that "nothing happens" has an explanation in the log.
            ctx_.events.emit(events::types::kModeFailed, {.port = ctx_.id},
                             std::string("connection control ") +
                                 config::to_string(settings_.connection_control) +
                                 " needs modem lines, which this device does not have (" +
                                 lines.error().message + "): no connection will be made");
        }
        control_.start(known);
        for (auto& link : links_) spawn(link->run());
        if (settings_.inactivity_time_ms != 0) spawn(idle_watch());
        return {};
    }

    void on_serial_data(std::span<const std::byte> bytes) override {
        last_activity_ = Clock::now();
        if (control_.on_serial_data()) reconsider_all("serial data");  // any_character: connect now
        packing_.feed(bytes);
    }

    void on_serial_notification(const serial::Notification& n) override {
        if (n.kind != serial::Notification::Kind::ModemLinesChanged) return;
        if (control_.on_lines(n.lines)) {
            const bool dsr = settings_.connection_control == config::ConnectionControl::DsrOnDsrOff;
            reconsider_all(dsr ? "DSR off" : "DCD off");  // only used when the lines went off
        }
    }

    void stop(std::function<void()> done) override {
        stopping_ = true;
        done_ = std::move(done);
        packing_.flush();  // bytes held by the packer go out before the links drain
        reconsider_all("stopping");
        maybe_done();
    }

    ModeStatus status() const override {
        ModeStatus st{"tcp_client", "", {}};
        std::size_t up = 0;
        for (const auto& link : links_) {
            if (link->connected()) {
                ++up;
                st.peers.push_back(link->status());
            }
        }
        if (stopping_) {
            st.state = "stopping";
        } else if (!control_.wants_connection()) {
            st.state = control_.waiting_for();
        } else {
            st.state = "connected to " + std::to_string(up) + " of " +
                       std::to_string(links_.size()) + " destinations";
            for (const auto& link : links_) {
                if (!link->connected()) st.state += "; " + link->describe();
            }
        }
        return st;
    }

    // ---- common::FrameSink: the packing stage's frames, one call each. One shared chunk for
    // every link that takes data now.
    void on_frame(std::span<const std::byte> frame) override {
        common::Chunk chunk;
        for (auto& link : links_) {
            if (!link->accepting()) continue;
            if (!chunk) chunk = common::make_chunk(frame);
            link->enqueue(chunk);
        }
        if (chunk) update_backpressure();
    }

    // ---- used by Link
    PortContext& ctx() { return ctx_; }
    const config::TcpClientSettings& settings() const { return settings_; }
    common::SerialWriter& serial_writer() { return serial_writer_; }
    bool stopping() const { return stopping_; }
    bool wants_connection() const { return !stopping_ && control_.wants_connection(); }
    void touch() { last_activity_ = Clock::now(); }

    void link_connected() {
        // The inactivity clock starts with the connection, not with the last byte before an
        // outage.
        last_activity_ = Clock::now();
        idle_wake_.notify();
    }

    void spawn(core::Task<void> task, std::function<void()> then = {}) {
        ++running_;
        asio::co_spawn(ctx_.strand, std::move(task),
                       [this, then = std::move(then)](const std::exception_ptr& e) {
                           if (e) {
                               ctx_.events.emit(events::types::kModeFailed, {.port = ctx_.id},
                                                "tcp_client: a coroutine ended by an exception");
                           }
                           if (then) then();
                           --running_;
                           maybe_done();
                       });
    }

    void update_backpressure() {
        if (settings_.ignore_jammed_ip) return;
        std::size_t fullest = 0;
        for (const auto& link : links_) fullest = std::max(fullest, link->queued());
        read_pause_.update(fullest);
    }

private:
    void reconsider_all(const char* why) {
        for (auto& link : links_) link->reconsider(why);
        idle_wake_.notify();
    }

    /// Inactivity time (device ref. §3): with no data either way for inactivity_time_ms while
    /// connected, every connection closes until the next serial byte.
    core::Task<void> idle_watch() {
        const auto limit = std::chrono::milliseconds(settings_.inactivity_time_ms);
        while (!stopping_) {
            bool any_up = false;
            for (const auto& link : links_) any_up = any_up || link->connected();
            if (!control_.wants_connection() || !any_up) {
                co_await idle_wake_.wait();
                continue;
            }
            const auto due = last_activity_ + limit;
            if (Clock::now() >= due) {
                if (control_.on_inactivity()) reconsider_all("inactivity time reached");
                continue;
            }
            co_await idle_wake_.wait_until(due);
        }
    }

    void maybe_done() {
        if (!stopping_ || !done_ || running_ != 0 || packing_.waiting()) return;
        read_pause_.release();
        auto done = std::move(done_);
        done_ = nullptr;
        asio::post(ctx_.strand, std::move(done));
    }

    PortContext& ctx_;
    config::TcpClientSettings settings_;
    ConnectionControl control_;
    common::SerialWriter serial_writer_;
    common::PackingStage packing_;
    core::Signal idle_wake_;
    Clock::time_point last_activity_;
    std::vector<std::unique_ptr<Link>> links_;
    std::function<void()> done_;
    int running_ = 0;
    bool stopping_ = false;
    common::ReadPause read_pause_{ctx_};  // after ctx_: initialised from it
};

// ---------------------------------------------------------------- Link

Link::Link(TcpClientMode& mode, std::size_t index, const config::Destination& dest)
    : mode_(mode),
      index_(index),
      dest_(dest),
      name_(common::host_port(dest.host, dest.port)),
      resolver_(mode.ctx().strand),
      socket_(mode.ctx().strand),
      watch_(mode.ctx()),
      wake_(mode.ctx().strand),
      parts_wake_(mode.ctx().strand) {}

std::string Link::describe() const {
    std::string who = "destination " + std::to_string(index_ + 1) + " " + name_;
    switch (state_) {
        case State::Connected: return who + " connected";
        case State::Connecting: return who + " connecting";
        case State::Backoff: return who + " unreachable (" + last_error_ + "), retrying";
        case State::Idle: return who + " not connected";
    }
    return who;
}

void Link::reconsider(const char* why) {
    const bool want = mode_.wants_connection();
    switch (state_) {
        case State::Connected:
            if (!want) drain(why);
            break;
        case State::Connecting:
            if (!want) {
                // Abort the attempt: the connect (or resolve) completes with operation_aborted.
                boost::system::error_code ignored;
                resolver_.cancel();
                socket_.close(ignored);
                if (handshaking_ != nullptr) handshaking_->close();
            }
            break;
        case State::Idle:
            // Take data at once: the byte that made any_character connect is fanned out right
            // after this returns, before run() resumes.
            if (want && !out_) out_.emplace(mode_.ctx().strand);
            wake_.notify();
            break;
        case State::Backoff: wake_.notify(); break;
    }
}

void Link::report_outage(const std::error_code& ec, const std::string& why) {
    last_error_ = why.empty() ? ec.message() : why;
    if (outage_reported_) return;  // once per outage, not per retry
    outage_reported_ = true;
    auto& ctx = mode_.ctx();
    ctx.events.emit(events::types::kUnreachable, {.port = ctx.id, .source = name_},
                    "destination " + std::to_string(index_ + 1) + " " + name_ + ": " + last_error_ +
                        " (retrying with backoff up to " +
                        std::to_string(common::kReconnectMax.count() / 1000) + " s)");
}

core::Task<void> Link::run() {
    auto& ctx = mode_.ctx();
    while (!mode_.stopping()) {
        if (!mode_.wants_connection()) {
            state_ = State::Idle;
            if (out_) {
                out_.reset();
                mode_.update_backpressure();
            }
            co_await wake_.wait();
            continue;
        }
        state_ = State::Connecting;
        // Data waits (bounded) for every attempt: serial bytes that arrive while the connect is in
        // flight go out once it completes, however many attempts came before.
        if (!out_) out_.emplace(ctx.strand);
        // A stop or a change of the control during the name lookup is seen before connecting:
        // reconsider() cannot interrupt a lookup that is under way.
        const auto ec = co_await common::connect(resolver_, socket_, dest_.host, dest_.port,
                                                 dest_.local_port, common::kConnectTimeout,
                                                 [this] { return !mode_.wants_connection(); });
        if (mode_.stopping()) break;
        if (ec || !mode_.wants_connection()) {
            boost::system::error_code ignored;
            socket_.close(ignored);
            out_.reset();  // what waited for this attempt is dropped, as with no connection
            mode_.update_backpressure();
            // The control changed its mind meanwhile (the attempt was abandoned, or it succeeded
            // too late): not an outage.
            if (!ec || !mode_.wants_connection()) continue;
            report_outage(ec);
            state_ = State::Backoff;
            co_await wake_.wait_until(Clock::now() + backoff_.next());
            continue;
        }

        // Secure Connection: the TLS handshake, the server checked unless verify: false.
        std::string why;
        const common::SecureTarget target{
            .level = mode_.settings().security,
            .host = dest_.host,
            .verify = dest_.verify,
            .who = "destination " + std::to_string(index_ + 1) + " " + name_};
        auto stream = co_await common::secure_connect(
            ctx, std::exchange(socket_, tcp::socket(ctx.strand)), target, why, handshaking_);
        if (mode_.stopping()) {
            if (stream) stream->close();
            break;
        }
        if (!stream || !mode_.wants_connection()) {
            if (stream) stream->close();
            out_.reset();
            mode_.update_backpressure();
            if (!mode_.wants_connection()) continue;
            report_outage(std::make_error_code(std::errc::connection_refused), why);
            state_ = State::Backoff;
            co_await wake_.wait_until(Clock::now() + backoff_.next());
            continue;
        }
        stream_.emplace(std::move(*stream));

        backoff_.reset();
        outage_reported_ = false;
        if (!out_) out_.emplace(ctx.strand);
        state_ = State::Connected;
        closed_ = draining_ = jammed_ = false;
        end_reason_.clear();
        peer_ = common::peer_string(stream_->socket());
        connected_at_ = core::now_utc_us();
        tx_ = rx_ = 0;
        common::set_alive_check(stream_->socket(), mode_.settings().tcp_alive_check_min);
        ctx.stats.connections.fetch_add(1, std::memory_order_relaxed);
        ctx.events.emit(events::types::kConnected, {.port = ctx.id, .source = peer_},
                        "destination " + std::to_string(index_ + 1) + " " + name_);
        mode_.link_connected();

        co_await serve();

        ctx.events.emit(events::types::kDisconnected, {.port = ctx.id, .source = peer_},
                        "destination " + std::to_string(index_ + 1) + " " + name_ + ": " +
                            (end_reason_.empty() ? "closed" : end_reason_) + "; sent " +
                            std::to_string(tx_) + " bytes, received " + std::to_string(rx_));
        stream_.reset();
        out_.reset();
        state_ = State::Idle;
        mode_.update_backpressure();
        if (mode_.stopping()) break;
        if (mode_.wants_connection()) {
            // The destination closed (or reset) a connection we still want: reconnect, but not
            // in a tight loop against a peer that accepts and closes at once.
            state_ = State::Backoff;
            co_await wake_.wait_until(Clock::now() + backoff_.next());
        }
    }
    out_.reset();
    state_ = State::Idle;
}

core::Task<void> Link::serve() {
    parts_ = 2;
    mode_.spawn(reader(), [this] { part_done(); });
    mode_.spawn(writer(), [this] { part_done(); });
    while (parts_ != 0) {
        if (draining_ && !closed_) {
            co_await parts_wake_.wait_until(drain_deadline_);
            // Bounded: a destination that stopped reading cannot hold up a stop.
            if (parts_ != 0 && Clock::now() >= drain_deadline_) close_now();
        } else {
            co_await parts_wake_.wait();
        }
    }
}

void Link::part_done() {
    --parts_;
    parts_wake_.notify();
}

void Link::enqueue(const common::Chunk& chunk) {
    if (!accepting()) return;
    auto& ctx = mode_.ctx();
    if (out_->queued() + chunk->size() > core::limits::kClientQueueBytes &&
        mode_.settings().ignore_jammed_ip) {
        ctx.stats.jammed_drops.fetch_add(chunk->size(), std::memory_order_relaxed);
        if (!jammed_) {
            jammed_ = true;  // one event per jam episode, not per dropped chunk
            ctx.events.emit(events::types::kJammed, {.port = ctx.id, .source = name_});
        }
        return;
    }
    out_->push(chunk);
}

void Link::drain(std::string why) {
    if (closed_ || draining_) return;
    draining_ = true;
    end_reason_ = std::move(why);
    drain_deadline_ = Clock::now() + core::limits::kDrainTimeout;
    if (out_) out_->finish();
    parts_wake_.notify();
}

void Link::close_now() {
    if (closed_) return;
    closed_ = true;
    // A destination that left never holds the port behind a line that takes nothing: the
    // reader's serial write in flight is abandoned (SessionBase does the same for clients).
    watch_.abandon();
    if (stream_) stream_->close();
    if (out_) out_->abort();
    parts_wake_.notify();
}

core::Task<void> Link::reader() {
    common::InFlight in_flight;  // what the serial write awaits with: read_scratch.h
    auto& ctx = mode_.ctx();
    while (!closed_) {
        auto [ec, data] = co_await stream_->read_some();
        if (ec || closed_) {
            if (end_reason_.empty()) {
                end_reason_ = common::is_eof(ec) ? "closed by the destination" : ec.message();
            }
            break;
        }
        rx_ += data.size();
        ctx.stats.net_rx_bytes.fetch_add(data.size(), std::memory_order_relaxed);
        mode_.touch();
        if (draining_) continue;  // ending: the serial line takes no new bytes
        // Ends with the connection: while the line takes nothing, a destination that resets, or
        // closes and the line does not move, ends it (common::PeerWatch).
        const auto wec =
            co_await watch_.write(mode_.serial_writer(), in_flight.hold(data, *stream_), *stream_,
                                  &closed_, [this](common::PeerGone how) {
                                      if (end_reason_.empty())
                                          end_reason_ = common::left_during_write(how);
                                      close_now();
                                  });
        in_flight.release();
        if (wec) {
            if (end_reason_.empty()) end_reason_ = "serial write failed: " + wec.message();
            break;  // the Port sees the device failure on its read side and restarts the mode
        }
    }
    close_now();
}

core::Task<void> Link::writer() {
    auto& ctx = mode_.ctx();
    const auto ec = co_await out_->run(*stream_, [this, &ctx](std::size_t n) {
        tx_ += n;
        ctx.stats.net_tx_bytes.fetch_add(n, std::memory_order_relaxed);
        mode_.touch();
        if (jammed_ && queued() < core::limits::kClientQueueBytes / 2) jammed_ = false;
        mode_.update_backpressure();
    });
    if (ec && end_reason_.empty() && !closed_) end_reason_ = ec.message();
    if (!ec && draining_ && !closed_) co_await stream_->shutdown();  // TLS: close_notify, bounded
    close_now();
}

}  // namespace

ModePtr create(PortContext& ctx, const config::ModeSettings& settings, std::error_code& ec) {
    ec = {};
    return std::make_unique<TcpClientMode>(ctx, std::get<config::TcpClientSettings>(settings));
}

}  // namespace sg::modes::tcp_client
