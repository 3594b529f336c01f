// serial_writer.h: one writer at a time onto the serial line. A Device allows one outstanding
// write; several network sessions of one port take turns here, each write whole and in arrival
// order. The wait itself is the backpressure on net→serial: a session reads no more until its bytes
// are handed to the driver. On the port strand.
#pragma once

#include <span>
#include <system_error>

#include "core/signal.h"
#include "modes/mode.h"

namespace sg::modes::common {

class SerialWriter {
public:
    explicit SerialWriter(PortContext& ctx) : ctx_(ctx), idle_(ctx.strand) {}

    core::Task<std::error_code> write(std::span<const std::byte> bytes) {
        while (busy_) co_await idle_.wait();
        busy_ = true;
        std::error_code ec = co_await ctx_.serial.write(bytes);
        busy_ = false;
        idle_.notify();
        if (!ec) ctx_.stats.serial_tx_bytes.fetch_add(bytes.size(), std::memory_order_relaxed);
        co_return ec;
    }

    /// A write is in flight: a caller that must not wait (it would rather queue) checks this.
    bool busy() const { return busy_; }

private:
    PortContext& ctx_;
    core::Signal idle_;
    bool busy_ = false;
};

}  // namespace sg::modes::common
