// termios2.h: line settings through the kernel's struct termios2 (TCGETS2/TCSETS2), the only way
// to set an arbitrary baud rate (BOTHER) on Linux. Internal to serial/, used by termios_device.
// <asm/termbits.h> redefines struct termios and clashes with <termios.h>, so this header speaks
// only project types and termios2.cpp is the one file that includes it.
#pragma once

#include <array>
#include <cstddef>
#include <string>

#include "config/settings.h"
#include "core/result.h"

namespace sg::serial::termios2 {

/// An opaque copy of the kernel's struct termios2, taken before a change so that a failed
/// configure can put the line back exactly as it was.
struct Saved {
    alignas(8) std::array<std::byte, 64> raw{};
};

/// Reads the current struct termios2. ENOTTY when `fd` is not a terminal.
core::Result<Saved> save(int fd, const std::string& path);
/// Writes back a copy taken by save().
core::Status restore(int fd, const Saved& saved, const std::string& path);

/// Raw mode (cfmakeraw: no echo, no canonical input, no signals, no CR/LF mapping, no output
/// processing, VMIN 1 / VTIME 0) on whatever speed and framing the line has now. Called at open.
core::Status make_raw(int fd, const std::string& path);

/// Raw mode plus the framing part of `s`: baud (any 50..921600, via BOTHER), data bits, parity
/// (mark/space via CMSPAR), stop bits and flow control. Validates before touching the line; an
/// unsupported value (dtr_dsr without a CDTRDSR kernel) is Errc::unsupported and changes nothing.
/// `s.interface` and `s.fifo` are not termios matters and are ignored here.
core::Status apply(int fd, const config::SerialSettings& s, const std::string& path);

/// The framing the driver reports (TCGETS2): baud from c_ospeed, CSIZE, PARENB/PARODD/CMSPAR,
/// CSTOPB (1.5 with CS5, as the 8250 does), CRTSCTS or IXON|IXOFF. Interface and fifo keep their
/// defaults: the caller fills them in.
core::Result<config::SerialSettings> read(int fd, const std::string& path);

/// Sets the software flow-control characters (c_cc[VSTART], c_cc[VSTOP]); apply() keeps them.
core::Status set_flow_chars(int fd, std::uint8_t xon, std::uint8_t xoff, const std::string& path);

}  // namespace sg::serial::termios2
