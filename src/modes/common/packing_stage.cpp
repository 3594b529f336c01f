// packing_stage.cpp: Packer plus the force-transmit timer (device ref. §3, "Data packing" rule c).
// Called on the port strand from on_serial_data and stop() of TCP Server, Real COM, RFC 2217, TCP
// Client and UDP.
#include "modes/common/packing_stage.h"

namespace sg::modes::common {

PackingStage::PackingStage(const core::Strand& strand, const config::PackingSettings& settings,
                           FrameSink& sink, std::function<void()> settled)
    : packer_(settings), force_timer_(strand), sink_(sink), settled_(std::move(settled)) {}

void PackingStage::feed(std::span<const std::byte> bytes) {
    if (packer_.passthrough()) {
        if (!bytes.empty()) sink_.on_frame(bytes);
        return;
    }
    packer_.feed(bytes, sink_);
    const auto ft = packer_.force_transmit();
    if (!ft || !packer_.holding()) return;
    // Rule (c): restarted by every byte, fires after force_transmit_ms of silence. Re-arming
    // cancels the previous wait, which completes with operation_aborted.
    force_timer_.expires_after(*ft);
    ++waits_;
    force_timer_.async_wait([this](boost::system::error_code ec) {
        --waits_;
        if (!ec) packer_.flush(sink_);
        if (settled_) settled_();
    });
}

void PackingStage::flush() {
    force_timer_.cancel();
    packer_.flush(sink_);
}

void PackingStage::discard() {
    force_timer_.cancel();
    packer_.discard();
}

}  // namespace sg::modes::common
