// packing_stage.h: data packing with its force-transmit timer, for every mode that sends serial
// data to the network in frames (TCP Server, Real COM, RFC 2217, TCP Client, UDP). The Packer
// (packer.h) decides the frames; this owns the timer that flushes a held frame after
// force_transmit_ms of serial silence. On the port strand.
#pragma once

#include <functional>
#include <span>

#include "config/settings.h"
#include "core/asio.h"
#include "modes/common/packer.h"

namespace sg::modes::common {

class PackingStage {
public:
    /// `sink` (usually the mode, which outlives the stage) receives every frame, in order, by one
    /// virtual call — this is the serial→network hot path. `settled` runs after a timer wait
    /// completed, so that a stopping mode can tell when nothing refers to it any more (waiting()).
    PackingStage(const core::Strand& strand, const config::PackingSettings& settings,
                 FrameSink& sink, std::function<void()> settled);
    PackingStage(const PackingStage&) = delete;
    PackingStage& operator=(const PackingStage&) = delete;
    ~PackingStage() = default;

    /// Serial bytes in; complete frames go to the sink at once, the rest waits for more bytes or
    /// the force-transmit timer.
    void feed(std::span<const std::byte> bytes);
    /// Sends what is held and stops the timer (stop(), or a connection being made).
    void flush();
    /// Drops what is held, unsent, and stops the timer (RFC 2217: PURGE-DATA receive, the client
    /// gone).
    void discard();
    /// A timer wait is pending: the owner must not be destroyed yet.
    bool waiting() const { return waits_ != 0; }

private:
    Packer packer_;
    asio::steady_timer force_timer_;
    FrameSink& sink_;
    std::function<void()> settled_;
    int waits_ = 0;
};

}  // namespace sg::modes::common
