// pair_mode.h: Pair Connection mode (device ref. §3; issue 5 §6). Two ports, usually on two
// SerialGates, act as the two ends of one serial cable: the slave listens on local_port for one
// master, the master connects to the slave's host and port (reconnecting with backoff), and
// serial data and the RTS/CTS and DTR/DSR lines cross over the TCP connection
// (docs/pair-protocol.md).
#pragma once

#include "modes/mode.h"

namespace sg::modes::pair {

ModePtr create_master(PortContext& ctx, const config::ModeSettings& settings, std::error_code& ec);
ModePtr create_slave(PortContext& ctx, const config::ModeSettings& settings, std::error_code& ec);

}  // namespace sg::modes::pair
