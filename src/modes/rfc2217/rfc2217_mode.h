// rfc2217_mode.h: RFC 2217 mode (guide §3.1; device ref. §3). The port listens on local_port for
// one Telnet client speaking the Com Port Control Option (RFC 2217): the client's data reaches the
// serial line, the line's data reaches the client (data packing applies), and the client sets baud
// rate, data bits, parity, stop bits, flow control, RTS, DTR and break, purges buffers, pauses the
// flow, and is told of modem-line changes and line errors.
#pragma once

#include <memory>

#include "modes/mode.h"

namespace sg::modes::rfc2217 {

ModePtr create(PortContext& ctx, const config::ModeSettings& settings, std::error_code& ec);

}  // namespace sg::modes::rfc2217
