// udp_mode.h: UDP mode (device ref. §3; issue 5 §5). The port binds local_port on the system
// listen address; serial data (packed) goes out as datagrams to every address of every
// destination range, and datagrams whose source address lies inside a range (or any, with
// accept_from_any) are written to the serial line. Others are dropped and counted.
#pragma once

#include "modes/mode.h"

namespace sg::modes::udp {

ModePtr create(PortContext& ctx, const config::ModeSettings& settings, std::error_code& ec);

}  // namespace sg::modes::udp
