// session_base.h: what every accepted connection of the listening modes (TCP Server, Real COM,
// RFC 2217) has in common: the socket with its options, the peer's address and counters, the
// coroutines that keep it alive, and the way it ends — drained (queued bytes go out, bounded by
// kDrainTimeout) or at once (shutdown, close, wake). The data paths (reading, fan-out, writing)
// stay in each mode's Session, which derives from this. On the port strand.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/asio.h"
#include "modes/common/peer_watch.h"
#include "modes/common/serial_writer.h"
#include "modes/common/stream.h"
#include "modes/mode.h"

namespace sg::modes::common {

class Listener;

/// Shuts down both directions and closes, ignoring errors: the peer sees FIN, pending I/O ends.
void close_now(asio::ip::tcp::socket& socket);
inline void close_now(Stream& stream) {
    stream.close();
}
/// Closes with RST (SO_LINGER 0): for a connection refused before any byte (NE-2).
void reset_now(asio::ip::tcp::socket& socket);

/// One accepted connection. Kept alive by its coroutines (shared_from_this); its Listener holds
/// a plain pointer, removed when the last coroutine has ended.
class SessionBase : public std::enable_shared_from_this<SessionBase> {
public:
    SessionBase(const SessionBase&) = delete;
    SessionBase& operator=(const SessionBase&) = delete;
    virtual ~SessionBase() = default;

    /// Graceful end: on_drain() lets the writer send what is queued and finish; the deadline
    /// (kDrainTimeout) ends the session from outside, since the writer may be blocked in a write
    /// to a client that stopped reading. Idempotent; nothing after end().
    void drain();
    /// Immediate end: closes the socket (pending I/O completes with errors), then on_end().
    /// Idempotent.
    void end();

    bool ended() const { return ended_; }
    bool draining() const { return draining_; }
    const std::string& peer() const { return peer_; }
    /// The peer's address (unspecified when the socket had none): what the allowlist judges.
    const asio::ip::address& address() const { return address_; }
    PeerStatus status() const { return {peer_, connected_at_, tx_, rx_}; }

protected:
    /// Takes an accepted connection (plain, or TLS with its handshake done): TCP_NODELAY (serial
    /// traffic is small and latency-bound), non-blocking (fan-out writes straight into an idle
    /// socket and must never block) and the TCP alive check. `what` names the session in the event
    /// of an unexpected exception.
    SessionBase(Stream stream, Listener& listener, std::uint8_t alive_check_min, const char* what);

    /// Runs one of the session's coroutines on the strand. When the last one has ended the
    /// session is over: Disconnected ("sent N bytes, received M") and Listener::Owner told.
    void spawn(core::Task<void> task);

    /// This session's bytes to the serial line, through the port's `writer`, for as long as the
    /// session lives: end() abandons the write (SerialWriter::abandon: the device write is
    /// aborted, the transmit queue flushed), so a client never holds the port through a write
    /// stalled by flow control or a line nobody drains (issue 14 item 2). While the write waits,
    /// the peer is watched (the reader is not reading then, so it would not see the peer leave):
    /// a reset ends the session at once; a close (FIN) ends it once the line has not moved for
    /// kStalledLine — a slow line that is still sending keeps the bytes the client sent before it
    /// closed (common::PeerWatch). One write_serial() at a time per session.
    core::Task<std::error_code> write_serial(SerialWriter& writer,
                                             std::span<const std::byte> bytes);

    /// The writer sent everything a drain asked for: the graceful end of the connection (TLS
    /// close_notify, bounded), then end().
    core::Task<void> finish_drained();

    /// drain() began (draining_ is set): wake what must send the queue and finish.
    virtual void on_drain() {}
    /// end() closed the socket (ended_ is set): wake every coroutine that waits.
    virtual void on_end() {}

    PortContext& ctx_;
    Stream stream_;
    std::string peer_;
    asio::ip::address address_;
    std::int64_t connected_at_;
    std::uint64_t tx_ = 0;  // bytes sent to the peer
    std::uint64_t rx_ = 0;  // bytes received from the peer
    bool draining_ = false;
    bool ended_ = false;

private:
    void coroutine_done();

    Listener& listener_;
    // Whether this session's Connected event was written one by one (Listener::connected): its
    // Disconnected is written then, and only counted otherwise, so that every written
    // Disconnected has its written Connected (issue 14 item 5).
    bool connect_logged_;
    const char* what_;
    asio::steady_timer drain_timer_;  // ends a draining session after kDrainTimeout
    int running_ = 0;                 // coroutines still running
    PeerWatch watch_;                 // write_serial(): the write and the watch on the peer
};

}  // namespace sg::modes::common
