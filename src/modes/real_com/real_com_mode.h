// real_com_mode.h: Real COM mode (guide §3.1; shared/specs/realcom-aspp.md). The port listens on a
// data port (949 + N) and a command port (965 + N); a host driver (npreal2, `serialgate realcom`)
// connects to both and the pair forms a session: raw serial bytes on the data connection, ASPP
// commands, replies, NOTIFY and alive polls on the command connection (command_channel.h). Up to
// max_connections sessions; with 1 the driver has full control of the line ("real TTY"), with more
// serial input fans out to every session and line settings from drivers are acknowledged and
// ignored unless allow_driver_control is on.
//
// Tests may shorten the alive-poll timing with the hidden environment variable
// SG_TEST_REALCOM_POLL_SCALE (see command_channel.h, poll_timing()).
#pragma once

#include <memory>

#include "modes/mode.h"

namespace sg::modes::real_com {

ModePtr create(PortContext& ctx, const config::ModeSettings& settings, std::error_code& ec);

}  // namespace sg::modes::real_com
