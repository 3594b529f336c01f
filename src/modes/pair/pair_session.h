// pair_session.h: one Pair Connection between a master and a slave (issue 5 §6;
// docs/pair-protocol.md), the same on both ends: HELLO exchange under a deadline, then serial data
// both ways and each side's input lines (CTS, DSR, DCD, RI) reported to the other, which drives
// its outputs from them (RTS = remote CTS, DTR = remote DSR). Runs on the port strand.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "core/signal.h"
#include "modes/common/peer_watch.h"
#include "modes/common/serial_writer.h"
#include "modes/common/stream.h"
#include "modes/common/stream_writer.h"
#include "modes/mode.h"
#include "modes/pair/pair_codec.h"

namespace sg::modes::pair {

/// The peer must send its HELLO within this time, or it is not a pair peer (STYLE.md §3.9: every
/// untrusted read has a deadline).
inline constexpr std::chrono::seconds kHelloTimeout{10};

/// What a Session needs from the mode that owns it.
class SessionOwner {
public:
    virtual ~SessionOwner() = default;
    /// Runs a coroutine of the session on the strand; `then` runs when it has ended. The owner
    /// counts it, so that stop() completes only after it.
    virtual void spawn(core::Task<void> task, std::function<void()> then) = 0;
    /// The session's send queue changed: pause or resume the serial reads.
    virtual void update_backpressure() = 0;
    /// The peer's HELLO was accepted: the pair is up.
    virtual void established() = 0;
};

/// The lines a side reports: its inputs.
Lines inputs_of(const serial::ModemLines& lines);

/// Drives our outputs from the peer's inputs (RTS = remote CTS, DTR = remote DSR), or drops both
/// when `remote` is empty (no peer: like an unplugged cable). An output the flow control owns
/// (RTS under rts_cts, DTR under dtr_dsr) is left to the driver. A line without modem control (a
/// pty) ignores it.
void drive_outputs(serial::Device& device, const std::optional<Lines>& remote);

class Session {
public:
    Session(PortContext& ctx, SessionOwner& owner, common::SerialWriter& serial_writer,
            common::Stream stream, Role self, std::uint8_t alive_check_min);

    /// Serves the connection until it ends; returns why it ended ("closed by the peer",
    /// "protocol error: ...", "no HELLO within 10 s", ...).
    core::Task<std::string> run();

    /// Serial bytes for the peer. Dropped until the pair is established (the device drops data
    /// with no connection to go to).
    void send_data(std::span<const std::byte> bytes);
    /// Our inputs changed: tell the peer (only when they differ from what it was last told).
    void send_lines(const Lines& lines);
    /// Graceful end: queued bytes go first, bounded by kDrainTimeout.
    void drain(std::string why);

    bool established() const { return established_; }
    /// The session ended because the peer broke the framing (after or before HELLO).
    bool protocol_error() const { return protocol_error_; }
    std::size_t queued() const { return out_.queued(); }
    const std::string& peer() const { return peer_; }
    const asio::ip::address& address() const { return address_; }  // what the allowlist judges
    /// Immediate end (NE-4: the allowlist no longer allows the peer): run() returns `why`.
    void end(std::string why);
    PeerStatus status() const { return {peer_, connected_at_, tx_, rx_}; }
    std::uint64_t tx() const { return tx_; }
    std::uint64_t rx() const { return rx_; }

private:
    core::Task<void> reader();
    core::Task<void> writer();
    void part_done();
    void close_now();
    void push(std::vector<std::byte> frame);

    PortContext& ctx_;
    SessionOwner& owner_;
    common::SerialWriter& serial_writer_;
    common::Stream stream_;
    const Role self_;
    Decoder decoder_;
    common::StreamWriter out_;
    common::PeerWatch watch_;  // the reader's serial writes, ended with the connection
    core::Signal parts_wake_;
    std::string peer_;
    asio::ip::address address_;
    std::int64_t connected_at_;
    std::optional<Lines> sent_lines_;
    std::string end_reason_;
    std::chrono::steady_clock::time_point drain_deadline_;
    int parts_ = 0;
    bool established_ = false;
    bool protocol_error_ = false;
    bool draining_ = false;
    bool closed_ = false;
    std::uint64_t tx_ = 0;
    std::uint64_t rx_ = 0;
};

}  // namespace sg::modes::pair
