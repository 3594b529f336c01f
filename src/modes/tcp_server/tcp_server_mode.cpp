// tcp_server_mode.cpp: TCP Server mode. Created by the Port on its strand; the accept loop, every
// session's reader and writer and the force-transmit timer all run on that strand (no locks).
//
// Serial → network: Port reads → on_serial_data → common::PackingStage → common::FanOut, which
// offers each frame to every session (straight into an idle socket, else one shared chunk
// queued). A session over kClientQueueBytes is either skipped (ignore_jammed_ip: the bytes are
// dropped for it and counted) or makes the port pause its serial reads until it drains
// (backpressure; nothing grows unbounded) — as in Real COM, whose rules these are too.
// Network → serial: each session reads and awaits SerialWriter, which serialises the clients.
// Command port (realcom-aspp.md §1): a second listener serves ASPP commands through Real COM's
// CommandChannel — line settings act when max_connections is 1 or allow_driver_control is on; no
// NOTIFY and no alive poll (those belong to Real COM).
// Accepting, refusing past max_connections and stopping are common::Listener's; a session's
// socket options, counters, drain and end are common::SessionBase's, its sending half and jam
// rule common::FanOutSession's.
#include "modes/tcp_server/tcp_server_mode.h"

#include <algorithm>
#include <list>
#include <optional>
#include <set>

#include "core/clock.h"
#include "core/limits.h"
#include "modes/common/fan_out_mode.h"
#include "modes/common/read_scratch.h"
#include "modes/common/tcp_options.h"
#include "modes/real_com/command_channel.h"

namespace sg::modes::tcp_server {

namespace {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

class TcpServerMode;

/// One client connection (common::FanOutSession: socket, counters, drain and end, the queue
/// and its writer). The mode's Listener lists it for fan-out and stop until its last coroutine
/// has ended.
class Session final : public common::FanOutSession {
public:
    Session(common::Stream stream, TcpServerMode& mode);
    void start();

private:
    void on_sent() override { last_activity_ = Clock::now(); }
    core::Task<void> reader();
    core::Task<void> idle_watch();

    TcpServerMode& mode_;
    Clock::time_point last_activity_;
};

/// Settings, Listener, FanOut, PackingStage and SerialWriter: common::FanOutMode.
class TcpServerMode final : public common::FanOutMode<config::TcpServerSettings> {
public:
    TcpServerMode(PortContext& ctx, const config::TcpServerSettings& s)
        : FanOutMode(ctx, s), acceptor_(ctx.strand), command_acceptor_(ctx.strand), line_(ctx) {}

    std::error_code start() override {
        if (auto ec = common::listen(acceptor_, ctx_.listen_address, settings_.local_port)) {
            return ec;
        }
        listening_ = acceptor_.local_endpoint().address().to_string() + ":" +
                     std::to_string(settings_.local_port);
        listener_.accept(acceptor_, {.refusal = [this] { return refusal(sessions().size()); },
                                     .take = [this](common::Stream s) { take(std::move(s)); },
                                     .security = settings_.security});
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
        // With no client the frames are dropped by the fan-out (FanOut::on_frame).
        packing_.feed(bytes);
    }

    void stop(std::function<void()> done) override {
        listener_.stop(std::move(done), [this] {
            for (auto* c : std::set<real_com::CommandChannel*>(channels_)) c->close();
            // Bytes still held by the packer go out before the sessions drain.
            packing_.flush();
        });
    }

    void revoke() override {
        // NE-4: data sessions and command channels from sources no longer allowed end at once.
        listener_.revoke();
        for (auto* c : std::set<real_com::CommandChannel*>(channels_)) {
            if (!ctx_.allowed(c->address())) c->close();
        }
    }

    ModeStatus status() const override {
        ModeStatus st{
            "tcp_server", listener_.stopping() ? "stopping" : "listening on " + listening_, {}};
        for (const common::SessionBase* s : sessions()) st.peers.push_back(s->status());
        return st;
    }

private:
    bool also_busy() const override { return !channels_.empty(); }
    std::size_t other_connections_from(const asio::ip::address& source) const override {
        return static_cast<std::size_t>(std::count_if(
            channels_.begin(), channels_.end(), [&](const real_com::CommandChannel* c) {
                return !c->closed() && common::unmapped(c->address()) == source;
            }));
    }

    const std::list<common::SessionBase*>& sessions() const { return listener_.sessions(); }

    std::optional<std::string> refusal(std::size_t in_use, const char* what = "") const {
        if (in_use < settings_.max_connections) return std::nullopt;
        return std::string(what) + "max connections (" + std::to_string(settings_.max_connections) +
               ") reached";
    }

    void take(common::Stream stream) {
        listener_.connected(common::peer_string(stream));
        auto session = std::make_shared<Session>(std::move(stream), *this);
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
        auto take = [this](common::Stream stream) {
            const bool real_tty = settings_.max_connections == 1;
            const real_com::ChannelRules rules{
                .line_control = real_tty || settings_.allow_driver_control,
                .real_tty = real_tty,
                .driver_mode = false};
            auto channel = std::make_shared<real_com::CommandChannel>(
                std::move(stream), line_, rules, settings_.tcp_alive_check_min,
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
                .failure = "command accept loop ended by an unexpected exception",
                .security = settings_.security};
    }

    tcp::acceptor acceptor_;
    tcp::acceptor command_acceptor_;  // ASPP commands (realcom-aspp.md §1)
    real_com::LineControl line_;
    std::set<real_com::CommandChannel*> channels_;
    std::string listening_;
};

// ---------------------------------------------------------------- Session

Session::Session(common::Stream stream, TcpServerMode& mode)
    : FanOutSession(std::move(stream), mode.fan_out(), mode.settings().tcp_alive_check_min,
                    "client session"),
      mode_(mode),
      last_activity_(Clock::now()) {}

void Session::start() {
    spawn(reader());
    spawn(writer());
    if (mode_.settings().inactivity_time_ms != 0) spawn(idle_watch());
}

core::Task<void> Session::reader() {
    common::InFlight in_flight;  // what the serial write awaits with: read_scratch.h
    while (!ended_) {
        auto [ec, data] = co_await stream_.read_some();
        if (ec || ended_) break;  // EOF and reset are normal endings
        rx_ += data.size();
        ctx_.stats.net_rx_bytes.fetch_add(data.size(), std::memory_order_relaxed);
        last_activity_ = Clock::now();
        if (draining_) continue;  // stopping: the serial line takes no new bytes
        // Ends with the session (write_serial): a client that left never holds the port.
        const auto wec =
            co_await write_serial(mode_.serial_writer(), in_flight.hold(data, stream_));
        in_flight.release();
        if (wec) break;  // the Port sees the device failure on its read side and restarts the mode
    }
    end();
}

core::Task<void> Session::idle_watch() {
    const auto limit = std::chrono::milliseconds(mode_.settings().inactivity_time_ms);
    asio::steady_timer t(ctx_.strand);
    while (!ended_) {
        const auto due = last_activity_ + limit;
        if (Clock::now() >= due) {
            // A stranger can cause it (connect and idle): limited per source (issue 14 item 5).
            ctx_.events.emit_limited(events::types::kDisconnected,
                                     {.port = ctx_.id, .source = peer_}, "inactivity time reached",
                                     common::kConnectionEventLimit);
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
