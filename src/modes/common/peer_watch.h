// peer_watch.h: a connection's serial write that ends with the connection (issue 14 item 2; TCP
// Client and Pair Connection since the steering note of issue 12). While a connection awaits the
// serial line with bytes its peer sent, its reader is not reading, so it would not see the peer
// leave; on a line that takes nothing (flow control held, a pty nobody reads) the write, and with
// it the port, would wait for ever. PeerWatch does that write through the port's SerialWriter and,
// while it waits, looks at the peer every kPeerWatchTick: a reset ends the connection at once; a
// close (FIN) ends it once the line has not moved for kStalledLine — a slow line that still sends
// keeps the bytes the peer sent before it closed. Ending the connection (its owner's end or close,
// which calls abandon()) aborts the write at the device. Every TCP connection of a serial mode that
// writes to the line does it through one: SessionBase (TCP Server, Real COM, RFC 2217), TCP
// Client's links, Pair Connection's session. On the port strand.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <system_error>

#include "core/asio.h"
#include "modes/common/serial_writer.h"
#include "modes/common/stream.h"
#include "modes/mode.h"

namespace sg::modes::common {

/// How often a connection waiting on the serial line looks at its peer.
inline constexpr std::chrono::milliseconds kPeerWatchTick{250};
/// A peer that closed is gone for good once the line has not moved for this long: its bytes wait
/// for flow control or a reader that will not come (issue 14 item 2).
inline constexpr std::chrono::milliseconds kStalledLine{1000};

/// How the peer was found gone.
enum class PeerGone { Reset, Closed };

/// Why the connection ended, for its disconnect event: "reset by the peer while the serial line
/// took nothing", "closed by the peer; the serial line took nothing for 1 s".
std::string left_during_write(PeerGone how);

class PeerWatch {
public:
    explicit PeerWatch(PortContext& ctx) : ctx_(ctx) {}
    PeerWatch(const PeerWatch&) = delete;
    PeerWatch& operator=(const PeerWatch&) = delete;

    /// Writes all of `bytes` through `writer`, as the writer whose "I have left" flag is `gone`
    /// (SerialWriter::write). While the write waits, `stream`'s peer is watched; when it is found
    /// gone, `on_gone` runs (on the strand): it must end the connection — set *gone and call
    /// abandon() — and the write then returns operation_aborted. One write at a time; `stream`
    /// and the owner of `on_gone` outlive the write (the caller awaits it).
    core::Task<std::error_code> write(SerialWriter& writer, std::span<const std::byte> bytes,
                                      Stream& stream, const bool* gone,
                                      std::function<void(PeerGone)> on_gone);

    /// The connection ended (its `gone` flag is set): the write in flight, if any, is abandoned
    /// (SerialWriter::abandon) and the watch stops. Idempotent.
    void abandon();

private:
    // The watch's timer and what its ticks look at. Made at the first write (an idle connection
    // pays for a pointer, not a timer: issue 12 item 1) and shared with the pending tick, so that
    // the owner may be destroyed while a cancelled tick is still queued.
    struct State;
    static void arm(const std::shared_ptr<State>& s);
    static void tick(const std::shared_ptr<State>& s);

    PortContext& ctx_;
    std::shared_ptr<State> state_;
};

}  // namespace sg::modes::common
