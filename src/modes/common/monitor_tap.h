// monitor_tap.h: the live serial monitor's tap on a port's data path (issue 13 item 4). The port
// offers each serial read (Port::pump, before the mode sees it) and each completed serial write
// (SerialWriter) to its MonitorTap; the tap copies the bytes, with a timestamp, into the bounded
// queue of each subscriber (a browser's monitor WebSocket). A subscriber that does not keep up
// loses monitor frames, counted for it; the serial data itself is never held, slowed or dropped.
// With no subscriber an offer is one relaxed atomic load. Offers run on the port strand; the
// subscribers take their frames from any thread (one mutex per tap, taken only while someone
// watches). MonitorHub owns the taps of every port and enforces the subscriber caps.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

namespace sg::modes::common {

/// Which way the bytes went on the serial line.
enum class TapDirection : std::uint8_t {
    FromSerial,  // read from the device ("rx": the serial side received them)
    ToSerial,    // written to the device ("tx": a network client sent them)
};
const char* to_string(TapDirection d);  // "rx" / "tx"

struct TapFrame {
    TapDirection dir = TapDirection::FromSerial;
    std::int64_t ts_us = 0;  // UTC microseconds, when the tap saw the bytes
    std::vector<std::byte> bytes;
};

/// Bounds of the monitor (issue 13 item 4). Per subscriber: a queue of at most kQueueBytes of
/// payload and kQueueFrames frames (a frame is one serial read or write, up to 64 KiB).
struct TapLimits {
    std::size_t per_port = 8;  // monitor sessions on one port at once
    std::size_t total = 16;    // monitor sessions on the device at once
    std::size_t queue_bytes = 256 * 1024;
    std::size_t queue_frames = 4096;
};

class MonitorTap;

/// One subscriber (a monitor session). Made by MonitorHub::subscribe; leaves the tap when
/// destroyed. take() is thread-safe.
class TapSubscription {
public:
    ~TapSubscription();
    TapSubscription(const TapSubscription&) = delete;
    TapSubscription& operator=(const TapSubscription&) = delete;

    struct Batch {
        std::vector<TapFrame> frames;   // in the order the tap saw them
        std::uint64_t lost_frames = 0;  // totals since the subscription began
        std::uint64_t lost_bytes = 0;
    };
    /// Everything queued since the last take, and the loss totals.
    Batch take();
    std::uint32_t port() const;

private:
    friend class MonitorTap;
    explicit TapSubscription(std::shared_ptr<MonitorTap> tap) : tap_(std::move(tap)) {}

    std::shared_ptr<MonitorTap> tap_;
    // Guarded by tap_->mutex_.
    std::deque<TapFrame> queue_;
    std::size_t queued_bytes_ = 0;
    std::uint64_t lost_frames_ = 0;
    std::uint64_t lost_bytes_ = 0;
};

class MonitorTap : public std::enable_shared_from_this<MonitorTap> {
public:
    using Clock = std::int64_t (*)();
    MonitorTap(std::uint32_t port, TapLimits limits, Clock now);

    /// On the port strand, for every serial read and completed write. Never blocks on a
    /// subscriber: a full queue drops this frame for that subscriber and counts it.
    void offer(TapDirection dir, std::span<const std::byte> bytes) {
        // The one check the data path pays while nobody watches.
        if (subscribers_.load(std::memory_order_relaxed) == 0 || bytes.empty()) return;
        offer_watched(dir, bytes);
    }
    std::uint32_t port() const { return port_; }
    std::size_t subscribers() const { return subscribers_.load(std::memory_order_relaxed); }

private:
    friend class MonitorHub;
    friend class TapSubscription;
    void offer_watched(TapDirection dir, std::span<const std::byte> bytes);
    std::shared_ptr<TapSubscription> add();
    void remove(TapSubscription* s);

    const std::uint32_t port_;
    const TapLimits limits_;
    const Clock now_;
    std::atomic<std::size_t> subscribers_{0};
    std::mutex mutex_;
    std::vector<TapSubscription*> subs_;  // guarded by mutex_
};

/// The taps of every port, kept across port restarts (a configuration change rebuilds a Port, not
/// its tap, so a monitor keeps watching). Thread-safe.
class MonitorHub {
public:
    explicit MonitorHub(TapLimits limits = {}, MonitorTap::Clock now = nullptr);

    /// The tap of port `port`, made on first use.
    std::shared_ptr<MonitorTap> tap(std::uint32_t port);
    /// A new subscriber of `port`; null with `why` ("port" or "device": which cap is full).
    std::shared_ptr<TapSubscription> subscribe(std::uint32_t port, std::string& why);
    const TapLimits& limits() const { return limits_; }

private:
    std::shared_ptr<MonitorTap>& tap_locked(std::uint32_t port);  // made on first use; mutex_ held

    const TapLimits limits_;
    const MonitorTap::Clock now_;
    std::mutex mutex_;
    std::map<std::uint32_t, std::shared_ptr<MonitorTap>> taps_;  // at most one per port number
};

}  // namespace sg::modes::common
