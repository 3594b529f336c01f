// packing_stage.h: data packing with its force-transmit timer, for the modes that send serial data
// to the network in frames (TCP Client, UDP). The Packer (packer.h) decides the frames; this owns
// the timer that flushes a held frame after force_transmit_ms of serial silence. On the port
// strand.
#pragma once

#include <functional>
#include <span>

#include "config/settings.h"
#include "core/asio.h"
#include "modes/common/packer.h"

namespace sg::modes::common {

class PackingStage {
public:
    using Emit = std::function<void(std::span<const std::byte>)>;

    /// `emit` receives every frame, in order. `settled` runs after a timer wait completed, so that
    /// a stopping mode can tell when nothing refers to it any more (waiting()).
    PackingStage(const core::Strand& strand, const config::PackingSettings& settings, Emit emit,
                 std::function<void()> settled);

    /// Serial bytes in; complete frames go to emit at once, the rest waits for more bytes or the
    /// force-transmit timer.
    void feed(std::span<const std::byte> bytes);
    /// Sends what is held and stops the timer (stop(), or a connection being made).
    void flush();
    /// A timer wait is pending: the owner must not be destroyed yet.
    bool waiting() const { return waits_ != 0; }

private:
    common::Packer packer_;
    asio::steady_timer force_timer_;
    Emit emit_;
    std::function<void()> settled_;
    int waits_ = 0;
};

}  // namespace sg::modes::common
