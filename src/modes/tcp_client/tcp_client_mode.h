// tcp_client_mode.h: TCP Client mode (device ref. §3; issue 5 §4). The port connects out to 1..4
// destinations when its connection control says so (at start, on the first serial byte, when
// DSR or DCD goes on), keeps them up with reconnect backoff, fans serial data out to every
// connected destination and writes what any of them sends to the serial line. Data packing,
// ignore jammed IP, TCP alive check, inactivity time and designated local ports as the device
// does them.
#pragma once

#include "modes/mode.h"

namespace sg::modes::tcp_client {

ModePtr create(PortContext& ctx, const config::ModeSettings& settings, std::error_code& ec);

}  // namespace sg::modes::tcp_client
