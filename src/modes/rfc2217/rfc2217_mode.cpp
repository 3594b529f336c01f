// rfc2217_mode.cpp: RFC 2217 mode. Created by the Port on its strand; the accept loop, the one
// session's three coroutines (reader, serial worker, writer) and the force-transmit timer all run
// on that strand (no locks).
//
// One client at a time, as the device and ser2net's default (max-connections 1) do: a second
// connection is accepted and closed at once (serial.refused), so it sees EOF, not a timeout.
//
// Network → serial: reader → TelnetDecoder → data bytes and requests, kept in wire order in a
// bounded queue (kPendingSerialBytes); the serial worker writes the data and applies the line
// requests (SET-BAUDRATE ... SET-CONTROL, IAC BRK) in that order, so a baud change lands after the
// bytes sent before it. Requests that must not wait behind data (PURGE-DATA, FLOWCONTROL-SUSPEND/
// RESUME, the masks, polls, SIGNATURE) are handled as soon as they are read: a client purging a
// blocked transmit buffer must be heard while the blocked write is still pending.
// Serial → network: on_serial_data → Packer → IAC-escaped chunk. With nothing queued and no
// write in flight the chunk goes straight into the socket (non-blocking, as TCP Server's offer()
// does); what the socket does not take goes on the session's data queue. The writer sends
// control bytes (negotiation, answers, notifications) first and data unless the client sent
// FLOWCONTROL-SUSPEND. A data queue over kClientQueueBytes pauses the port's serial reads until
// it drains to half (backpressure; nothing grows unbounded).
#include "modes/rfc2217/rfc2217_mode.h"

#include <deque>
#include <optional>
#include <variant>

#include "core/clock.h"
#include "core/limits.h"
#include "core/signal.h"
#include "modes/common/packer.h"
#include "modes/common/read_pause.h"
#include "modes/common/tcp_options.h"
#include "modes/rfc2217/com_port.h"
#include "modes/rfc2217/telnet_codec.h"

namespace sg::modes::rfc2217 {

namespace {

using asio::ip::tcp;
using Bytes = std::vector<std::byte>;

/// Client bytes decoded but not yet handed to the serial driver: past this the reader stops
/// reading, so TCP flow control reaches the client. A limit of the design: a PURGE sent behind
/// more than this much blocked data waits in the TCP stream like the data does.
constexpr std::size_t kPendingSerialBytes = core::limits::kNetReadBytes;
/// Answers and notifications not yet sent: a client that sends requests but never reads the
/// answers stops being read once this much is waiting.
constexpr std::size_t kControlBytes = 16 * 1024;
/// Ordered data ops are merged up to this size (fewer, larger serial writes).
constexpr std::size_t kMergeBytes = 16 * 1024;
/// IAC BRK (RFC 854 "break") holds the line in break this long: the 0.25 s of tcsendbreak(0).
constexpr std::chrono::milliseconds kTelnetBreak{250};

class Rfc2217Mode;

/// IAC BRK from the client, in line with the data.
struct TelnetBreak {};
/// One step of the serial worker: bytes to write, a line request, or a break.
using SerialOp = std::variant<Bytes, ComPortRequest, TelnetBreak>;

/// The one client connection. Kept alive by its coroutines (shared_from_this); the mode holds a
/// plain pointer for data, notifications and stop, cleared when the last coroutine ends.
class Session : public std::enable_shared_from_this<Session> {
public:
    Session(tcp::socket socket, Rfc2217Mode& mode);
    void start();
    /// Serial bytes (one packed frame) for the client: escaped and queued.
    void send_data(std::span<const std::byte> frame);
    void on_notification(const serial::Notification& n);
    /// Graceful end: send what is queued (bounded by kDrainTimeout), then close.
    void drain();
    /// Immediate end: close the socket; pending I/O completes with errors.
    void end();

    std::size_t data_queued() const { return data_queued_; }
    PeerStatus status() const { return {peer_, connected_at_, tx_, rx_}; }

private:
    core::Task<void> reader();
    core::Task<void> serial_worker();
    core::Task<void> writer();
    void spawn(core::Task<void> task);
    void coroutine_done();

    void handle(const Event& e);
    void handle_request(const ComPortRequest& req);
    void push_data(std::span<const std::byte> bytes);
    /// push_data() for all of decoded_.data: the buffer itself becomes the op when it cannot be
    /// merged, so the common read (data only) is not copied again.
    void push_decoded();
    void push_op(SerialOp op);
    bool com_port_on() const;
    void protocol_error(const char* what);

    tcp::socket socket_;
    Rfc2217Mode& mode_;
    PortContext& ctx_;
    std::string peer_;
    std::int64_t connected_at_;

    TelnetDecoder decoder_;
    Decoded decoded_;
    Bytes spare_;  // a written data op's buffer, kept for the next decoded_.data
    OptionTable options_;
    ComPortServer com_;
    bool announced_ = false;       // the first NOTIFY-MODEMSTATE went out
    bool reported_error_ = false;  // one serial.protocol_error event per session

    // network → serial
    std::deque<SerialOp> ops_;
    std::size_t pending_serial_ = 0;  // data bytes in ops_ plus the write in flight
    bool serial_writing_ = false;     // a serial write (the worker's or the reader's) in flight
    core::Signal worker_wake_;        // new op, drain or end
    core::Signal reader_wake_;        // room again in ops_ or control_

    // serial → network
    Bytes control_;                // negotiation, answers and notifications, sent first
    std::deque<Bytes> data_;       // escaped serial data
    std::size_t data_queued_ = 0;  // bytes in data_ plus the write in flight
    std::size_t inflight_ = 0;     // data bytes of the write in flight
    bool writing_ = false;         // the writer has a write (control or data) in flight
    Bytes escaped_;                // send_data()'s scratch for the direct write
    bool suspended_ = false;       // FLOWCONTROL-SUSPEND: hold data_, keep answering
    core::Signal writer_wake_;     // new bytes, resume, drain or end

    bool draining_ = false;
    bool ended_ = false;
    asio::steady_timer drain_timer_;  // ends a draining session after kDrainTimeout
    int running_ = 0;                 // coroutines still running
    std::uint64_t tx_ = 0;
    std::uint64_t rx_ = 0;
};

class Rfc2217Mode final : public Mode {
public:
    Rfc2217Mode(PortContext& ctx, const config::Rfc2217Settings& s)
        : ctx_(ctx),
          settings_(s),
          acceptor_(ctx.strand),
          packer_(s.packing),
          force_timer_(ctx.strand) {}

    std::error_code start() override {
        if (auto ec = common::listen(acceptor_, ctx_.listen_address, settings_.local_port)) {
            return ec;
        }
        listening_ = acceptor_.local_endpoint().address().to_string() + ":" +
                     std::to_string(settings_.local_port);
        // The line as configured: each client starts from it and leaves it so (restore_line()).
        if (auto st = ctx_.serial.settings(); st) configured_ = *st;
        ++running_;
        asio::co_spawn(ctx_.strand, accept_loop(), [this](const std::exception_ptr& e) {
            if (e) failure("accept loop");
            --running_;
            maybe_done();
        });
        return {};
    }

    void on_serial_data(std::span<const std::byte> bytes) override {
        if (session_ == nullptr) return;  // the device drops serial data with no client
        if (packer_.passthrough()) {
            send(bytes);
            return;
        }
        packer_.feed(bytes, [this](std::span<const std::byte> f) { send(f); });
        if (auto ft = packer_.force_transmit(); ft && packer_.holding()) {
            // Force transmit: restarted by every byte, fires after ft of serial silence.
            force_timer_.expires_after(*ft);
            ++timer_waits_;
            force_timer_.async_wait([this](boost::system::error_code ec) {
                --timer_waits_;
                if (!ec && !stopping_) {
                    packer_.flush([this](std::span<const std::byte> f) { send(f); });
                }
                maybe_done();
            });
        }
    }

    void on_serial_notification(const serial::Notification& n) override {
        if (session_ != nullptr) session_->on_notification(n);
    }

    void stop(std::function<void()> done) override {
        stopping_ = true;
        done_ = std::move(done);
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        force_timer_.cancel();
        // Bytes still held by the packer go out before the session drains.
        packer_.flush([this](std::span<const std::byte> f) { send(f); });
        if (session_ != nullptr) session_->drain();
        maybe_done();
    }

    ModeStatus status() const override {
        ModeStatus st{"rfc2217", stopping_ ? "stopping" : "listening on " + listening_, {}};
        if (session_ != nullptr) st.peers.push_back(session_->status());
        return st;
    }

    // ---- used by Session
    PortContext& ctx() { return ctx_; }
    const config::Rfc2217Settings& settings() const { return settings_; }

    void session_ended(Session* s) {
        if (session_ == s) session_ = nullptr;
        // Whatever the packer held was for that client; the next one starts clean.
        discard_held();
        restore_line();
        update_backpressure();
        maybe_done();
    }

    /// PURGE-DATA "receive": serial bytes not yet sent to the client are dropped, including a
    /// frame the packer holds.
    void discard_held() {
        force_timer_.cancel();
        packer_.flush([](std::span<const std::byte>) {});
    }

    /// A client's line settings, modem outputs and break last as long as its connection, as with
    /// ser2net (which reopens the device per connection): the next client finds the line as the
    /// configuration says, RTS and DTR on as after an open, no break.
    void restore_line() {
        if (configured_) (void)ctx_.serial.configure(*configured_);
        (void)ctx_.serial.set_break(false);
        (void)ctx_.serial.set_rts(true);
        (void)ctx_.serial.set_dtr(true);
    }

    void update_backpressure() {
        read_pause_.update(session_ != nullptr ? session_->data_queued() : 0);
    }

    void failure(const char* what) {
        ctx_.events.emit(events::types::kModeFailed, {.port = ctx_.id},
                         std::string(what) + " ended by an unexpected exception");
    }

private:
    core::Task<void> accept_loop() {
        for (;;) {
            auto [ec, socket] = co_await acceptor_.async_accept(core::use_nothrow);
            if (ec) {
                if (stopping_ || ec == asio::error::operation_aborted) co_return;
                // EMFILE and friends: log, back off a little, keep serving.
                ctx_.events.emit(events::types::kModeFailed, {.port = ctx_.id},
                                 "accept: " + ec.message());
                asio::steady_timer t(ctx_.strand, std::chrono::milliseconds(100));
                (void)co_await t.async_wait(core::use_nothrow);
                continue;
            }
            const std::string peer = common::peer_string(socket);
            if (session_ != nullptr) {
                // The port is one client's serial line: a second client would fight the first
                // over baud rate and modem lines. Accepted and closed with FIN, logged.
                ctx_.stats.refused.fetch_add(1, std::memory_order_relaxed);
                ctx_.events.emit(events::types::kRefused, {.port = ctx_.id, .source = peer},
                                 "RFC 2217 port already in use by " + session_->status().address);
                boost::system::error_code ignored;
                socket.shutdown(tcp::socket::shutdown_both, ignored);
                socket.close(ignored);
                continue;
            }
            ctx_.stats.connections.fetch_add(1, std::memory_order_relaxed);
            ctx_.events.emit(events::types::kConnected, {.port = ctx_.id, .source = peer});
            auto session = std::make_shared<Session>(std::move(socket), *this);
            session_ = session.get();
            session->start();
        }
    }

    void send(std::span<const std::byte> frame) {
        if (session_ == nullptr || frame.empty()) return;
        session_->send_data(frame);
        update_backpressure();
    }

    void maybe_done() {
        if (!stopping_ || !done_ || running_ != 0 || timer_waits_ != 0 || session_ != nullptr) {
            return;
        }
        read_pause_.release();
        auto done = std::move(done_);
        done_ = nullptr;
        asio::post(ctx_.strand, std::move(done));
    }

    PortContext& ctx_;
    config::Rfc2217Settings settings_;
    tcp::acceptor acceptor_;
    common::Packer packer_;
    asio::steady_timer force_timer_;
    Session* session_ = nullptr;
    std::optional<config::SerialSettings> configured_;  // the line at start()
    std::string listening_;
    std::function<void()> done_;
    int running_ = 0;
    int timer_waits_ = 0;
    bool stopping_ = false;
    common::ReadPause read_pause_{ctx_};  // after ctx_: initialised from it
};

// ---------------------------------------------------------------- Session

Session::Session(tcp::socket socket, Rfc2217Mode& mode)
    : socket_(std::move(socket)),
      mode_(mode),
      ctx_(mode.ctx()),
      peer_(common::peer_string(socket_)),
      connected_at_(core::now_utc_us()),
      com_(ctx_.serial, "SerialGate port " + std::to_string(ctx_.id)),
      worker_wake_(ctx_.strand),
      reader_wake_(ctx_.strand),
      writer_wake_(ctx_.strand),
      drain_timer_(ctx_.strand) {
    boost::system::error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);  // serial traffic is small and latency-bound
    socket_.non_blocking(true, ignored);  // send_data() writes directly and must never block
    common::set_alive_check(socket_, mode.settings().tcp_alive_check_min);
    // What we agree to (RFC 2217 §1): 8-bit data both ways (RFC 856), no go-aheads (RFC 858),
    // and the COM-PORT option on both sides. ECHO and everything else is refused.
    for (std::uint8_t opt : {kOptBinary, kOptSga, kOptComPort}) {
        options_.accept_local(opt);
        options_.accept_remote(opt);
    }
}

void Session::spawn(core::Task<void> task) {
    ++running_;
    asio::co_spawn(ctx_.strand, std::move(task),
                   [self = shared_from_this()](const std::exception_ptr& e) {
                       if (e) self->mode_.failure("RFC 2217 session");
                       self->coroutine_done();
                   });
}

void Session::start() {
    // We open the negotiation (RFC 2217 §1: the client sends WILL COM-PORT-OPTION, the server
    // DO): binary both ways, SGA both ways, and DO COM-PORT-OPTION. pyserial waits for our DO
    // COM-PORT and DO BINARY before it configures the port.
    options_.request_local(kOptBinary, control_);
    options_.request_remote(kOptBinary, control_);
    options_.request_local(kOptSga, control_);
    options_.request_remote(kOptSga, control_);
    options_.request_remote(kOptComPort, control_);
    spawn(reader());
    spawn(serial_worker());
    spawn(writer());
}

void Session::coroutine_done() {
    if (--running_ != 0) return;
    ctx_.events.emit(events::types::kDisconnected, {.port = ctx_.id, .source = peer_},
                     "sent " + std::to_string(tx_) + " bytes, received " + std::to_string(rx_));
    mode_.session_ended(this);
}

bool Session::com_port_on() const {
    // WantYes counts: we asked with DO, and a client that got our DO before sending its own WILL
    // takes the option as agreed and never sends WILL (pyserial does exactly that). Only a refusal
    // (state No after our request) keeps COM-PORT off.
    return options_.remote_state(kOptComPort) != OptionTable::Q::No ||
           options_.local_on(kOptComPort);
}

void Session::protocol_error(const char* what) {
    if (reported_error_) return;  // a confused client could repeat it per byte
    reported_error_ = true;
    ctx_.events.emit(events::types::kProtocolError, {.port = ctx_.id, .source = peer_}, what);
}

// ---- serial → network

void Session::send_data(std::span<const std::byte> frame) {
    if (ended_ || draining_) return;
    Bytes chunk;
    if (!writing_ && data_.empty() && control_.empty() && !suspended_) {
        // Fast path: nothing queued and no write in flight, so the bytes may go straight into
        // the socket in order — no copy onto the queue, no wake-up of the writer, no extra trip
        // through the event loop. What the socket does not take is queued.
        escaped_.clear();
        append_escaped(frame, escaped_);
        boost::system::error_code ec;
        std::size_t sent = socket_.write_some(asio::buffer(escaped_), ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) {
            sent = 0;
        } else if (ec) {
            end();  // reset by the peer: the reader and writer see it and finish
            return;
        }
        tx_ += sent;
        ctx_.stats.net_tx_bytes.fetch_add(sent, std::memory_order_relaxed);
        if (sent == escaped_.size()) return;
        chunk.assign(escaped_.begin() + static_cast<std::ptrdiff_t>(sent), escaped_.end());
    } else {
        chunk.reserve(frame.size() + frame.size() / 16 + 8);
        append_escaped(frame, chunk);
    }
    data_queued_ += chunk.size();
    data_.push_back(std::move(chunk));
    writer_wake_.notify();
}

void Session::on_notification(const serial::Notification& n) {
    if (ended_ || !com_port_on()) return;  // a client without COM-PORT would read them as data
    const std::size_t before = control_.size();
    if (control_.size() >= kControlBytes) {
        // The client reads nothing: a notification is state, and the next one carries the lines
        // again, so dropping this one loses no lasting information.
        return;
    }
    using Kind = serial::Notification::Kind;
    if (n.kind == Kind::ModemLinesChanged) {
        com_.on_modem_lines(n.lines, control_);
    } else {
        com_.on_line_condition(n.errors, control_);
    }
    if (control_.size() != before) writer_wake_.notify();
}

// ---- network → serial

void Session::push_op(SerialOp op) {
    ops_.push_back(std::move(op));
    worker_wake_.notify();
}

void Session::push_data(std::span<const std::byte> bytes) {
    if (bytes.empty()) return;
    pending_serial_ += bytes.size();
    if (!ops_.empty()) {
        if (auto* last = std::get_if<Bytes>(&ops_.back()); last && last->size() < kMergeBytes) {
            last->insert(last->end(), bytes.begin(), bytes.end());
            worker_wake_.notify();
            return;
        }
    }
    push_op(Bytes(bytes.begin(), bytes.end()));
}

void Session::push_decoded() {
    Bytes& d = decoded_.data;
    if (d.empty()) return;
    if (!ops_.empty()) {
        if (auto* last = std::get_if<Bytes>(&ops_.back()); last && last->size() < kMergeBytes) {
            push_data(d);  // merged: copied onto the last op
            return;
        }
    }
    pending_serial_ += d.size();
    push_op(std::move(d));
    d = std::move(spare_);  // capacity of an earlier op, or none
    spare_ = Bytes();
    d.clear();
}

void Session::handle(const Event& e) {
    if (const auto* n = std::get_if<Negotiation>(&e.what)) {
        const OptionTable::Change c = options_.receive(*n, control_);
        if (n->option == kOptBinary && !c.local) {
            // A client that refuses BINARY is a real NVT (RFC 854): its bare CR comes as CR NUL.
            // One that never negotiates (a raw socket) is left alone: every byte is data.
            decoder_.set_nvt_cr_nul(n->verb == Verb::Wont);
        }
        if (n->option == kOptComPort && c.enabled && !announced_) {
            announced_ = true;
            com_.initial_modem_state(control_);
        }
        return;
    }
    if (const auto* r = std::get_if<ComPortRequest>(&e.what)) {
        handle_request(*r);
        return;
    }
    if (const auto* t = std::get_if<TelnetCommand>(&e.what)) {
        if (t->code == kBreak) push_op(TelnetBreak{});
        return;  // NOP, AYT, GA, DM, ...: nothing to do for a serial line
    }
    if (std::holds_alternative<Malformed>(e.what)) {
        protocol_error("malformed Telnet subnegotiation (too long or cut short)");
    }
}

void Session::handle_request(const ComPortRequest& req) {
    if (!com_port_on()) {
        // RFC 855: a subnegotiation is only valid for an option in effect; the client refused
        // COM-PORT-OPTION.
        protocol_error("COM-PORT-OPTION request after the client refused the option");
        return;
    }
    if (!announced_) {
        announced_ = true;
        com_.initial_modem_state(control_);
    }
    if (runs_in_order(req.command)) {
        push_op(req);
        return;
    }
    switch (static_cast<ComCommand>(req.command)) {
        case ComCommand::FlowcontrolSuspend:
            suspended_ = true;  // RFC 2217 §5: stop sending data to the client
            return;
        case ComCommand::FlowcontrolResume:
            suspended_ = false;
            writer_wake_.notify();
            return;
        case ComCommand::PurgeData:
            if (req.value.size() == 1 && (req.value[0] & 2) != 0) {
                // Transmit buffer: client bytes not yet handed to the driver go too; line
                // requests queued among them still run.
                std::deque<SerialOp> kept;
                for (auto& op : ops_) {
                    if (auto* b = std::get_if<Bytes>(&op)) {
                        pending_serial_ -= b->size();
                    } else {
                        kept.push_back(std::move(op));
                    }
                }
                ops_.swap(kept);
                reader_wake_.notify();
            }
            if (req.value.size() == 1 && (req.value[0] & 1) != 0) {
                // Receive buffer: serial bytes not yet sent to the client.
                data_.clear();
                data_queued_ = inflight_;
                mode_.discard_held();
                mode_.update_backpressure();
            }
            break;
        default: break;
    }
    com_.handle(req, control_);  // the device side of a purge, and every other answer
}

core::Task<void> Session::reader() {
    std::vector<std::byte> buf(core::limits::kNetReadBytes);
    while (!ended_) {
        // Bounded: no more reading while the serial side or the client's answers are behind.
        if (pending_serial_ >= kPendingSerialBytes || control_.size() >= kControlBytes) {
            co_await reader_wake_.wait();
            continue;
        }
        auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buf), core::use_nothrow);
        if (ec || ended_) break;  // EOF and reset are normal endings
        rx_ += n;
        ctx_.stats.net_rx_bytes.fetch_add(n, std::memory_order_relaxed);
        if (draining_) continue;  // stopping: the serial line takes no new bytes
        decoded_.clear();
        decoded_.data.reserve(buf.size());  // no growth while decoding (a no-op once reused)
        decoder_.feed(std::span(buf).first(n), decoded_);
        if (decoded_.events.empty()) {  // the common read: data only
            if (ops_.empty() && !serial_writing_ && !decoded_.data.empty()) {
                // Nothing queued before it and the line idle: write it from here, as the TCP
                // Server does, without the hand-over to the worker.
                serial_writing_ = true;
                const std::error_code wec = co_await ctx_.serial.write(decoded_.data);
                serial_writing_ = false;
                worker_wake_.notify();  // ops queued meanwhile (none today) wait for no one
                if (wec) break;
                ctx_.stats.serial_tx_bytes.fetch_add(decoded_.data.size(),
                                                     std::memory_order_relaxed);
                continue;
            }
            push_decoded();
            continue;
        }
        std::size_t at = 0;
        for (const Event& e : decoded_.events) {
            push_data(std::span(decoded_.data).subspan(at, e.at - at));
            at = e.at;
            handle(e);
        }
        push_data(std::span(decoded_.data).subspan(at));
        if (!control_.empty()) writer_wake_.notify();
    }
    end();
}

core::Task<void> Session::serial_worker() {
    // Ends by itself on drain (the serial line takes no new bytes) and on end(); a failed write
    // ends the session: the Port sees the device failure on its read side and restarts the mode.
    while (!ended_ && !draining_) {
        if (ops_.empty() || serial_writing_) {
            co_await worker_wake_.wait();
            continue;
        }
        SerialOp op = std::move(ops_.front());  // owned here: a purge cannot free it mid-write
        ops_.pop_front();
        if (auto* data = std::get_if<Bytes>(&op)) {
            serial_writing_ = true;
            const std::error_code ec = co_await ctx_.serial.write(*data);
            serial_writing_ = false;
            pending_serial_ -= std::min(pending_serial_, data->size());
            reader_wake_.notify();
            if (ec) {
                end();
                break;
            }
            ctx_.stats.serial_tx_bytes.fetch_add(data->size(), std::memory_order_relaxed);
            if (spare_.capacity() == 0) spare_ = std::move(*data);  // decoded_.data's next buffer
        } else if (auto* req = std::get_if<ComPortRequest>(&op)) {
            com_.handle(*req, control_);
            writer_wake_.notify();
        } else {
            (void)ctx_.serial.send_break(kTelnetBreak);
        }
    }
}

core::Task<void> Session::writer() {
    while (!ended_) {
        // What is written is moved out of the queues first: a PURGE while the write is in flight
        // clears the queues without freeing the buffers being sent.
        std::vector<Bytes> sending;
        std::size_t n = 0;
        const bool data = control_.empty();
        if (!data) {
            sending.emplace_back().swap(control_);  // answers first: someone waits for them
            n = sending.front().size();
        } else if (!suspended_ && !data_.empty()) {
            // Gather what is queued into one write: fewer syscalls under load.
            const std::size_t count = std::min<std::size_t>(data_.size(), 64);
            sending.reserve(count);
            for (std::size_t i = 0; i < count; ++i) {
                n += data_.front().size();
                sending.push_back(std::move(data_.front()));
                data_.pop_front();
            }
            inflight_ = n;  // still counted in data_queued_ until written (backpressure)
        } else {
            if (draining_) break;
            co_await writer_wake_.wait();
            continue;
        }
        std::vector<asio::const_buffer> bufs;
        bufs.reserve(sending.size());
        for (const Bytes& b : sending) bufs.emplace_back(asio::buffer(b));
        writing_ = true;  // send_data() must not write around it
        auto [ec, written] = co_await asio::async_write(socket_, bufs, core::use_nothrow);
        writing_ = false;
        if (data) {
            data_queued_ -= std::min(data_queued_, inflight_);
            inflight_ = 0;
            mode_.update_backpressure();
        } else {
            reader_wake_.notify();
        }
        if (ec) break;
        tx_ += written;
        ctx_.stats.net_tx_bytes.fetch_add(written, std::memory_order_relaxed);
    }
    end();
}

void Session::drain() {
    if (ended_ || draining_) return;
    draining_ = true;
    ops_.clear();
    pending_serial_ = 0;
    worker_wake_.notify();
    writer_wake_.notify();
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
    worker_wake_.notify();
    reader_wake_.notify();
    writer_wake_.notify();
}

}  // namespace

ModePtr create(PortContext& ctx, const config::ModeSettings& settings, std::error_code& ec) {
    ec = {};
    return std::make_unique<Rfc2217Mode>(ctx, std::get<config::Rfc2217Settings>(settings));
}

}  // namespace sg::modes::rfc2217
