// pty.h: the pseudo-terminal a Real COM client offers to applications, at the file-descriptor
// level: create the pair, read the slave's termios through the master, tell whether an
// application holds the slave open, and decode packet-mode (TIOCPKT) reads. Used by client.cpp
// on its strand; plain synchronous system calls on a non-blocking fd, no Asio, no <termios.h>
// (pty.cpp reads termios2, whose kernel header clashes with glibc's).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "core/result.h"

namespace sg::client::real_com {

/// What the kernel shows of the pty slave's termios (the subset ASPP can express).
struct PtyLine {
    std::uint32_t baud = 9600;   // c_ospeed; 0 = B0, "hang up" (drop DTR and RTS)
    bool two_stop_bits = false;  // CSTOPB: 2 stop bits (1.5 with 5 data bits)
    bool rts_cts = false;        // CRTSCTS
    bool ixon = false;           // IXON: obey XON/XOFF received from the far end
    bool ixoff = false;          // IXOFF: send XON/XOFF when our input fills
    std::uint8_t xon = 0x11;     // c_cc[VSTART]
    std::uint8_t xoff = 0x13;    // c_cc[VSTOP]
    bool hupcl = false;          // HUPCL: drop DTR/RTS on last close
    bool operator==(const PtyLine&) const = default;
};

}  // namespace sg::client::real_com

namespace sg::client::real_com::pty {

/// The master side of a new pty pair (posix_openpt, grantpt, unlockpt): non-blocking,
/// close-on-exec, in packet mode (TIOCPKT), the slave's rate set to 9600 (the device's and
/// Moxa's driver's default, rather than the pty's 38400) and the slave marked "closed", so that
/// poll_now().hung_up is true until an application opens it.
struct Pair {
    int master = -1;         // owned by the caller
    std::string slave_path;  // "/dev/pts/7"
};
core::Result<Pair> open_pair();

/// The slave's termios as the master sees it (TCGETS2 on the master reaches the slave's).
core::Result<PtyLine> read_line(int master);

/// What poll() says of the master now: `hung_up` while no application has the slave open
/// (POLLHUP after the last close), `readable` when data or a packet-mode status is waiting.
struct Readiness {
    bool hung_up = false;
    bool readable = false;
};
Readiness poll_now(int master);

/// Discards what the application wrote and no one read yet (TCFLSH/TCIFLUSH on the master).
void discard_input(int master);

/// One packet-mode read (TIOCPKT): the first byte says what the rest is. 0 is data; otherwise a
/// set of TIOCPKT_* flags and no data.
struct Packet {
    bool flush_read = false;          // TIOCPKT_FLUSHREAD: the application discarded its input
    bool flush_write = false;         // TIOCPKT_FLUSHWRITE: the application discarded its output
    bool termios = false;             // TIOCPKT_IOCTL / DOSTOP / NOSTOP: termios may have changed
    std::span<const std::byte> data;  // the application's bytes (empty for a status packet)
};
Packet decode(std::span<const std::byte> read);

}  // namespace sg::client::real_com::pty
