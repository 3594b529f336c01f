// serial_writer.h: one writer at a time onto the serial line. A Device allows one outstanding
// write; several network sessions of one port take turns here, each write whole and in arrival
// order. The wait itself is the backpressure on net→serial: a session reads no more until its bytes
// are handed to the driver. A writer that leaves (its session ended) is let go at once: its write
// in flight is aborted at the device, a write waiting for its turn returns without writing, so a
// line stalled by flow control never holds a departed client's session (issue 14). On the port
// strand.
#pragma once

#include <span>
#include <system_error>

#include "core/signal.h"
#include "modes/mode.h"

namespace sg::modes::common {

class SerialWriter {
public:
    explicit SerialWriter(PortContext& ctx) : ctx_(ctx), idle_(ctx.strand) {}

    /// Writes all of `bytes` after the writes queued before it. `gone`, when given, is the
    /// writer's own "I have left" flag (a session's ended_): once it is set, a write still waiting
    /// for its turn returns operation_aborted without writing, and abandon(gone) aborts it if it
    /// is the one in flight.
    core::Task<std::error_code> write(std::span<const std::byte> bytes,
                                      const bool* gone = nullptr) {
        while (busy_) {
            co_await idle_.wait();
            if (gone != nullptr && *gone) co_return aborted();
        }
        if (gone != nullptr && *gone) co_return aborted();
        busy_ = true;
        current_ = gone;
        std::error_code ec = co_await ctx_.serial.write(bytes);
        busy_ = false;
        current_ = nullptr;
        idle_.notify();
        if (!ec) {
            ctx_.stats.serial_tx_bytes.fetch_add(bytes.size(), std::memory_order_relaxed);
            if (ctx_.tap != nullptr) ctx_.tap->offer(TapDirection::ToSerial, bytes);  // issue 13
        }
        co_return ec;
    }

    /// The writer whose flag is `gone` has left (the flag is set): its write in flight is aborted
    /// at the device (Device::abort_write: completes with operation_aborted, the transmit queue is
    /// flushed), and a write of it waiting for its turn wakes up and returns.
    void abandon(const bool* gone) {
        if (gone == nullptr) return;
        if (busy_ && current_ == gone) ctx_.serial.abort_write();
        idle_.notify();  // waiters re-check their flag (and busy_)
    }

    /// A write is in flight: a caller that must not wait (it would rather queue) checks this.
    bool busy() const { return busy_; }

private:
    static std::error_code aborted() {
        return boost::system::error_code(asio::error::operation_aborted);
    }

    PortContext& ctx_;
    core::Signal idle_;
    bool busy_ = false;
    const bool* current_ = nullptr;  // the `gone` flag of the write in flight
};

}  // namespace sg::modes::common
