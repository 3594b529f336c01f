// real_com_mode.cpp: Real COM mode (real_com_mode.h; shared/specs/realcom-aspp.md §1). Created by
// the Port on its strand; both accept loops, every data session's reader and writer, every
// command channel and the force-transmit timer run on that strand (no locks).
//
// Sessions: a data connection and a command connection, paired in order of acceptance (spec §1:
// slot i of the data listener with slot i of the command listener); a command connection that
// comes first waits for its data connection. When a session's data connection goes, its command
// connection is closed, and when no session is left the serial buffers are flushed and the
// port's configured line settings restored (LineControl::restore()).
// Serial → network: on_serial_data → PackingStage → each frame offered to every session (fan-out):
// straight into an idle socket, else queued as one chunk shared by the sessions; a jammed session
// is skipped (ignore_jammed_ip) or pauses the serial reads (backpressure), exactly as TCP Server
// does. Network → serial: each data session's reader awaits the shared SerialWriter.
// Accepting, refusing past max_connections and stopping are common::Listener's; a data session's
// socket options, counters, drain and end are common::SessionBase's.
#include "modes/real_com/real_com_mode.h"

#include <algorithm>
#include <list>
#include <optional>
#include <set>

#include "core/clock.h"
#include "core/limits.h"
#include "modes/common/listener.h"
#include "modes/common/packing_stage.h"
#include "modes/common/read_pause.h"
#include "modes/common/serial_writer.h"
#include "modes/common/stream_writer.h"
#include "modes/common/tcp_options.h"
#include "modes/real_com/command_channel.h"

namespace sg::modes::real_com {

namespace {

using asio::ip::tcp;

class RealComMode;

/// The data half of a session (common::SessionBase: socket, counters, drain and end), and the
/// DataLink its command channel uses. The mode's Listener lists it until its last coroutine ends.
class Session final : public common::SessionBase, public DataLink {
public:
    Session(tcp::socket socket, RealComMode& mode);
    void start();
    /// Fan-out of one frame: straight into the socket when nothing is queued (no copy, no
    /// wake-up), the rest queued; `shared` is the frame's chunk, made by the first session that
    /// needs to queue all of it and shared by the others.
    void offer(std::span<const std::byte> frame, common::Chunk& shared);
    void enqueue(const common::Chunk& chunk);

    void attach(CommandChannel* command) {
        command_ = command;
        if (command_ != nullptr) command_->attach(this);
    }
    CommandChannel* command() const { return command_; }
    std::size_t queued() const { return out_.queued(); }

    // DataLink
    std::size_t pending_input() const override {
        boost::system::error_code ec;
        const std::size_t unread = socket_.is_open() ? socket_.available(ec) : 0;
        const std::size_t socket_bytes = ec ? 0 : unread;
        return socket_bytes - std::min(socket_bytes, discard_);
    }
    std::size_t in_flight() const override { return in_flight_; }
    void discard_input() override {
        boost::system::error_code ec;
        const std::size_t unread = socket_.is_open() ? socket_.available(ec) : 0;
        discard_ = ec ? 0 : unread;  // the reader drops this many bytes as they come
    }
    void close_link() override { end(); }

private:
    void on_drain() override { out_.finish(); }  // the queue goes out, then the writer returns
    void on_end() override { out_.abort(); }
    core::Task<void> reader();
    core::Task<void> writer();

    RealComMode& mode_;
    common::StreamWriter out_;
    CommandChannel* command_ = nullptr;
    std::size_t in_flight_ = 0;  // read from the host, waiting for the serial writer
    std::size_t discard_ = 0;    // FLUSH: bytes still to drop unread
    bool jammed_ = false;
};

class RealComMode final : public Mode, public common::Listener::Owner {
public:
    RealComMode(PortContext& ctx, const config::RealComSettings& s)
        : ctx_(ctx),
          settings_(s),
          data_acceptor_(ctx.strand),
          command_acceptor_(ctx.strand),
          serial_writer_(ctx),
          line_(ctx),
          packing_(
              ctx.strand, s.packing, [this](std::span<const std::byte> f) { fan_out(f); },
              [this] { listener_.settle(); }) {
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
                          .take = [this](tcp::socket s) { take_data(std::move(s)); }});
        listener_.accept(command_acceptor_,
                         {.refusal = [this] { return refusal(commands_in_use()); },
                          .take = [this](tcp::socket s) { take_command(std::move(s)); }});
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
        update_backpressure();
    }
    bool busy() const override { return packing_.waiting() || !channels_.empty(); }
    void stopped() override { read_pause_.release(); }

    // ---- used by Session
    PortContext& ctx() { return ctx_; }
    common::Listener& listener() { return listener_; }
    const config::RealComSettings& settings() const { return settings_; }
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
    ChannelRules rules() const {
        const bool real_tty = settings_.max_connections == 1;
        return {.line_control = real_tty || settings_.allow_driver_control,
                .real_tty = real_tty,
                .driver_mode = true};
    }

    std::size_t data_in_use() const {
        return static_cast<std::size_t>(std::ranges::count_if(
            listener_.sessions(), [](const common::SessionBase* s) { return !s->ended(); }));
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

    void take_data(tcp::socket socket) {
        listener_.connected(common::peer_string(socket), "Real COM data connection");
        auto session = std::make_shared<Session>(std::move(socket), *this);
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

    void take_command(tcp::socket socket) {
        auto channel = std::make_shared<CommandChannel>(
            std::move(socket), line_, rules(), settings_.tcp_alive_check_min,
            [this](CommandChannel& c) { channel_closed(c); });
        channels_.insert(channel.get());
        // Pair with the oldest data session that has no command connection yet.
        auto sessions = listener_.sessions_as<Session>();
        auto it = std::ranges::find_if(
            sessions, [](const Session* s) { return s->command() == nullptr && !s->ended(); });
        if (it != sessions.end()) {
            (*it)->attach(channel.get());
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

    void fan_out(std::span<const std::byte> frame) {
        if (listener_.sessions().empty()) return;
        common::Chunk chunk;
        for (Session* s : listener_.sessions_as<Session>()) s->offer(frame, chunk);
        update_backpressure();
    }

    PortContext& ctx_;
    config::RealComSettings settings_;
    tcp::acceptor data_acceptor_;
    tcp::acceptor command_acceptor_;
    common::SerialWriter serial_writer_;
    LineControl line_;
    common::PackingStage packing_;
    std::set<CommandChannel*> channels_;  // every open command channel
    std::vector<CommandChannel*>
        waiting_;  // command channels whose data connection is not here yet
    serial::LineErrors last_errors_;
    std::string listening_;
    common::Listener listener_{ctx_, *this};  // the data sessions, in order of acceptance
    common::ReadPause read_pause_{ctx_};      // after ctx_: initialised from it
};

// ---------------------------------------------------------------- Session

Session::Session(tcp::socket socket, RealComMode& mode)
    : SessionBase(std::move(socket), mode.listener(), mode.settings().tcp_alive_check_min,
                  "Real COM session"),  // spec §5: the TCP alive check
      mode_(mode),
      out_(mode.ctx().strand) {}

void Session::start() {
    spawn(reader());
    spawn(writer());
}

void Session::offer(std::span<const std::byte> frame, common::Chunk& shared) {
    if (ended_ || draining_) return;
    boost::system::error_code ec;
    const std::size_t sent = out_.try_write(socket_, frame, ec);
    if (ec) {
        end();  // reset by the peer: the reader and writer see it and finish
        return;
    }
    if (sent != 0) {
        tx_ += sent;
        mode_.ctx().stats.net_tx_bytes.fetch_add(sent, std::memory_order_relaxed);
        if (sent == frame.size()) return;
        enqueue(common::make_chunk(frame.subspan(sent)));
        return;
    }
    if (!shared) shared = common::make_chunk(frame);
    enqueue(shared);
}

void Session::enqueue(const common::Chunk& chunk) {
    if (ended_ || draining_) return;
    if (out_.queued() + chunk->size() > core::limits::kClientQueueBytes &&
        mode_.settings().ignore_jammed_ip) {
        mode_.ctx().stats.jammed_drops.fetch_add(chunk->size(), std::memory_order_relaxed);
        if (!jammed_) {
            jammed_ = true;  // one event per jam episode
            mode_.ctx().events.emit(events::types::kJammed,
                                    {.port = mode_.ctx().id, .source = peer_});
        }
        return;
    }
    out_.push(chunk);
}

core::Task<void> Session::reader() {
    std::vector<std::byte> buf(core::limits::kNetReadBytes);
    auto& ctx = mode_.ctx();
    while (!ended_) {
        auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buf), core::use_nothrow);
        if (ec || ended_) break;  // EOF and reset are normal endings
        rx_ += n;
        ctx.stats.net_rx_bytes.fetch_add(n, std::memory_order_relaxed);
        if (command_ != nullptr) command_->note_traffic();  // spec §5: traffic on the session
        if (draining_) continue;
        std::span<const std::byte> data = std::span(buf).first(n);
        if (discard_ != 0) {  // FLUSH tx: what the host had sent before is dropped
            const std::size_t k = std::min(discard_, data.size());
            discard_ -= k;
            data = data.subspan(k);
        }
        if (data.empty()) continue;
        in_flight_ = data.size();
        auto wec = co_await mode_.serial_writer().write(data);
        in_flight_ = 0;
        if (wec) break;  // the Port sees the device failure on its read side
    }
    end();
}

core::Task<void> Session::writer() {
    auto& ctx = mode_.ctx();
    (void)co_await out_.run(socket_, [this, &ctx](std::size_t n) {
        tx_ += n;
        ctx.stats.net_tx_bytes.fetch_add(n, std::memory_order_relaxed);
        if (jammed_ && out_.queued() < core::limits::kClientQueueBytes / 2) jammed_ = false;
        mode_.update_backpressure();
    });
    end();  // drained, aborted or failed: the session is over either way
}

}  // namespace

ModePtr create(PortContext& ctx, const config::ModeSettings& settings, std::error_code& ec) {
    ec = {};
    return std::make_unique<RealComMode>(ctx, std::get<config::RealComSettings>(settings));
}

}  // namespace sg::modes::real_com
