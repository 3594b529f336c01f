// test_util.h: helpers shared by the modes/ unit tests.
#pragma once

#include <functional>
#include <utility>

#include "modes/mode.h"

namespace sg::modes::testing {

/// Port 1's context for a mode under test, listening on 127.0.0.1: no allowlist, DoS bounds, TLS
/// contexts or monitor tap (a test that needs one sets it on the context); `pause` receives the
/// serial-read backpressure.
inline PortContext port_context(
    const core::Strand& strand, serial::Device& serial, events::Log& events, PortStats& stats,
    std::function<void(bool)> pause = [](bool) {}) {
    return PortContext{.id = 1,
                       .strand = strand,
                       .serial = serial,
                       .events = events,
                       .stats = stats,
                       .listen_address = "127.0.0.1",
                       .pause_serial_reads = std::move(pause)};
}

}  // namespace sg::modes::testing
