// read_pause.h: serial-read backpressure with hysteresis (STYLE.md §3.9), shared by every mode
// that queues serial data for network peers. Reads pause when the fullest queue that must not be
// skipped reaches kClientQueueBytes and resume once it is below half, so a slow peer slows the
// serial side instead of growing memory. On the port strand.
#pragma once

#include <cstddef>

#include "core/limits.h"
#include "modes/mode.h"

namespace sg::modes::common {

class ReadPause {
public:
    explicit ReadPause(PortContext& ctx) : ctx_(ctx) {}

    /// `fullest`: bytes queued by the fullest consumer that must not be skipped (0 for none).
    void update(std::size_t fullest) {
        if (!paused_ && fullest >= core::limits::kClientQueueBytes) {
            set(true);
        } else if (paused_ && fullest < core::limits::kClientQueueBytes / 2) {
            set(false);
        }
    }
    /// The mode stops: reads must not stay paused for whatever runs next.
    void release() {
        if (paused_) set(false);
    }

private:
    void set(bool paused) {
        paused_ = paused;
        ctx_.pause_serial_reads(paused);
    }

    PortContext& ctx_;
    bool paused_ = false;
};

}  // namespace sg::modes::common
