// rfc2217_session.h: the one client connection of RFC 2217 mode (rfc2217_mode.h): Telnet option
// negotiation, the Com Port Control requests and answers, serial data both ways. Made by the
// mode's accept callback; its reader, serial worker and writer run on the port strand.
#pragma once

#include <cstddef>
#include <deque>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "core/signal.h"
#include "modes/common/listener.h"
#include "modes/common/serial_writer.h"
#include "modes/common/session_base.h"
#include "modes/rfc2217/com_port.h"
#include "modes/rfc2217/telnet_codec.h"

namespace sg::modes::rfc2217 {

/// What a Session asks of its mode.
class SessionOwner {
public:
    /// PURGE-DATA "receive": serial bytes held for the client (a packer's frame) are dropped.
    virtual void discard_held() = 0;
    /// The session's data queue changed: pause or resume the serial reads.
    virtual void update_backpressure() = 0;

protected:
    ~SessionOwner() = default;
};

/// IAC BRK from the client, in line with the data.
struct TelnetBreak {};
/// One step of the serial worker: bytes to write, a line request, or a break.
using SerialOp = std::variant<std::vector<std::byte>, ComPortRequest, TelnetBreak>;

/// The one client connection (common::SessionBase: socket, counters, drain and end).
class Session final : public common::SessionBase {
public:
    using Bytes = std::vector<std::byte>;

    Session(common::Stream stream, common::Listener& listener, SessionOwner& owner,
            std::uint8_t alive_check_min);
    void start();
    /// Serial bytes (one packed frame) for the client: escaped, sent or queued.
    void send_data(std::span<const std::byte> frame);
    void on_notification(const serial::Notification& n);

    std::size_t data_queued() const { return data_queued_; }

private:
    core::Task<void> reader();
    core::Task<void> serial_worker();
    core::Task<void> writer();
    void on_drain() override;
    void on_end() override;

    void handle(const Event& e);
    void handle_request(const ComPortRequest& req);
    void push_data(std::span<const std::byte> bytes);
    /// push_data() for all of decoded_.data: the buffer itself becomes the op when it cannot be
    /// merged, so the common read (data only) is not copied again.
    void push_decoded();
    void push_op(SerialOp op);
    bool com_port_on() const;
    void protocol_error(const char* what);

    SessionOwner& owner_;

    TelnetDecoder decoder_;
    Decoded decoded_;
    Bytes spare_;  // a written data op's buffer, kept for the next decoded_.data
    OptionTable options_;
    ComPortServer com_;
    bool announced_ = false;       // the first NOTIFY-MODEMSTATE went out
    bool reported_error_ = false;  // one serial.protocol_error event per session

    // network → serial: the reader queues, the worker writes ops_ in order (serial_writer_ takes
    // one write at a time and counts serial_tx_bytes).
    common::SerialWriter serial_writer_;
    std::deque<SerialOp> ops_;
    std::size_t pending_serial_ = 0;  // wire bytes of ops_ and of the write in flight
    bool purged_write_ = false;       // PURGE-DATA aborted the write in flight
    bool peer_closed_ = false;        // the client sent FIN: the worker finishes, then drain()
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
};

}  // namespace sg::modes::rfc2217
