// packer.h: data packing (guide §3.1; device ref. §3 "Data packing"): groups serial bytes into
// network writes by packing length, delimiter(s) with their process rule, and force-transmit time.
// Sans-I/O: bytes in, frames out; the caller owns the force-transmit timer (force_transmit()).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <vector>

#include "config/settings.h"

namespace sg::modes::common {

/// Where the frames go, in order: the mode (or its fan-out) implements this. One virtual call per
/// frame — no std::function on the serial→network path; a frame is at most one serial read's
/// worth of bytes in passthrough, or one packed frame.
class FrameSink {
public:
    /// A complete frame, never empty; the bytes are valid for the call only.
    virtual void on_frame(std::span<const std::byte> frame) = 0;

protected:
    ~FrameSink() = default;
};

class Packer {
public:
    explicit Packer(const config::PackingSettings& settings);

    /// With every rule off, bytes go out as they arrive: the caller may skip the packer entirely.
    bool passthrough() const { return !settings_.active(); }

    /// Feeds serial bytes; gives `sink` every completed frame, in order.
    void feed(std::span<const std::byte> in, FrameSink& sink);
    /// Force-transmit expired (no byte for force_transmit_ms): sends what is held.
    void flush(FrameSink& sink);
    /// Drops what is held, unsent (RFC 2217 PURGE-DATA receive, a client gone).
    void discard();

    bool holding() const { return !buf_.empty(); }
    /// How long after the last fed byte flush() is due; nullopt when force transmit is off.
    std::optional<std::chrono::milliseconds> force_transmit() const;

private:
    void send(std::size_t n, std::size_t strip, FrameSink& sink);

    config::PackingSettings settings_;
    std::vector<std::byte> buf_;
    int trailing_ = -1;  // >= 0: delimiter seen, this many more bytes to take (plus_1 / plus_2)
    std::size_t limit_;  // frame size that forces a send
};

}  // namespace sg::modes::common
