// pair_session.cpp: one Pair Connection (master or slave end). Created by pair_mode.cpp for an
// accepted (slave) or connected (master) socket; its reader and writer coroutines and its HELLO
// and drain deadlines run on the port strand.
//
// Order on the wire: our HELLO at once; after the peer's HELLO, our input lines, then serial data
// and line changes as they happen. Nothing of the serial line reaches a peer that has not proven
// it speaks the protocol. Received DATA is awaited through SerialWriter (TCP flow control reaches
// the sender); received LINES drive RTS and DTR.
#include "modes/pair/pair_session.h"

#include "core/clock.h"
#include "core/limits.h"
#include "modes/common/session_base.h"
#include "modes/common/tcp_options.h"

namespace sg::modes::pair {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

Lines inputs_of(const serial::ModemLines& lines) {
    return {lines.cts, lines.dsr, lines.dcd, lines.ri};
}

void drive_outputs(serial::Device& device, const std::optional<Lines>& remote) {
    auto settings = device.settings();
    const auto flow = settings ? settings->flow_control : config::FlowControl::None;
    // Pair Connection carries RTS/CTS and DTR/DSR across like a cable; when the port's own flow
    // control uses one of them, the driver drives it and we must not fight it.
    if (flow != config::FlowControl::RtsCts) (void)device.set_rts(remote && remote->cts);
    if (flow != config::FlowControl::DtrDsr) (void)device.set_dtr(remote && remote->dsr);
}

Session::Session(PortContext& ctx, SessionOwner& owner, common::SerialWriter& serial_writer,
                 common::Stream stream, Role self, std::uint8_t alive_check_min)
    : ctx_(ctx),
      owner_(owner),
      serial_writer_(serial_writer),
      stream_(std::move(stream)),
      self_(self),
      decoder_(self == Role::Master ? Role::Slave : Role::Master),
      out_(ctx.strand),
      watch_(ctx),
      parts_wake_(ctx.strand),
      peer_(common::peer_string(stream_)),
      address_(common::peer_address(stream_)),
      connected_at_(core::now_utc_us()) {
    boost::system::error_code ignored;
    // Line changes and small data: no Nagle.
    stream_.socket().set_option(tcp::no_delay(true), ignored);
    common::set_alive_check(stream_.socket(), alive_check_min);
}

void Session::push(std::vector<std::byte> frame) {
    out_.push(std::make_shared<const std::vector<std::byte>>(std::move(frame)));
    owner_.update_backpressure();
}

void Session::send_data(std::span<const std::byte> bytes) {
    if (!established_ || draining_ || closed_ || bytes.empty()) return;
    std::vector<std::byte> frame;
    frame.reserve(bytes.size() + (bytes.size() / kMaxData + 1) * kHeaderSize);
    encode_data(bytes, frame);
    push(std::move(frame));
}

void Session::send_lines(const Lines& lines) {
    if (!established_ || draining_ || closed_) return;
    if (sent_lines_ && *sent_lines_ == lines) return;
    sent_lines_ = lines;
    std::vector<std::byte> frame;
    encode_lines(lines, frame);
    push(std::move(frame));
}

core::Task<std::string> Session::run() {
    std::vector<std::byte> hello;
    encode_hello(self_, hello);
    push(std::move(hello));
    parts_ = 2;
    owner_.spawn(reader(), [this] { part_done(); });
    owner_.spawn(writer(), [this] { part_done(); });
    const auto hello_deadline = Clock::now() + kHelloTimeout;
    while (parts_ != 0) {
        auto deadline = Clock::time_point::max();
        if (!closed_ && !established_) deadline = hello_deadline;
        if (!closed_ && draining_) deadline = std::min(deadline, drain_deadline_);
        if (deadline == Clock::time_point::max()) {
            co_await parts_wake_.wait();
        } else {
            co_await parts_wake_.wait_until(deadline);
        }
        if (closed_ || parts_ == 0) continue;
        const auto now = Clock::now();
        if (!established_ && now >= hello_deadline) {
            end_reason_ = "no HELLO within " + std::to_string(kHelloTimeout.count()) + " s";
            close_now();
        } else if (draining_ && now >= drain_deadline_) {
            close_now();  // a peer that stopped reading cannot hold up a stop
        }
    }
    co_return end_reason_.empty() ? std::string("closed") : end_reason_;
}

void Session::part_done() {
    --parts_;
    parts_wake_.notify();
}

void Session::drain(std::string why) {
    if (closed_ || draining_) return;
    draining_ = true;
    if (end_reason_.empty()) end_reason_ = std::move(why);
    drain_deadline_ = Clock::now() + core::limits::kDrainTimeout;
    out_.finish();
    parts_wake_.notify();
}

void Session::end(std::string why) {
    if (end_reason_.empty()) end_reason_ = std::move(why);
    close_now();
}

void Session::close_now() {
    if (closed_) return;
    closed_ = true;
    // A peer that left never holds the port behind a line that takes nothing: the reader's
    // serial write in flight is abandoned (SessionBase does the same for clients).
    watch_.abandon();
    stream_.close();
    out_.abort();
    parts_wake_.notify();
    owner_.update_backpressure();
}

core::Task<void> Session::reader() {
    std::vector<Item> items;  // own their bytes: the awaits below never see read_scratch()
    while (!closed_) {
        auto [ec, data] = co_await stream_.read_some();
        if (ec || closed_) {
            if (end_reason_.empty()) {
                end_reason_ = common::is_eof(ec) ? "closed by the peer" : ec.message();
            }
            break;
        }
        rx_ += data.size();
        ctx_.stats.net_rx_bytes.fetch_add(data.size(), std::memory_order_relaxed);
        items.clear();
        const bool ok = decoder_.feed(data, items);
        bool failed = false;
        for (auto& item : items) {
            if (closed_) break;
            switch (item.type) {
                case FrameType::Hello:
                    established_ = true;
                    owner_.established();
                    if (auto lines = ctx_.serial.modem_lines(); lines) {
                        send_lines(inputs_of(*lines));
                    }
                    break;
                case FrameType::Lines: drive_outputs(ctx_.serial, item.lines); break;
                case FrameType::Data:
                    if (draining_) break;  // ending: the serial line takes no new bytes
                    // Ends with the connection: while the line takes nothing, a peer that resets,
                    // or closes and the line does not move, ends it (common::PeerWatch).
                    if (auto wec = co_await watch_.write(
                            serial_writer_, item.data, stream_, &closed_,
                            [this](common::PeerGone how) { end(common::left_during_write(how)); });
                        wec) {
                        if (end_reason_.empty()) {
                            end_reason_ = "serial write failed: " + wec.message();
                        }
                        failed = true;
                    }
                    break;
            }
            if (failed) break;
        }
        if (failed) break;
        if (!ok) {
            end_reason_ = "protocol error: " + decoder_.error();
            protocol_error_ = true;
            break;
        }
    }
    close_now();
}

core::Task<void> Session::writer() {
    const auto ec = co_await out_.run(stream_, [this](std::size_t n) {
        tx_ += n;
        ctx_.stats.net_tx_bytes.fetch_add(n, std::memory_order_relaxed);
        owner_.update_backpressure();
    });
    if (ec && end_reason_.empty() && !closed_) end_reason_ = ec.message();
    if (!ec && draining_ && !closed_) co_await stream_.shutdown();  // TLS: close_notify, bounded
    close_now();
}

}  // namespace sg::modes::pair
