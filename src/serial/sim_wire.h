// sim_wire.h: the wiring of simulated serial lines, internal to serial/ (sim_device.cpp uses it).
// A Wire is one direction of a cable: bytes sent by one end, not yet read by the other, bounded,
// with line settings checked at delivery. A Cable is the registry entry of a null-modem pair: two
// Wires and the modem outputs of each end. Both are thread-safe because the two ends of a pair
// may belong to ports on different strands, and io_context may run on several threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "config/settings.h"
#include "core/result.h"

namespace sg::serial::sim {

/// Bytes one direction holds before the sender waits (core/limits.h spirit: every queue bounded).
inline constexpr std::size_t kWireBytes = std::size_t{1024} * 1024;

/// The part of the line settings both ends must agree on for characters to arrive intact.
struct Format {
    std::uint32_t baud = 115200;
    std::uint8_t data_bits = 8;
    config::Parity parity = config::Parity::None;
    config::StopBits stop_bits = config::StopBits::One;
    bool operator==(const Format&) const = default;

    static Format of(const config::SerialSettings& s) {
        return {s.baud, s.data_bits, s.parity, s.stop_bits};
    }
};

/// Characters a delivery spoiled, by the error the receiving UART would report.
struct Damage {
    std::uint64_t framing = 0;
    std::uint64_t parity = 0;
};

class Wire {
public:
    /// Called (from any thread) to wake the end that waits; it must only post to its strand.
    using Waker = std::function<void()>;
    /// Called (from any thread) when a delivery was damaged; it must only post to its strand.
    using DamageSink = std::function<void(Damage)>;

    /// The receiving end plugs in: the wire starts empty, bytes are checked against `format`.
    void attach_reader(Format format, Waker wake, DamageSink damage);
    /// The receiving end leaves: queued bytes go, later bytes are dropped as on an open cable.
    void detach_reader();
    void set_reader_format(Format format);
    void attach_writer(Waker wake);
    void detach_writer();

    /// Delivers as much of `bytes` as fits, as the reader's UART would receive it: a format
    /// mismatch garbles every byte (XOR 0xFF) and counts it, then bytes are masked to the
    /// reader's data bits. Returns how many were taken; fewer than offered means the wire is
    /// full and the writer's Waker runs once the reader has made room.
    std::size_t push(std::span<const std::byte> bytes, const Format& sender);
    /// Moves up to out.size() bytes into `out`. 0 means empty: the reader's Waker runs at the
    /// next push.
    std::size_t pop(std::span<std::byte> out);
    /// Drops what is queued (flush of the receive side).
    void clear();
    std::size_t size() const;

private:
    void clear_locked(Waker& wake_writer);

    mutable std::mutex mutex_;
    std::deque<std::vector<std::byte>> chunks_;  // one per push; the front is partly read
    std::size_t front_read_ = 0;                 // bytes of chunks_.front() already read
    std::size_t bytes_ = 0;                      // unread bytes in all chunks
    bool has_reader_ = false;
    Format reader_format_;
    Waker reader_wake_;
    Waker writer_wake_;
    DamageSink damage_;
    bool reader_waiting_ = false;  // a pop found nothing; the next push wakes the reader
    bool writer_waiting_ = false;  // a push found no room; the next pop wakes the writer
};

/// The modem outputs one end drives into the cable.
struct Outputs {
    bool rts = false;
    bool dtr = false;
};

/// A null-modem cable, found by name in a process-wide registry.
class Cable : public std::enable_shared_from_this<Cable> {
public:
    /// What the end in a slot wants to hear about; each must only post to that end's strand.
    struct Hooks {
        std::function<void()> lines_changed;   // the peer's outputs changed
        std::function<void()> break_received;  // the peer started a break
    };

    /// Takes a free end of cable `name` (0 = A for the first open, 1 = B), creating the cable on
    /// first use. Errc::already_exists when both ends are taken.
    static core::Result<std::pair<std::shared_ptr<Cable>, int>> acquire(const std::string& name);

    /// Plugs in end `end` with its hooks and initial outputs; the peer hears of the change.
    void attach(int end, Hooks hooks, Outputs outputs);
    /// Frees end `end` (its outputs drop, the peer hears of it); the last release forgets the
    /// cable.
    void release(int end);
    void set_outputs(int end, Outputs outputs);
    Outputs peer_outputs(int end) const;
    void send_break(int end);

    /// What end `end` transmits (the peer's receive wire) and receives.
    std::shared_ptr<Wire> tx(int end);
    std::shared_ptr<Wire> rx(int end);

    explicit Cable(std::string name) : name_(std::move(name)) {}

private:
    const std::string name_;
    // Slots, outputs and hooks are guarded by the registry's mutex (sim_wire.cpp): control
    // traffic only, while bytes take each Wire's own mutex.
    bool in_use_[2] = {false, false};
    Outputs outputs_[2];
    Hooks hooks_[2];
    Wire wires_[2];  // wires_[i]: what end i transmits
};

}  // namespace sg::serial::sim
