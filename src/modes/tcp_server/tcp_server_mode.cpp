// tcp_server_mode.cpp: TCP Server mode. Created by the Port on its strand; the accept loop, every
// session's reader and writer and the force-transmit timer all run on that strand (no locks).
//
// Serial → network: Port reads → on_serial_data → Packer → one shared buffer per frame, queued on
// every session (fan-out). A session over kClientQueueBytes is either skipped (ignore_jammed_ip:
// the bytes are dropped for it and counted) or makes the port pause its serial reads until it
// drains (backpressure; nothing grows unbounded).
// Network → serial: each session reads and awaits SerialWriter, which serialises the clients.
// Command port (realcom-aspp.md §1): a second listener serves ASPP commands through Real COM's
// CommandChannel — line settings act when max_connections is 1 or allow_driver_control is on; no
// NOTIFY and no alive poll (those belong to Real COM).
#include "modes/tcp_server/tcp_server_mode.h"

#include <algorithm>
#include <deque>
#include <set>

#include "core/clock.h"
#include "core/limits.h"
#include "core/signal.h"
#include "modes/common/packer.h"
#include "modes/common/read_pause.h"
#include "modes/common/serial_writer.h"
#include "modes/common/tcp_options.h"
#include "modes/real_com/command_channel.h"

namespace sg::modes::tcp_server {

namespace {

using asio::ip::tcp;
using Chunk = std::shared_ptr<const std::vector<std::byte>>;
using Clock = std::chrono::steady_clock;

class TcpServerMode;

/// One client connection. Kept alive by its coroutines (shared_from_this); the mode holds a plain
/// pointer for fan-out and stop, removed when the last coroutine ends.
class Session : public std::enable_shared_from_this<Session> {
public:
    Session(tcp::socket socket, TcpServerMode& mode);
    void start();
    /// Sends a frame now if the socket takes it, else queues it (see enqueue).
    void offer(std::span<const std::byte> frame, Chunk& shared);
    /// Queues a frame unless this client is jammed and jammed clients are skipped.
    void enqueue(const Chunk& chunk);
    /// Graceful end: send what is queued (bounded by kDrainTimeout), then close.
    void drain();
    /// Immediate end: close the socket; pending I/O completes with errors.
    void end();

    std::size_t queued() const { return queued_; }
    PeerStatus status() const { return {peer_, connected_at_, tx_, rx_}; }
    const std::string& peer() const { return peer_; }

private:
    core::Task<void> reader();
    core::Task<void> writer();
    core::Task<void> idle_watch();
    void spawn(core::Task<void> task);
    void coroutine_done();

    tcp::socket socket_;
    TcpServerMode& mode_;
    std::string peer_;
    std::int64_t connected_at_;
    std::deque<Chunk> queue_;
    std::size_t queued_ = 0;
    core::Signal wake_;  // writer: new data, drain or end
    bool draining_ = false;
    bool ended_ = false;
    bool jammed_ = false;
    asio::steady_timer drain_timer_;  // ends a draining session after kDrainTimeout
    Clock::time_point last_activity_;
    int running_ = 0;  // coroutines still running
    std::uint64_t tx_ = 0;
    std::uint64_t rx_ = 0;
};

class TcpServerMode final : public Mode {
public:
    TcpServerMode(PortContext& ctx, const config::TcpServerSettings& s)
        : ctx_(ctx),
          settings_(s),
          acceptor_(ctx.strand),
          command_acceptor_(ctx.strand),
          serial_writer_(ctx),
          line_(ctx),
          packer_(s.packing),
          force_timer_(ctx.strand) {}

    std::error_code start() override {
        if (auto ec = common::listen(acceptor_, ctx_.listen_address, settings_.local_port)) {
            return ec;
        }
        listening_ = acceptor_.local_endpoint().address().to_string() + ":" +
                     std::to_string(settings_.local_port);
        spawn_loop(accept_loop(), "accept loop");
        // The command port is an extra: when it cannot be had (taken, or privileged 965 + N for
        // an unprivileged serve) the data port still serves, and the event log says why.
        if (auto cec =
                common::listen(command_acceptor_, ctx_.listen_address, settings_.command_port)) {
            boost::system::error_code ignored;
            command_acceptor_.close(ignored);
            ctx_.events.emit(events::types::kModeFailed, {.port = ctx_.id},
                             "tcp_server command port " + std::to_string(settings_.command_port) +
                                 ": " + cec.message() + " (ASPP commands unavailable)");
            listening_ += " (command port unavailable)";
        } else {
            listening_ += ", commands on " + std::to_string(settings_.command_port);
            spawn_loop(command_accept_loop(), "command accept loop");
        }
        return {};
    }

    void on_serial_data(std::span<const std::byte> bytes) override {
        if (packer_.passthrough()) {
            if (!sessions_.empty()) fan_out(bytes);
            return;
        }
        packer_.feed(bytes, [this](std::span<const std::byte> f) { fan_out(f); });
        if (auto ft = packer_.force_transmit(); ft && packer_.holding()) {
            // (c) force transmit: restarted by every byte, fires after ft of silence.
            force_timer_.expires_after(*ft);
            ++timer_waits_;
            force_timer_.async_wait([this](boost::system::error_code ec) {
                --timer_waits_;
                if (!ec && !stopping_) {
                    packer_.flush([this](std::span<const std::byte> f) { fan_out(f); });
                }
                maybe_done();
            });
        }
    }

    void stop(std::function<void()> done) override {
        stopping_ = true;
        done_ = std::move(done);
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        command_acceptor_.close(ignored);
        for (auto* c : std::set<real_com::CommandChannel*>(channels_)) c->close();
        force_timer_.cancel();
        // Bytes still held by the packer go out before the sessions drain.
        packer_.flush([this](std::span<const std::byte> f) { fan_out(f); });
        for (Session* s : std::set<Session*>(sessions_)) s->drain();
        maybe_done();
    }

    ModeStatus status() const override {
        ModeStatus st{"tcp_server", stopping_ ? "stopping" : "listening on " + listening_, {}};
        for (const Session* s : sessions_) st.peers.push_back(s->status());
        return st;
    }

    // ---- used by Session
    PortContext& ctx() { return ctx_; }
    const config::TcpServerSettings& settings() const { return settings_; }
    common::SerialWriter& serial_writer() { return serial_writer_; }
    bool stopping() const { return stopping_; }

    void session_ended(Session* s) {
        sessions_.erase(s);
        update_backpressure();
        maybe_done();
    }
    void update_backpressure() {
        if (settings_.ignore_jammed_ip) return;
        std::size_t fullest = 0;
        for (const Session* s : sessions_) fullest = std::max(fullest, s->queued());
        read_pause_.update(fullest);
    }
    void spdlog_failure(const char* what);

private:
    void spawn_loop(core::Task<void> loop, const char* what) {
        ++running_;
        asio::co_spawn(ctx_.strand, std::move(loop), [this, what](const std::exception_ptr& e) {
            if (e) spdlog_failure(what);
            --running_;
            maybe_done();
        });
    }

    core::Task<void> command_accept_loop() {
        const bool real_tty = settings_.max_connections == 1;
        const real_com::ChannelRules rules{
            .line_control = real_tty || settings_.allow_driver_control,
            .real_tty = real_tty,
            .driver_mode = false};
        for (;;) {
            auto [ec, socket] = co_await command_acceptor_.async_accept(core::use_nothrow);
            if (ec) {
                if (stopping_ || ec == asio::error::operation_aborted) co_return;
                ctx_.events.emit(events::types::kModeFailed, {.port = ctx_.id},
                                 "command accept: " + ec.message());
                asio::steady_timer t(ctx_.strand, std::chrono::milliseconds(100));
                (void)co_await t.async_wait(core::use_nothrow);
                continue;
            }
            const auto open_channels =
                std::count_if(channels_.begin(), channels_.end(),
                              [](const real_com::CommandChannel* c) { return !c->closed(); });
            if (static_cast<std::size_t>(open_channels) >= settings_.max_connections) {
                // As many command connections as data clients may be served; more are refused
                // like data clients, so that the set stays bounded.
                ctx_.stats.refused.fetch_add(1, std::memory_order_relaxed);
                ctx_.events.emit(events::types::kRefused,
                                 {.port = ctx_.id, .source = common::peer_string(socket)},
                                 "command port: max connections (" +
                                     std::to_string(settings_.max_connections) + ") reached");
                boost::system::error_code ignored;
                socket.shutdown(tcp::socket::shutdown_both, ignored);
                socket.close(ignored);
                continue;
            }
            auto channel = std::make_shared<real_com::CommandChannel>(
                std::move(socket), line_, rules, settings_.tcp_alive_check_min,
                [this](real_com::CommandChannel& c) {
                    channels_.erase(&c);
                    maybe_done();
                });
            channels_.insert(channel.get());
            channel->start();
        }
    }

    core::Task<void> accept_loop() {
        for (;;) {
            auto [ec, socket] = co_await acceptor_.async_accept(core::use_nothrow);
            if (ec) {
                if (stopping_ || ec == asio::error::operation_aborted) co_return;
                // EMFILE and friends: log once per burst, back off a little, keep serving.
                ctx_.events.emit(events::types::kModeFailed, {.port = ctx_.id},
                                 "accept: " + ec.message());
                asio::steady_timer t(ctx_.strand, std::chrono::milliseconds(100));
                (void)co_await t.async_wait(core::use_nothrow);
                continue;
            }
            const std::string peer = common::peer_string(socket);
            if (sessions_.size() >= settings_.max_connections) {
                // Refused politely: accepted and closed at once with FIN, so the client sees EOF
                // rather than a timeout, and the event log says why.
                ctx_.stats.refused.fetch_add(1, std::memory_order_relaxed);
                ctx_.events.emit(
                    events::types::kRefused, {.port = ctx_.id, .source = peer},
                    "max connections (" + std::to_string(settings_.max_connections) + ") reached");
                boost::system::error_code ignored;
                socket.shutdown(tcp::socket::shutdown_both, ignored);
                socket.close(ignored);
                continue;
            }
            ctx_.stats.connections.fetch_add(1, std::memory_order_relaxed);
            ctx_.events.emit(events::types::kConnected, {.port = ctx_.id, .source = peer});
            auto session = std::make_shared<Session>(std::move(socket), *this);
            sessions_.insert(session.get());
            session->start();
        }
    }

    void fan_out(std::span<const std::byte> frame) {
        if (sessions_.empty()) return;  // the device drops serial data with no client connected
        Chunk chunk;  // the frame's shared copy, made only if some client must queue it
        for (Session* s : sessions_) s->offer(frame, chunk);
        update_backpressure();
    }

    void maybe_done() {
        if (!stopping_ || !done_ || running_ != 0 || timer_waits_ != 0 || !sessions_.empty() ||
            !channels_.empty()) {
            return;
        }
        read_pause_.release();
        auto done = std::move(done_);
        done_ = nullptr;
        asio::post(ctx_.strand, std::move(done));
    }

    PortContext& ctx_;
    config::TcpServerSettings settings_;
    tcp::acceptor acceptor_;
    tcp::acceptor command_acceptor_;  // ASPP commands (realcom-aspp.md §1)
    common::SerialWriter serial_writer_;
    real_com::LineControl line_;
    std::set<real_com::CommandChannel*> channels_;
    common::Packer packer_;
    asio::steady_timer force_timer_;
    std::set<Session*> sessions_;
    std::string listening_;
    std::function<void()> done_;
    int running_ = 0;
    int timer_waits_ = 0;
    bool stopping_ = false;
    common::ReadPause read_pause_{ctx_};  // after ctx_: initialised from it
};

void TcpServerMode::spdlog_failure(const char* what) {
    ctx_.events.emit(events::types::kModeFailed, {.port = ctx_.id},
                     std::string(what) + " ended by an unexpected exception");
}

// ---------------------------------------------------------------- Session

Session::Session(tcp::socket socket, TcpServerMode& mode)
    : socket_(std::move(socket)),
      mode_(mode),
      peer_(common::peer_string(socket_)),
      connected_at_(core::now_utc_us()),
      wake_(mode.ctx().strand),
      drain_timer_(mode.ctx().strand),
      last_activity_(Clock::now()) {
    boost::system::error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);  // serial traffic is small and latency-bound
    socket_.non_blocking(true, ignored);  // offer() writes directly and must never block
    common::set_alive_check(socket_, mode.settings().tcp_alive_check_min);
}

void Session::spawn(core::Task<void> task) {
    ++running_;
    asio::co_spawn(mode_.ctx().strand, std::move(task),
                   [self = shared_from_this()](const std::exception_ptr& e) {
                       if (e) self->mode_.spdlog_failure("client session");
                       self->coroutine_done();
                   });
}

void Session::start() {
    spawn(reader());
    spawn(writer());
    if (mode_.settings().inactivity_time_ms != 0) spawn(idle_watch());
}

void Session::coroutine_done() {
    if (--running_ != 0) return;
    auto& ctx = mode_.ctx();
    ctx.events.emit(events::types::kDisconnected, {.port = ctx.id, .source = peer_},
                    "sent " + std::to_string(tx_) + " bytes, received " + std::to_string(rx_));
    mode_.session_ended(this);
}

void Session::offer(std::span<const std::byte> frame, Chunk& shared) {
    if (ended_ || draining_) return;
    std::size_t sent = 0;
    if (queue_.empty()) {
        // Fast path: nothing queued and no write in flight (the writer pops only after its write
        // completes), so the bytes may go straight into the socket — no copy, no wake-up, no
        // extra trip through the event loop. What the socket does not take is queued.
        boost::system::error_code ec;
        sent = socket_.write_some(asio::buffer(frame.data(), frame.size()), ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) {
            sent = 0;
        } else if (ec) {
            end();  // reset by the peer: the reader and writer see it and finish
            return;
        }
        if (sent != 0) {
            tx_ += sent;
            mode_.ctx().stats.net_tx_bytes.fetch_add(sent, std::memory_order_relaxed);
            last_activity_ = Clock::now();
            if (sent == frame.size()) return;
        }
    }
    if (sent == 0) {
        if (!shared)
            shared = std::make_shared<const std::vector<std::byte>>(frame.begin(), frame.end());
        enqueue(shared);
    } else {
        enqueue(std::make_shared<const std::vector<std::byte>>(
            frame.begin() + static_cast<std::ptrdiff_t>(sent), frame.end()));
    }
}

void Session::enqueue(const Chunk& chunk) {
    if (ended_ || draining_) return;
    if (queued_ + chunk->size() > core::limits::kClientQueueBytes &&
        mode_.settings().ignore_jammed_ip) {
        mode_.ctx().stats.jammed_drops.fetch_add(chunk->size(), std::memory_order_relaxed);
        if (!jammed_) {
            jammed_ = true;  // one event per jam episode, not per dropped chunk
            mode_.ctx().events.emit(events::types::kJammed,
                                    {.port = mode_.ctx().id, .source = peer_});
        }
        return;
    }
    queue_.push_back(chunk);
    queued_ += chunk->size();
    wake_.notify();
}

void Session::drain() {
    if (ended_ || draining_) return;
    draining_ = true;
    wake_.notify();
    // Bounded: a client that stopped reading cannot hold up a stop. The writer may already be
    // blocked in a write to a full socket, so the deadline ends the session from outside.
    drain_timer_.expires_after(core::limits::kDrainTimeout);
    drain_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (!ec) self->end();
    });
}

void Session::end() {
    if (ended_) return;
    ended_ = true;
    drain_timer_.cancel();
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    wake_.notify();
}

core::Task<void> Session::reader() {
    std::vector<std::byte> buf(core::limits::kNetReadBytes);
    auto& ctx = mode_.ctx();
    while (!ended_) {
        auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buf), core::use_nothrow);
        if (ec || ended_) break;  // EOF and reset are normal endings
        rx_ += n;
        ctx.stats.net_rx_bytes.fetch_add(n, std::memory_order_relaxed);
        last_activity_ = Clock::now();
        if (draining_) continue;  // stopping: the serial line takes no new bytes
        if (auto wec = co_await mode_.serial_writer().write(std::span(buf).first(n)); wec) {
            break;  // the Port sees the device failure on its read side and restarts the mode
        }
    }
    end();
}

core::Task<void> Session::writer() {
    auto& ctx = mode_.ctx();
    while (!ended_) {
        if (queue_.empty()) {
            if (draining_) break;
            co_await wake_.wait();
            continue;
        }
        // Gather what is queued into one write: fewer syscalls under load.
        std::vector<asio::const_buffer> bufs;
        std::size_t n = 0;
        const std::size_t count = std::min<std::size_t>(queue_.size(), 64);
        bufs.reserve(count);
        for (std::size_t i = 0; i < count; ++i) {
            bufs.emplace_back(asio::buffer(*queue_[i]));
            n += queue_[i]->size();
        }
        auto [ec, written] = co_await asio::async_write(socket_, bufs, core::use_nothrow);
        if (ec) break;
        for (std::size_t i = 0; i < count; ++i) queue_.pop_front();
        queued_ -= n;
        tx_ += written;
        ctx.stats.net_tx_bytes.fetch_add(written, std::memory_order_relaxed);
        last_activity_ = Clock::now();
        if (jammed_ && queued_ < core::limits::kClientQueueBytes / 2) jammed_ = false;
        mode_.update_backpressure();
    }
    end();
}

core::Task<void> Session::idle_watch() {
    const auto limit = std::chrono::milliseconds(mode_.settings().inactivity_time_ms);
    asio::steady_timer t(mode_.ctx().strand);
    while (!ended_) {
        const auto due = last_activity_ + limit;
        if (Clock::now() >= due) {
            mode_.ctx().events.emit(events::types::kDisconnected,
                                    {.port = mode_.ctx().id, .source = peer_},
                                    "inactivity time reached");
            end();
            break;
        }
        t.expires_at(due);
        (void)co_await t.async_wait(core::use_nothrow);
        // end() does not cancel this timer; the wait is at most `limit` long.
    }
}

}  // namespace

ModePtr create(PortContext& ctx, const config::ModeSettings& settings, std::error_code& ec) {
    ec = {};
    return std::make_unique<TcpServerMode>(ctx, std::get<config::TcpServerSettings>(settings));
}

}  // namespace sg::modes::tcp_server
