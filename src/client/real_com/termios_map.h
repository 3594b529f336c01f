// termios_map.h: the application's line settings, as a pty shows them, mapped to Real COM
// (ASPP) commands (shared/specs/realcom-aspp.md §4 encodings, §6 "Open" and "termios change").
// Pure functions, no I/O: pty.cpp reads a PtyLine from the kernel, host_protocol.cpp sends what
// these functions build.
//
// What a Linux pty can carry: the slave's termios is visible through the master (TCGETS2), but
// the kernel's pty driver forces CS8 and clears PARENB on every change (drivers/tty/pty.c,
// pty_set_termios), so data bits and parity set by the application never reach us. They come from
// the client's configuration instead (FixedFraming, --data-bits/--parity); baud (any rate, via
// BOTHER), stop bits, RTS/CTS and XON/XOFF flow control and the XON/XOFF characters do come from
// the application.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "client/real_com/pty.h"
#include "config/settings.h"
#include "modes/real_com/aspp_codec.h"

namespace sg::client::real_com {

namespace aspp = modes::real_com::aspp;

/// Data bits and parity: not visible through a pty (see above), so configured per port.
struct FixedFraming {
    std::uint8_t data_bits = 8;  // 5..8
    config::Parity parity = config::Parity::None;
    bool operator==(const FixedFraming&) const = default;
};

/// The line as the device is asked to run it.
struct LineSettings {
    std::uint32_t baud = 9600;  // 0: hung up (B0): DTR and RTS off, rate unchanged
    aspp::Framing framing;
    aspp::FlowFlags flow;
    std::uint8_t xon = 0x11;
    std::uint8_t xoff = 0x13;
    bool operator==(const LineSettings&) const = default;
};

/// The default XON/XOFF characters (DC1/DC3): no XONXOFF command is needed for them at open.
inline constexpr std::uint8_t kDefaultXon = 0x11;
inline constexpr std::uint8_t kDefaultXoff = 0x13;
/// The rate a line that opens hung up (B0) is initialised with: the device's default.
inline constexpr std::uint32_t kHangUpOpenBaud = 9600;

/// Combines what the pty shows with the configured framing.
LineSettings settings_of(const PtyLine& pty, const FixedFraming& fixed);

/// Spec §6 "Open": PORT_INIT with the whole line (baud index 0xFF + SETBAUD for a rate the index
/// table lacks), then XONXOFF when the characters are not DC1/DC3. DTR and RTS are raised, as a
/// serial driver does at open, unless the line is hung up (baud 0).
std::vector<aspp::Command> open_commands(const LineSettings& line);

/// Spec §6 "termios change": only what differs. IOCTL (+ SETBAUD) for rate or framing, FLOWCTRL
/// for flow control, XONXOFF for the characters; going to B0 sends LINECTRL 0 0 and leaving it
/// LINECTRL 1 1 (what a serial driver does with DTR/RTS on B0).
std::vector<aspp::Command> change_commands(const LineSettings& before, const LineSettings& after);

/// "115200 8N1, flow rts_cts" — for logs and the status line.
std::string describe(const LineSettings& line);

}  // namespace sg::client::real_com
