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
// Accepting, refusing past max_connections and stopping are common::Listener's; a session's
// socket options, counters, drain and end are common::SessionBase's.
#include "modes/tcp_server/tcp_server_mode.h"

#include <algorithm>
#include <deque>
#include <list>
#include <optional>
#include <set>

#include "core/clock.h"
#include "core/limits.h"
#include "core/signal.h"
#include "modes/common/listener.h"
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

/// One client connection (common::SessionBase: socket, counters, drain and end). The mode's
/// Listener lists it for fan-out and stop until its last coroutine has ended.
class Session final : public common::SessionBase {
public:
    Session(tcp::socket socket, TcpServerMode& mode);
    void start();
    /// Sends a frame now if the socket takes it, else queues it (see enqueue).
    void offer(std::span<const std::byte> frame, Chunk& shared);
    /// Queues a frame unless this client is jammed and jammed clients are skipped.
    void enqueue(const Chunk& chunk);

    std::size_t queued() const { return queued_; }

private:
    void on_drain() override { wake_.notify(); }
    void on_end() override { wake_.notify(); }
    core::Task<void> reader();
    core::Task<void> writer();
    core::Task<void> idle_watch();

    TcpServerMode& mode_;
    std::deque<Chunk> queue_;
    std::size_t queued_ = 0;
    core::Signal wake_;  // writer: new data, drain or end
    bool jammed_ = false;
    Clock::time_point last_activity_;
};

class TcpServerMode final : public Mode, public common::Listener::Owner {
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
        listener_.accept(acceptor_, {.refusal = [this] { return refusal(sessions().size()); },
                                     .take = [this](tcp::socket s) { take(std::move(s)); }});
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
            listener_.accept(command_acceptor_, command_rules());
        }
        return {};
    }

    void on_serial_data(std::span<const std::byte> bytes) override {
        if (packer_.passthrough()) {
            if (!sessions().empty()) fan_out(bytes);
            return;
        }
        packer_.feed(bytes, [this](std::span<const std::byte> f) { fan_out(f); });
        if (auto ft = packer_.force_transmit(); ft && packer_.holding()) {
            // (c) force transmit: restarted by every byte, fires after ft of silence.
            force_timer_.expires_after(*ft);
            ++timer_waits_;
            force_timer_.async_wait([this](boost::system::error_code ec) {
                --timer_waits_;
                if (!ec && !listener_.stopping()) {
                    packer_.flush([this](std::span<const std::byte> f) { fan_out(f); });
                }
                listener_.settle();
            });
        }
    }

    void stop(std::function<void()> done) override {
        listener_.stop(std::move(done), [this] {
            for (auto* c : std::set<real_com::CommandChannel*>(channels_)) c->close();
            force_timer_.cancel();
            // Bytes still held by the packer go out before the sessions drain.
            packer_.flush([this](std::span<const std::byte> f) { fan_out(f); });
        });
    }

    ModeStatus status() const override {
        ModeStatus st{
            "tcp_server", listener_.stopping() ? "stopping" : "listening on " + listening_, {}};
        for (const common::SessionBase* s : sessions()) st.peers.push_back(s->status());
        return st;
    }

    // ---- common::Listener::Owner
    void session_ended(common::SessionBase&) override { update_backpressure(); }
    bool busy() const override { return timer_waits_ != 0 || !channels_.empty(); }
    void stopped() override { read_pause_.release(); }

    // ---- used by Session
    PortContext& ctx() { return ctx_; }
    common::Listener& listener() { return listener_; }
    const config::TcpServerSettings& settings() const { return settings_; }
    common::SerialWriter& serial_writer() { return serial_writer_; }

    void update_backpressure() {
        if (settings_.ignore_jammed_ip) return;
        std::size_t fullest = 0;
        for (const Session* s : listener_.sessions_as<Session>()) {
            fullest = std::max(fullest, s->queued());
        }
        read_pause_.update(fullest);
    }

private:
    const std::list<common::SessionBase*>& sessions() const { return listener_.sessions(); }

    std::optional<std::string> refusal(std::size_t in_use, const char* what = "") const {
        if (in_use < settings_.max_connections) return std::nullopt;
        return std::string(what) + "max connections (" + std::to_string(settings_.max_connections) +
               ") reached";
    }

    void take(tcp::socket socket) {
        listener_.connected(common::peer_string(socket));
        auto session = std::make_shared<Session>(std::move(socket), *this);
        listener_.add(*session);
        session->start();
    }

    common::AcceptRules command_rules() {
        // As many command connections as data clients may be served; more are refused like data
        // clients, so that the set stays bounded.
        auto refuse = [this] {
            return refusal(static_cast<std::size_t>(std::count_if(
                               channels_.begin(), channels_.end(),
                               [](const real_com::CommandChannel* c) { return !c->closed(); })),
                           "command port: ");
        };
        auto take = [this](tcp::socket socket) {
            const bool real_tty = settings_.max_connections == 1;
            const real_com::ChannelRules rules{
                .line_control = real_tty || settings_.allow_driver_control,
                .real_tty = real_tty,
                .driver_mode = false};
            auto channel = std::make_shared<real_com::CommandChannel>(
                std::move(socket), line_, rules, settings_.tcp_alive_check_min,
                [this](real_com::CommandChannel& c) {
                    channels_.erase(&c);
                    listener_.settle();
                });
            channels_.insert(channel.get());
            channel->start();
        };
        return {.refusal = refuse,
                .take = take,
                .error_prefix = "command accept",
                .failure = "command accept loop ended by an unexpected exception"};
    }

    void fan_out(std::span<const std::byte> frame) {
        if (sessions().empty()) return;  // the device drops serial data with no client connected
        Chunk chunk;  // the frame's shared copy, made only if some client must queue it
        for (Session* s : listener_.sessions_as<Session>()) s->offer(frame, chunk);
        update_backpressure();
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
    std::string listening_;
    int timer_waits_ = 0;
    common::Listener listener_{ctx_, *this};
    common::ReadPause read_pause_{ctx_};  // after ctx_: initialised from it
};

// ---------------------------------------------------------------- Session

Session::Session(tcp::socket socket, TcpServerMode& mode)
    : SessionBase(std::move(socket), mode.listener(), mode.settings().tcp_alive_check_min,
                  "client session"),
      mode_(mode),
      wake_(mode.ctx().strand),
      last_activity_(Clock::now()) {}

void Session::start() {
    spawn(reader());
    spawn(writer());
    if (mode_.settings().inactivity_time_ms != 0) spawn(idle_watch());
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
