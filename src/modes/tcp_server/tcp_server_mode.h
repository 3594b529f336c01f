// tcp_server_mode.h: TCP Server mode (guide §3.1; device ref. §3). The port listens on local_port;
// up to max_connections clients are served, serial data fans out to every one of them, and bytes
// from any client go to the serial line. Data packing, ignore jammed IP, TCP alive check and
// inactivity time as the device does them. A second listener on command_port serves ASPP commands
// (shared/specs/realcom-aspp.md §1) through modes/real_com's CommandChannel.
#pragma once

#include <memory>

#include "modes/mode.h"

namespace sg::modes::tcp_server {

ModePtr create(PortContext& ctx, const config::ModeSettings& settings, std::error_code& ec);

}  // namespace sg::modes::tcp_server
