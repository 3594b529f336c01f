// pty.cpp: pty pair creation, termios through the master, hang-up detection and TIOCPKT packets
// (pty.h). Called by client.cpp on its strand: at start (open_pair) and from its pty loop. The
// only file of client/ that includes <asm/termbits.h> (struct termios2, for rates the Bxxx table
// lacks); it must not include <termios.h>, whose struct termios it redefines.
#include "client/real_com/pty.h"

#include <asm/termbits.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace sg::client::real_com::pty {

namespace {

core::Result<struct termios2> get(int fd) {
    struct termios2 t {};
    if (::ioctl(fd, TCGETS2, &t) != 0) {
        return core::Error::from_errno(errno, "read the pty's termios (TCGETS2)");
    }
    return t;
}

// The Bxxx codes, for a kernel that leaves c_ospeed at 0 (it fills it in practice).
std::uint32_t baud_from_code(tcflag_t code) {
    switch (code) {
        case B0: return 0;
        case B50: return 50;
        case B75: return 75;
        case B110: return 110;
        case B134: return 134;
        case B150: return 150;
        case B200: return 200;
        case B300: return 300;
        case B600: return 600;
        case B1200: return 1200;
        case B1800: return 1800;
        case B2400: return 2400;
        case B4800: return 4800;
        case B9600: return 9600;
        case B19200: return 19200;
        case B38400: return 38400;
        case B57600: return 57600;
        case B115200: return 115200;
        case B230400: return 230400;
        case B460800: return 460800;
        case B921600: return 921600;
        default: return 9600;
    }
}

}  // namespace

core::Result<Pair> open_pair() {
    const int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) return core::Error::from_errno(errno, "open a pty (posix_openpt)");
    auto fail = [master](const char* what) {
        const int err = errno;
        ::close(master);
        return core::Error::from_errno(err, what);
    };
    if (::grantpt(master) != 0) return fail("grant the pty (grantpt)");
    if (::unlockpt(master) != 0) return fail("unlock the pty (unlockpt)");
    char name[128];
    if (::ptsname_r(master, name, sizeof name) != 0) return fail("name the pty (ptsname)");
    const int flags = ::fcntl(master, F_GETFL);
    if (flags < 0 || ::fcntl(master, F_SETFL, flags | O_NONBLOCK) != 0) {
        return fail("make the pty master non-blocking");
    }
    // Packet mode: flushes and termios changes of the application arrive as status packets.
    int on = 1;
    if (::ioctl(master, TIOCPKT, &on) != 0) return fail("set packet mode (TIOCPKT) on the pty");

    // 9600 instead of the pty's 38400: what a real serial port (and Moxa's npreal2) starts with,
    // so an application that never sets a rate gets the usual one. TCSETS2 on the master sets
    // the slave's termios.
    auto t = get(master);
    if (!t) {
        ::close(master);
        return t.error();
    }
    // CIBAUD stays 0 ("input rate = output rate"): with it set, glibc's tcsetattr() on the
    // slave fails with EINVAL, and so would every application's.
    t->c_cflag &= ~static_cast<tcflag_t>(CBAUD | CIBAUD);
    t->c_cflag |= B9600 | CLOCAL;
    t->c_ospeed = 9600;
    t->c_ispeed = 9600;
    if (::ioctl(master, TCSETS2, &*t) != 0) return fail("set the pty's initial termios");

    // A slave that was never opened does not report POLLHUP on the master; one that was opened
    // and closed does. Opening and closing it once here makes "no application" look the same
    // before the first open as after the last close.
    const int slave = ::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) return fail("open the pty slave");
    ::close(slave);
    return Pair{master, name};
}

core::Result<PtyLine> read_line(int master) {
    auto t = get(master);
    if (!t) return t.error();
    PtyLine l;
    l.baud = (t->c_cflag & CBAUD) == B0 ? 0
             : t->c_ospeed != 0         ? t->c_ospeed
                                        : baud_from_code(t->c_cflag & CBAUD);
    l.two_stop_bits = (t->c_cflag & CSTOPB) != 0;
    l.rts_cts = (t->c_cflag & CRTSCTS) != 0;
    l.ixon = (t->c_iflag & IXON) != 0;
    l.ixoff = (t->c_iflag & IXOFF) != 0;
    l.xon = t->c_cc[VSTART];
    l.xoff = t->c_cc[VSTOP];
    l.hupcl = (t->c_cflag & HUPCL) != 0;
    return l;
}

Readiness poll_now(int master) {
    struct pollfd p {
        master, POLLIN, 0
    };
    if (::poll(&p, 1, 0) <= 0) return {};
    return {(p.revents & POLLHUP) != 0, (p.revents & POLLIN) != 0};
}

void discard_input(int master) {
    (void)::ioctl(master, TCFLSH, TCIFLUSH);
}

Packet decode(std::span<const std::byte> read) {
    Packet p;
    if (read.empty()) return p;
    const auto status = static_cast<unsigned>(read[0]);
    if (status == TIOCPKT_DATA) {
        p.data = read.subspan(1);
        return p;
    }
    p.flush_read = (status & TIOCPKT_FLUSHREAD) != 0;
    p.flush_write = (status & TIOCPKT_FLUSHWRITE) != 0;
    // TIOCPKT_IOCTL comes only when the slave has EXTPROC set; DOSTOP/NOSTOP when IXON with
    // DC1/DC3 was switched. Either way the caller re-reads the termios.
    p.termios = (status & (TIOCPKT_IOCTL | TIOCPKT_DOSTOP | TIOCPKT_NOSTOP)) != 0;
    return p;
}

}  // namespace sg::client::real_com::pty
