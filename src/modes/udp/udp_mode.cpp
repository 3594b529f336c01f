// udp_mode.cpp: UDP mode. Created by the Port on its strand; the receiver and sender coroutines
// and the force-transmit timer run on that strand (no locks).
//
// Serial → network: on_serial_data → PackingStage → frames cut into datagrams of at most
// kMaxDatagram bytes → a bounded queue → the sender sends each datagram to every destination
// address in turn. A queue over kClientQueueBytes pauses the serial reads until it drains.
// Network → serial: the receiver takes one datagram at a time (at most 64 KiB, the IPv4 limit),
// checks its source against the ranges (the device accepts only its destinations unless told
// otherwise) and awaits SerialWriter; while it waits, the kernel's socket buffer holds (or drops)
// what else arrives, as for any UDP receiver.
// Dropped datagrams are counted in PortStats::refused (the port's "refused peers" counter) and
// logged as serial.datagram_dropped at most once per kDropEventInterval.
#include "modes/udp/udp_mode.h"

#include <deque>

#include "core/limits.h"
#include "core/signal.h"
#include "modes/common/packing_stage.h"
#include "modes/common/read_pause.h"
#include "modes/common/serial_writer.h"
#include "modes/common/stream_writer.h"
#include "modes/udp/udp_ranges.h"

namespace sg::modes::udp {

namespace {

using asio::ip::udp;
using Clock = std::chrono::steady_clock;

/// Largest datagram we send: the device's serial buffer (kMaxPackingLength), which also keeps a
/// datagram inside one Ethernet frame (no IP fragmentation).
inline constexpr std::size_t kMaxDatagram = core::limits::kMaxPackingLength;
/// Largest datagram we accept: anything IPv4 can carry.
inline constexpr std::size_t kMaxReceive = 64 * 1024;
/// A flood from outside the ranges must not flood the event log.
inline constexpr std::chrono::seconds kDropEventInterval{10};

std::string endpoint_string(const udp::endpoint& ep) {
    auto address = ep.address();
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
        address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
    }
    if (address.is_v6()) {
        return std::string("[").append(address.to_string()) + "]:" + std::to_string(ep.port());
    }
    return address.to_string() + ":" + std::to_string(ep.port());
}

class UdpMode final : public Mode, public common::FrameSink {
public:
    UdpMode(PortContext& ctx, const config::UdpSettings& s)
        : ctx_(ctx),
          settings_(s),
          socket_(ctx.strand),
          serial_writer_(ctx),
          packing_(ctx.strand, s.packing, *this, [this] { maybe_done(); }),
          wake_(ctx.strand),
          sender_done_(ctx.strand) {}

    std::error_code start() override {
        auto ranges = Ranges::parse(settings_.destinations);
        if (!ranges) return ranges.error().code;
        ranges_ = std::move(*ranges);
        boost::system::error_code ec;
        auto address = asio::ip::make_address(ctx_.listen_address, ec);
        if (ec) return ec;
        const udp::endpoint local(address, settings_.local_port);
        if (socket_.open(local.protocol(), ec); ec) return ec;
        if (socket_.bind(local, ec); ec) return ec;
        endpoints_ = ranges_.endpoints(address.is_v6());
        bound_ = endpoint_string(local);
        spawn(receiver());
        spawn(sender());
        return {};
    }

    void on_serial_data(std::span<const std::byte> bytes) override {
        if (stopping_) return;
        packing_.feed(bytes);
    }

    void stop(std::function<void()> done) override {
        stopping_ = true;
        done_ = std::move(done);
        packing_.flush();  // held bytes go out before the socket closes
        wake_.notify();
        // The sender empties the queue and closes the socket (which ends the receiver); a sender
        // stuck on a full socket buffer is cut off after kDrainTimeout.
        spawn(stop_watch());
        maybe_done();
    }

    ModeStatus status() const override {
        std::string state = stopping_ ? "stopping" : "listening on " + bound_;
        if (!stopping_) {
            state += ", sending to " + std::to_string(endpoints_.size()) + " addresses";
            if (settings_.accept_from_any) state += ", accepting from any address";
            if (dropped_ != 0) {
                state += ", " + std::to_string(dropped_) +
                         " datagrams dropped (source outside the ranges)";
            }
        }
        return {"udp", state, {}};
    }

    // ---- common::FrameSink: the packing stage's frames, one call each, cut into datagrams
    void on_frame(std::span<const std::byte> frame) override {
        if (endpoints_.empty()) return;  // no destination: like the device, the data is dropped
        while (!frame.empty()) {
            const auto n = std::min(frame.size(), kMaxDatagram);
            queue_.push_back(common::make_chunk(frame.first(n)));
            queued_ += n;
            frame = frame.subspan(n);
        }
        read_pause_.update(queued_);  // backpressure instead of growth
        wake_.notify();
    }

private:
    void spawn(core::Task<void> task) {
        ++running_;
        asio::co_spawn(ctx_.strand, std::move(task), [this](const std::exception_ptr& e) {
            if (e) {
                ctx_.events.emit(events::types::kModeFailed, {.port = ctx_.id},
                                 "udp: a coroutine ended by an exception");
            }
            --running_;
            maybe_done();
        });
    }

    core::Task<void> sender() {
        while (socket_.is_open()) {
            if (queue_.empty()) {
                if (stopping_) break;
                co_await wake_.wait();
                continue;
            }
            const common::Chunk d = queue_.front();
            for (const auto& ep : endpoints_) {
                auto [ec, n] =
                    co_await socket_.async_send_to(asio::buffer(*d), ep, core::use_nothrow);
                if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) {
                    break;  // the socket was closed (stop)
                }
                // Other errors (no route to one address, a full buffer) lose this datagram for
                // this address only, as UDP does; the next one is tried.
                if (!ec) ctx_.stats.net_tx_bytes.fetch_add(n, std::memory_order_relaxed);
            }
            queue_.pop_front();
            queued_ -= d->size();
            read_pause_.update(queued_);
        }
        boost::system::error_code ignored;
        socket_.close(ignored);  // ends the receiver
        sender_finished_ = true;
        sender_done_.notify();
    }

    core::Task<void> receiver() {
        std::vector<std::byte> buf(kMaxReceive);
        udp::endpoint from;
        while (!stopping_) {
            auto [ec, n] =
                co_await socket_.async_receive_from(asio::buffer(buf), from, core::use_nothrow);
            if (stopping_ || ec == asio::error::operation_aborted ||
                ec == asio::error::bad_descriptor) {
                break;
            }
            if (ec) continue;  // e.g. ECONNREFUSED left by an ICMP error: not fatal for UDP
            if (!ctx_.allowed(from.address())) {
                // NE-2: a datagram from outside the allowlist is dropped before anything else,
                // counted and logged rate-limited (AU-2).
                ctx_.refused_by_allowlist(from.address(), settings_.local_port);
                continue;
            }
            if (ctx_.dos != nullptr) {
                // Guide §3.7, NE-5: the source's datagram rate on this port; beyond it the
                // datagram is dropped before it reaches the serial line, counted in refused_dos
                // and logged rate-limited. The port's own table: other ports are not slowed.
                if (const auto verdict = ctx_.dos->admit_datagram(from.address());
                    verdict != security::dos::Verdict::ok) {
                    ctx_.refused_by_dos(from.address(), settings_.local_port, verdict);
                    continue;
                }
            }
            if (!settings_.accept_from_any && !ranges_.contains(from.address())) {
                dropped(from);
                continue;
            }
            ctx_.stats.net_rx_bytes.fetch_add(n, std::memory_order_relaxed);
            if (n == 0) continue;
            if (auto wec = co_await serial_writer_.write(std::span(buf).first(n)); wec) {
                break;  // the Port sees the device failure on its read side and restarts the mode
            }
        }
    }

    void dropped(const udp::endpoint& from) {
        ++dropped_;
        ++unreported_;
        ctx_.stats.refused.fetch_add(1, std::memory_order_relaxed);
        const auto now = Clock::now();
        if (reported_once_ && now - last_report_ < kDropEventInterval) return;
        reported_once_ = true;
        last_report_ = now;
        ctx_.events.emit(events::types::kDatagramDropped,
                         {.port = ctx_.id, .source = endpoint_string(from)},
                         std::to_string(unreported_) +
                             " datagram(s) from outside the destination ranges dropped (" +
                             std::to_string(dropped_) + " since start)");
        unreported_ = 0;
    }

    core::Task<void> stop_watch() {
        if (!sender_finished_) {
            co_await sender_done_.wait_until(Clock::now() + core::limits::kDrainTimeout);
        }
        boost::system::error_code ignored;
        socket_.close(ignored);
    }

    void maybe_done() {
        if (!stopping_ || !done_ || running_ != 0 || packing_.waiting()) return;
        read_pause_.release();
        auto done = std::move(done_);
        done_ = nullptr;
        asio::post(ctx_.strand, std::move(done));
    }

    PortContext& ctx_;
    config::UdpSettings settings_;
    udp::socket socket_;
    common::SerialWriter serial_writer_;
    common::PackingStage packing_;
    Ranges ranges_;
    std::vector<udp::endpoint> endpoints_;
    std::string bound_;
    std::deque<common::Chunk> queue_;  // datagrams waiting for the sender
    std::size_t queued_ = 0;
    core::Signal wake_;         // sender: new datagram or stop
    core::Signal sender_done_;  // stop_watch: the sender finished
    std::function<void()> done_;
    int running_ = 0;
    bool stopping_ = false;
    bool sender_finished_ = false;
    std::uint64_t dropped_ = 0;     // since start
    std::uint64_t unreported_ = 0;  // since the last event
    bool reported_once_ = false;
    Clock::time_point last_report_;
    common::ReadPause read_pause_{ctx_};  // after ctx_: initialised from it
};

}  // namespace

ModePtr create(PortContext& ctx, const config::ModeSettings& settings, std::error_code& ec) {
    ec = {};
    return std::make_unique<UdpMode>(ctx, std::get<config::UdpSettings>(settings));
}

}  // namespace sg::modes::udp
