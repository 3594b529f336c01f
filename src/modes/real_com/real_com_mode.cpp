// real_com_mode.cpp: Real COM mode (real_com_mode.h; shared/specs/realcom-aspp.md §1). Created by
// the Port on its strand; both accept loops, every data session's reader and writer, every
// command channel and the force-transmit timer run on that strand (no locks).
//
// Sessions: a data connection and a command connection, paired in order of acceptance (spec §1:
// slot i of the data listener with slot i of the command listener); a command connection that
// comes first waits for its data connection. When a session's data connection goes, its command
// connection is closed, and when no session is left the serial buffers are flushed and the
// port's configured line settings restored (LineControl::restore()).
// Serial → network: on_serial_data → common::PackingStage → common::FanOut, which offers each
// frame to every session: straight into an idle socket, else queued as one chunk shared by the
// sessions; a jammed session is skipped (ignore_jammed_ip) or pauses the serial reads
// (backpressure) — the same code as TCP Server's. Network → serial: each data session's reader
// awaits the shared SerialWriter. Accepting, refusing past max_connections and stopping are
// common::Listener's; a data session's socket options, counters, drain and end are
// common::SessionBase's, its sending half and jam rule common::FanOutSession's.
#include "modes/real_com/real_com_mode.h"

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

namespace sg::modes::real_com {

namespace {

using asio::ip::tcp;

class RealComMode;

/// The data half of a session (common::FanOutSession: socket, counters, drain and end, the
/// queue and its writer), and the DataLink its command channel uses. The mode's Listener lists it
/// until its last coroutine ends.
class Session final : public common::FanOutSession, public DataLink {
public:
    Session(common::Stream stream, RealComMode& mode);
    void start();

    void attach(CommandChannel* command) {
        command_ = command;
        if (command_ != nullptr) command_->attach(this);
    }
    CommandChannel* command() const { return command_; }

    // DataLink
    std::size_t pending_input() const override {
        const std::size_t unread = stream_.available();
        return unread - std::min(unread, discard_);
    }
    std::size_t in_flight() const override { return in_flight_; }
    void discard_input() override {
        discard_ = stream_.available();  // the reader drops this many bytes as they come
    }
    void close_link() override { end(); }

private:
    core::Task<void> reader();

    RealComMode& mode_;
    CommandChannel* command_ = nullptr;
    std::size_t in_flight_ = 0;  // read from the host, waiting for the serial writer
    std::size_t discard_ = 0;    // FLUSH: bytes still to drop unread
};

/// Settings, Listener (the data sessions, in order of acceptance), FanOut, PackingStage and
/// SerialWriter: common::FanOutMode.
class RealComMode final : public common::FanOutMode<config::RealComSettings> {
public:
    RealComMode(PortContext& ctx, const config::RealComSettings& s)
        : FanOutMode(ctx, s),
          data_acceptor_(ctx.strand),
          command_acceptor_(ctx.strand),
          line_(ctx) {
        last_errors_ = ctx.serial.line_errors();
    }

    std::error_code start() override {
        if (auto ec = listen(data_acceptor_, settings_.data_port)) return ec;
        if (auto ec = listen(command_acceptor_, settings_.command_port)) return ec;
        listening_ = ctx_.listen_address + ":" + std::to_string(settings_.data_port) + "/" +
                     std::to_string(settings_.command_port);
        // Connections being torn down do not count: a driver that reconnects at once is served.
        listener_.accept(data_acceptor_,
                         {.refusal = [this] { return refusal(data_in_use()); },
                          .take = [this](common::Stream s) { take_data(std::move(s)); },
                          .security = settings_.security});
        listener_.accept(command_acceptor_,
                         {.refusal = [this] { return refusal(commands_in_use()); },
                          .take = [this](common::Stream s) { take_command(std::move(s)); },
                          .security = settings_.security});
        return {};
    }

    void on_serial_data(std::span<const std::byte> bytes) override {
        if (listener_.sessions().empty()) return;  // the device drops serial data with no session
        packing_.feed(bytes);
    }

    void on_serial_notification(const serial::Notification& n) override {
        // Spec §4 event flags from what changed since the last notification.
        using Kind = serial::Notification::Kind;
        std::uint8_t events = 0;
        std::uint64_t breaks = 0;
        if (n.kind != Kind::ModemLinesChanged) {
            if (n.errors.parity > last_errors_.parity) events |= aspp::event::kParityError;
            if (n.errors.framing > last_errors_.framing) events |= aspp::event::kFramingError;
            if (n.errors.overrun > last_errors_.overrun) events |= aspp::event::kHardwareOverrun;
            if (n.errors.breaks > last_errors_.breaks) {
                events |= aspp::event::kBreak;
                breaks = n.errors.breaks - last_errors_.breaks;
            }
            last_errors_ = n.errors;
        }
        for (CommandChannel* c : std::set<CommandChannel*>(channels_)) {
            c->on_line_event(events, breaks);
        }
    }

    void stop(std::function<void()> done) override {
        // Held bytes go out before the sessions drain; the command channels close after.
        listener_.stop(std::move(done), [this] { packing_.flush(); });
        for (CommandChannel* c : std::set<CommandChannel*>(channels_)) c->close();
    }

    void revoke() override {
        // NE-4: data sessions (their command channels follow) and unpaired command channels from
        // sources no longer allowed end at once.
        listener_.revoke();
        for (CommandChannel* c : std::set<CommandChannel*>(channels_)) {
            if (!ctx_.allowed(c->address())) c->close();
        }
    }

    ModeStatus status() const override {
        ModeStatus st{
            "real_com", listener_.stopping() ? "stopping" : "listening on " + listening_, {}};
        for (const common::SessionBase* s : listener_.sessions()) st.peers.push_back(s->status());
        return st;
    }

    // ---- common::Listener::Owner
    void session_ended(common::SessionBase& base) override {
        auto& s = static_cast<Session&>(base);
        if (CommandChannel* c = s.command()) {
            // Spec §1: the data connection went, so the session's command connection goes too.
            c->attach(nullptr);
            c->close();
        }
        if (data_in_use() == 0 && !listener_.stopping()) {
            // Spec §1: flush the serial buffers and restore the configured line settings, as the
            // device does when it closes the serial port after the last session.
            (void)ctx_.serial.flush(serial::FlushDirection::Both);
            line_.restore();
        }
        FanOutMode::session_ended(base);  // backpressure
    }

private:
    bool also_busy() const override { return !channels_.empty(); }
    std::size_t other_connections_from(const asio::ip::address& source) const override {
        return static_cast<std::size_t>(
            std::count_if(channels_.begin(), channels_.end(), [&](const CommandChannel* c) {
                return !c->closed() && common::unmapped(c->address()) == source;
            }));
    }

    ChannelRules rules() const {
        const bool real_tty = settings_.max_connections == 1;
        return {.line_control = real_tty || settings_.allow_driver_control,
                .real_tty = real_tty,
                .driver_mode = true};
    }

    std::size_t data_in_use() const {
        const auto& sessions = listener_.sessions();
        return static_cast<std::size_t>(
            std::count_if(sessions.begin(), sessions.end(),
                          [](const common::SessionBase* s) { return !s->ended(); }));
    }
    std::size_t commands_in_use() const {
        return static_cast<std::size_t>(
            std::count_if(channels_.begin(), channels_.end(),
                          [](const CommandChannel* c) { return !c->closed(); }));
    }
    std::optional<std::string> refusal(std::size_t in_use) const {
        if (in_use < settings_.max_connections) return std::nullopt;
        return "max connections (" + std::to_string(settings_.max_connections) + ") reached";
    }

    std::error_code listen(tcp::acceptor& acceptor, std::uint16_t port) {
        return common::listen(acceptor, ctx_.listen_address, port);
    }

    void take_data(common::Stream stream) {
        listener_.connected(common::peer_string(stream), "Real COM data connection");
        auto session = std::make_shared<Session>(std::move(stream), *this);
        listener_.add(*session);
        // A command connection that came first is this session's (order of acceptance).
        while (!waiting_.empty()) {
            CommandChannel* c = waiting_.front();
            waiting_.erase(waiting_.begin());
            if (!c->closed()) {
                session->attach(c);
                break;
            }
        }
        session->start();
    }

    void take_command(common::Stream stream) {
        auto channel = std::make_shared<CommandChannel>(
            std::move(stream), line_, rules(), settings_.tcp_alive_check_min,
            [this](CommandChannel& c) { channel_closed(c); });
        channels_.insert(channel.get());
        // Pair with the oldest data session that has no command connection yet.
        Session* free = nullptr;
        for (Session* s : listener_.sessions_as<Session>()) {
            if (s->command() == nullptr && !s->ended()) {
                free = s;
                break;
            }
        }
        if (free != nullptr) {
            free->attach(channel.get());
        } else {
            waiting_.push_back(channel.get());
        }
        channel->start();
    }

    void channel_closed(CommandChannel& c) {
        channels_.erase(&c);
        waiting_.erase(std::remove(waiting_.begin(), waiting_.end(), &c), waiting_.end());
        for (Session* s : listener_.sessions_as<Session>()) {
            if (s->command() == &c) s->attach(nullptr);
        }
        listener_.settle();
    }

    tcp::acceptor data_acceptor_;
    tcp::acceptor command_acceptor_;
    LineControl line_;
    std::set<CommandChannel*> channels_;  // every open command channel
    std::vector<CommandChannel*>
        waiting_;  // command channels whose data connection is not here yet
    serial::LineErrors last_errors_;
    std::string listening_;
};

// ---------------------------------------------------------------- Session

Session::Session(common::Stream stream, RealComMode& mode)
    : FanOutSession(std::move(stream), mode.fan_out(), mode.settings().tcp_alive_check_min,
                    "Real COM session"),  // spec §5: the TCP alive check
      mode_(mode) {}

void Session::start() {
    spawn(reader());
    spawn(writer());
}

core::Task<void> Session::reader() {
    common::InFlight in_flight;  // what the serial write awaits with: read_scratch.h
    while (!ended_) {
        auto [ec, data] = co_await stream_.read_some();
        if (ec || ended_) break;  // EOF and reset are normal endings
        rx_ += data.size();
        ctx_.stats.net_rx_bytes.fetch_add(data.size(), std::memory_order_relaxed);
        if (command_ != nullptr) command_->note_traffic();  // spec §5: traffic on the session
        if (draining_) continue;
        if (discard_ != 0) {  // FLUSH tx: what the host had sent before is dropped
            const std::size_t k = std::min(discard_, data.size());
            discard_ -= k;
            data = data.subspan(k);
        }
        if (data.empty()) continue;
        in_flight_ = data.size();
        // Ends with the session; the bytes are copied out of the thread's read buffer first.
        auto wec = co_await write_serial(mode_.serial_writer(), in_flight.hold(data, stream_));
        in_flight.release();
        in_flight_ = 0;
        if (wec) break;  // the Port sees the device failure on its read side
    }
    end();
}

}  // namespace

ModePtr create(PortContext& ctx, const config::ModeSettings& settings, std::error_code& ec) {
    ec = {};
    return std::make_unique<RealComMode>(ctx, std::get<config::RealComSettings>(settings));
}

}  // namespace sg::modes::real_com
