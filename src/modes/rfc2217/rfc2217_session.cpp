// rfc2217_session.cpp: the one RFC 2217 client connection (rfc2217_session.h). Created by
// rfc2217_mode.cpp's accept callback; the reader, the serial worker and the writer run on the
// port strand (no locks). The mode's opening paragraph tells the data paths in both directions.
#include "modes/rfc2217/rfc2217_session.h"

#include <algorithm>
#include <chrono>

#include "core/limits.h"

namespace sg::modes::rfc2217 {

namespace {

/// What the client sent for the serial side that has not been carried out yet — data bytes not
/// yet handed to the driver and line requests and breaks not yet applied, each counted by its size
/// on the wire: past this the reader stops reading, so TCP flow control reaches the client and
/// nothing a client sends grows memory without bound (issue 14 item 1). Two reads' worth, so the
/// reader reads on while the worker writes. A limit of the design: a PURGE sent behind more than
/// this much blocked data waits in the TCP stream like the data does.
constexpr std::size_t kPendingSerialBytes = 2 * core::limits::kNetReadBytes;
/// Answers and notifications not yet sent: a client that sends requests but never reads the
/// answers stops being read once this much is waiting.
constexpr std::size_t kControlBytes = 16 * 1024;
/// Ordered data ops are merged up to this size (fewer, larger serial writes).
constexpr std::size_t kMergeBytes = 16 * 1024;
/// What a queued request or break is charged at least: about what it holds in memory (its slot in
/// the queue and its value's buffer), several times its few bytes on the wire. Charging the wire
/// size alone would let 128 KiB of 2-byte IAC BRKs hold ~3 MiB.
constexpr std::size_t kOpBytes = 64;

/// What an op counts toward kPendingSerialBytes: data bytes as sent (IAC escapes aside); a request
/// (IAC SB COM-PORT-OPTION <command> <value> IAC SE) or a break (IAC BRK) its size on the wire or
/// kOpBytes, whichever is more.
std::size_t wire_size(const SerialOp& op) {
    if (const auto* b = std::get_if<std::vector<std::byte>>(&op)) return b->size();
    if (const auto* r = std::get_if<ComPortRequest>(&op)) {
        return std::max(kOpBytes, 6 + r->value.size());
    }
    return kOpBytes;
}
/// IAC BRK (RFC 854 "break") holds the line in break this long: the 0.25 s of tcsendbreak(0).
constexpr std::chrono::milliseconds kTelnetBreak{250};

}  // namespace

using asio::ip::tcp;

Session::Session(common::Stream stream, common::Listener& listener, SessionOwner& owner,
                 std::uint8_t alive_check_min)
    : SessionBase(std::move(stream), listener, alive_check_min, "RFC 2217 session"),
      owner_(owner),
      com_(ctx_.serial, "SerialGate port " + std::to_string(ctx_.id)),
      serial_writer_(ctx_),
      worker_wake_(ctx_.strand),
      reader_wake_(ctx_.strand),
      writer_wake_(ctx_.strand) {
    // What we agree to (RFC 2217 §1): 8-bit data both ways (RFC 856), no go-aheads (RFC 858),
    // and the COM-PORT option on both sides. ECHO and everything else is refused.
    for (std::uint8_t opt : {kOptBinary, kOptSga, kOptComPort}) {
        options_.accept_local(opt);
        options_.accept_remote(opt);
    }
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
    // Once per session, and per source and minute across sessions: a stranger can connect, send
    // garbage and close as often as it likes (issue 14 item 5).
    ctx_.events.emit_limited(events::types::kProtocolError, {.port = ctx_.id, .source = peer_},
                             what, common::kConnectionEventLimit);
}

// ---- serial → network

void Session::send_data(std::span<const std::byte> frame) {
    if (ended_ || draining_) return;
    Bytes chunk;
    if (!writing_ && data_.empty() && control_.empty() && !suspended_) {
        // Fast path: nothing queued and no write in flight, so the bytes may go straight into
        // the socket in order — no copy onto the queue, no wake-up of the writer, no extra trip
        // through the event loop. What the socket does not take is queued (under TLS all of it:
        // Stream::try_write takes nothing).
        escaped_.clear();
        append_escaped(frame, escaped_);
        boost::system::error_code ec;
        const std::size_t sent = stream_.try_write(escaped_, ec);
        if (ec) {
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
    if (!std::holds_alternative<Bytes>(op)) pending_serial_ += wire_size(op);  // data: by caller
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
    if (runs_in_order(req.command, req.value)) {
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
                // The write in flight goes too: it may be the one stuck on flow control that the
                // client purges to get out of the stall. The worker takes the abort as the purge.
                if (serial_writer_.busy()) {
                    purged_write_ = true;
                    ctx_.serial.abort_write();
                }
                reader_wake_.notify();
            }
            if (req.value.size() == 1 && (req.value[0] & 1) != 0) {
                // Receive buffer: serial bytes not yet sent to the client.
                data_.clear();
                data_queued_ = inflight_;
                owner_.discard_held();
                owner_.update_backpressure();
            }
            break;
        default: break;
    }
    com_.handle(req, control_);  // the device side of a purge, and every other answer
}

core::Task<void> Session::reader() {
    while (!ended_) {
        // Bounded: no more reading while the serial side or the client's answers are behind.
        if (pending_serial_ >= kPendingSerialBytes || control_.size() >= kControlBytes) {
            co_await reader_wake_.wait();
            continue;
        }
        auto [ec, data] = co_await stream_.read_some();
        if (common::is_eof(ec) && !ended_) {
            // The client closed after its last bytes (pyserial's write() then close()): what it
            // queued still goes to the line, then the worker ends the session — unless the line
            // stops moving, which write_serial()'s watch sees (the peer is gone for good).
            peer_closed_ = true;
            worker_wake_.notify();
            co_return;
        }
        if (ec || ended_) break;  // a reset is a normal ending
        rx_ += data.size();
        ctx_.stats.net_rx_bytes.fetch_add(data.size(), std::memory_order_relaxed);
        if (draining_) continue;  // stopping: the serial line takes no new bytes
        decoded_.clear();
        // Decoded into the session's own buffers before any await (data is the io thread's read
        // buffer, stream.h); sized by what was read, no growth while decoding.
        decoded_.data.reserve(data.size());
        decoder_.feed(data, decoded_);
        if (decoded_.events.empty()) {  // the common read: data only
            // Always through the worker, never written from here: the reader must go on reading
            // while the line is slow or stopped, or a PURGE-DATA, FLOWCONTROL-SUSPEND or RTS on
            // sent to get out of the stall would go unheard (issue 14 item 3).
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
        // Answers wait for a client that reads them: one that does not stops being served here
        // too, so the answers to queued requests cannot pile up (issue 14 item 1).
        // The client closed: done once its last bytes are out, or once it also leaves its answers
        // unread (it would hold the port for ever).
        if (peer_closed_ && (ops_.empty() || control_.size() >= kControlBytes)) break;
        if (ops_.empty() || control_.size() >= kControlBytes) {
            co_await worker_wake_.wait();
            continue;
        }
        SerialOp op = std::move(ops_.front());  // owned here: a purge cannot free it mid-write
        ops_.pop_front();
        const std::size_t size = wire_size(op);
        if (auto* data = std::get_if<Bytes>(&op)) {
            purged_write_ = false;
            // Ends with the session: a client that left never holds the port (write_serial).
            const std::error_code ec = co_await write_serial(serial_writer_, *data);
            pending_serial_ -= std::min(pending_serial_, size);
            reader_wake_.notify();
            if (ec && !(purged_write_ && ec == std::errc::operation_canceled)) {
                end();
                break;
            }
            purged_write_ = false;
            if (spare_.capacity() == 0) spare_ = std::move(*data);  // decoded_.data's next buffer
            continue;
        }
        pending_serial_ -= std::min(pending_serial_, size);
        reader_wake_.notify();
        if (auto* req = std::get_if<ComPortRequest>(&op)) {
            com_.handle(*req, control_);
            writer_wake_.notify();
        } else {
            (void)ctx_.serial.send_break(kTelnetBreak);
        }
    }
    // The answers still go out (bounded by the drain deadline); then the session ends.
    if (peer_closed_) drain();
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
            if (draining_) {
                co_await finish_drained();  // TLS: close_notify, bounded
                break;
            }
            co_await writer_wake_.wait();
            continue;
        }
        std::vector<asio::const_buffer> bufs;
        bufs.reserve(sending.size());
        for (const Bytes& b : sending) bufs.emplace_back(asio::buffer(b));
        writing_ = true;  // send_data() must not write around it
        auto [ec, written] = co_await stream_.write(bufs);
        writing_ = false;
        if (data) {
            data_queued_ -= std::min(data_queued_, inflight_);
            inflight_ = 0;
            owner_.update_backpressure();
        } else {
            reader_wake_.notify();
            worker_wake_.notify();  // room for answers again
        }
        if (ec) break;
        tx_ += written;
        ctx_.stats.net_tx_bytes.fetch_add(written, std::memory_order_relaxed);
    }
    end();
}

void Session::on_drain() {
    ops_.clear();
    pending_serial_ = 0;
    worker_wake_.notify();
    writer_wake_.notify();
}

void Session::on_end() {
    worker_wake_.notify();
    reader_wake_.notify();
    writer_wake_.notify();
}

}  // namespace sg::modes::rfc2217
