// fan_out.h: serial → network for the listening modes that serve several clients alike (TCP
// Server, Real COM). Each frame is offered to every session: straight into an idle socket (no
// copy, no wake-up), else queued as one chunk shared by the sessions that must queue it. A session
// whose queue would pass kClientQueueBytes either drops the frame and counts it (ignore_jammed_ip,
// one serial.jammed event per jam) or makes the port pause its serial reads until the fullest
// queue drained to half (ReadPause; STYLE.md §3.9). On the port strand; no locks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>

#include "core/asio.h"
#include "modes/common/listener.h"
#include "modes/common/packer.h"
#include "modes/common/read_pause.h"
#include "modes/common/session_base.h"
#include "modes/common/stream_writer.h"
#include "modes/mode.h"

namespace sg::modes::common {

/// Owned by the mode beside its Listener, whose sessions must all be FanOutSessions. It is the
/// mode's FrameSink: the PackingStage hands it every frame.
class FanOut final : public FrameSink {
public:
    FanOut(PortContext& ctx, Listener& listener, bool ignore_jammed_ip)
        : listener_(listener), read_pause_(ctx), ignore_jammed_ip_(ignore_jammed_ip) {}

    /// One frame to every session; dropped when none is connected, as the device does.
    void on_frame(std::span<const std::byte> frame) override;
    /// A queue changed or a session ended: pause or resume the serial reads. Jammed sessions are
    /// skipped instead when ignore_jammed_ip is set, so reads never pause then.
    void update_backpressure();
    /// The mode stopped (Listener::Owner::stopped()): reads must not stay paused.
    void release() { read_pause_.release(); }

    Listener& listener() { return listener_; }
    bool ignore_jammed_ip() const { return ignore_jammed_ip_; }

private:
    Listener& listener_;
    ReadPause read_pause_;
    bool ignore_jammed_ip_;
};

/// An accepted connection fed by a FanOut: common::SessionBase plus the sending half (a
/// StreamWriter) and the jam rule. The mode's Session adds its reader and whatever else it does.
class FanOutSession : public SessionBase {
public:
    /// Fan-out of one frame: straight into the socket when nothing is queued, the rest queued;
    /// `shared` is the frame's chunk, made by the first session that must queue all of it and
    /// shared by the others.
    void offer(std::span<const std::byte> frame, Chunk& shared);
    /// Queues a chunk unless this client is jammed and jammed clients are skipped.
    void enqueue(const Chunk& chunk);
    std::size_t queued() const { return out_.queued(); }

protected:
    FanOutSession(Stream stream, FanOut& fan_out, std::uint8_t alive_check_min, const char* what);

    /// The writer coroutine: sends the queue until drained (drain()), ended or failed, then ends
    /// the session.
    core::Task<void> writer();
    /// Bytes went to the peer (counted already): TCP Server's inactivity clock restarts.
    virtual void on_sent() {}

    void on_drain() override { out_.finish(); }  // the queue goes out, then the writer returns
    void on_end() override { out_.abort(); }

    FanOut& fan_out_;

private:
    void count_sent(std::size_t n);

    StreamWriter out_;
    bool jammed_ = false;  // dropping since the queue was full; cleared below half
};

}  // namespace sg::modes::common
