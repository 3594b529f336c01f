// termios2.cpp: line framing through struct termios2 (TCGETS2/TCSETS2 with BOTHER), so that any
// baud rate in 50..921600 works, not only the Bxxx table. Called by termios_device.cpp on the
// port's strand; plain synchronous ioctls, no I/O objects. This is the only file that includes
// <asm/termbits.h>: it redefines struct termios and clashes with glibc's <termios.h>.
#include "serial/termios2.h"

#include <asm/termbits.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

namespace sg::serial::termios2 {

namespace {

static_assert(sizeof(struct termios2) <= sizeof(Saved::raw), "Saved too small for termios2");

core::Result<struct termios2> get(int fd, const std::string& path) {
    struct termios2 t {};
    if (::ioctl(fd, TCGETS2, &t) != 0) {
        return core::Error::from_errno(errno, "read line settings (TCGETS2) of " + path);
    }
    return t;
}

core::Status set(int fd, const struct termios2& t, const std::string& path) {
    if (::ioctl(fd, TCSETS2, &t) != 0) {
        return core::Error::from_errno(errno, "set line settings (TCSETS2) on " + path);
    }
    return {};
}

// cfmakeraw() for termios2 (glibc's works only on struct termios): the bytes pass untouched.
void raw(struct termios2& t) {
    t.c_iflag &= ~static_cast<tcflag_t>(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL |
                                        IXON | IXOFF | IXANY | IUCLC | IMAXBEL);
    t.c_oflag &= ~static_cast<tcflag_t>(OPOST);
    t.c_lflag &= ~static_cast<tcflag_t>(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    // CLOCAL: a missing DCD must not block reads or hang up the port; modes watch DCD themselves.
    t.c_cflag |= CREAD | CLOCAL;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
}

// The Bxxx codes, for a driver that leaves c_ospeed at 0 (the kernel fills it in practice).
std::uint32_t baud_from_code(tcflag_t code) {
    struct Entry {
        tcflag_t code;
        std::uint32_t baud;
    };
    static constexpr Entry kTable[] = {
        {B50, 50},       {B75, 75},         {B110, 110},       {B134, 134},       {B150, 150},
        {B200, 200},     {B300, 300},       {B600, 600},       {B1200, 1200},     {B1800, 1800},
        {B2400, 2400},   {B4800, 4800},     {B9600, 9600},     {B19200, 19200},   {B38400, 38400},
        {B57600, 57600}, {B115200, 115200}, {B230400, 230400}, {B460800, 460800}, {B921600, 921600},
    };
    for (const auto& e : kTable) {
        if (e.code == code) return e.baud;
    }
    return 0;
}

// The Bxxx code of a standard rate, or 0 (BOTHER is needed).
tcflag_t code_from_baud(std::uint32_t baud) {
    for (tcflag_t code :
         {B50,   B75,   B110,  B134,   B150,   B200,   B300,    B600,    B1200,   B1800,
          B2400, B4800, B9600, B19200, B38400, B57600, B115200, B230400, B460800, B921600}) {
        if (baud_from_code(code) == baud) return code;
    }
    return 0;
}

core::Status unsupported(std::string what) {
    return core::make_error(core::Errc::unsupported, std::move(what));
}

core::Status invalid(std::string what) {
    return core::make_error(core::Errc::invalid_config, std::move(what));
}

}  // namespace

core::Result<Saved> save(int fd, const std::string& path) {
    auto t = get(fd, path);
    if (!t) return t.error();
    Saved saved;
    std::memcpy(saved.raw.data(), &*t, sizeof(struct termios2));
    return saved;
}

core::Status restore(int fd, const Saved& saved, const std::string& path) {
    struct termios2 t {};
    std::memcpy(&t, saved.raw.data(), sizeof(struct termios2));
    return set(fd, t, path);
}

core::Status make_raw(int fd, const std::string& path) {
    auto t = get(fd, path);
    if (!t) return t.error();
    raw(*t);
    return set(fd, *t, path);
}

core::Status apply(int fd, const config::SerialSettings& s, const std::string& path) {
    // Validate everything first: a rejected value must leave the line as it was.
    if (s.baud < config::kMinBaud || s.baud > config::kMaxBaud) {
        return invalid("baud " + std::to_string(s.baud) + " is outside 50..921600 for " + path);
    }
    tcflag_t size = 0;
    switch (s.data_bits) {
        case 5: size = CS5; break;
        case 6: size = CS6; break;
        case 7: size = CS7; break;
        case 8: size = CS8; break;
        default:
            return invalid("data bits " + std::to_string(s.data_bits) + " is outside 5..8 for " +
                           path);
    }
    // Linux (like the 16550's LCR.STB bit) has one "more stop bits" flag: 2 stop bits, or 1.5
    // with 5 data bits. So 1.5 needs 5 data bits and 2 cannot be had with 5 data bits.
    if (s.stop_bits == config::StopBits::OneAndHalf && s.data_bits != 5) {
        return invalid("1.5 stop bits need 5 data bits (Linux: CSTOPB with CS5) on " + path);
    }
    if (s.stop_bits == config::StopBits::Two && s.data_bits == 5) {
        return unsupported(
            "2 stop bits with 5 data bits: the UART sends 1.5 (CSTOPB with CS5); "
            "choose 1.5 stop bits for " +
            path);
    }
    tcflag_t flow_c = 0;  // c_cflag bits
    tcflag_t flow_i = 0;  // c_iflag bits
    switch (s.flow_control) {
        case config::FlowControl::None: break;
        case config::FlowControl::RtsCts: flow_c = CRTSCTS; break;
        case config::FlowControl::XonXoff: flow_i = IXON | IXOFF; break;
        case config::FlowControl::DtrDsr:
#ifdef CDTRDSR
            flow_c = CDTRDSR;
            break;
#else
            // Mainline Linux termios has no DTR/DSR handshake (CDTRDSR was proposed, never
            // merged). Saying so beats silently running without flow control.
            return unsupported("flow control dtr_dsr is not supported by Linux termios on " + path +
                               " (no CDTRDSR)");
#endif
        default: return invalid("unknown flow control for " + path);
    }
    tcflag_t parity = 0;
    switch (s.parity) {
        case config::Parity::None: break;
        case config::Parity::Odd: parity = PARENB | PARODD; break;
        case config::Parity::Even: parity = PARENB; break;
        case config::Parity::Mark: parity = PARENB | CMSPAR | PARODD; break;  // stick parity 1
        case config::Parity::Space: parity = PARENB | CMSPAR; break;          // stick parity 0
        default: return invalid("unknown parity for " + path);
    }

    auto t = get(fd, path);
    if (!t) return t.error();
    raw(*t);
    t->c_cflag &= ~static_cast<tcflag_t>(CBAUD | CIBAUD | CSIZE | CSTOPB | PARENB | PARODD |
                                         CMSPAR | CRTSCTS);
#ifdef CDTRDSR
    t->c_cflag &= ~static_cast<tcflag_t>(CDTRDSR);
#endif
    // A standard rate by its Bxxx code, as every other tool sets and reads it: with BOTHER a pty
    // keeps BOTHER in c_cflag, so `stty -F` showed "speed 0 baud" and tcgetattr() BOTHER (issue
    // 12). BOTHER only for a rate without a code: the driver picks the nearest divisor it can.
    const tcflag_t code = code_from_baud(s.baud);
    const tcflag_t speed = code != 0 ? code : static_cast<tcflag_t>(BOTHER);
    t->c_cflag |= speed | (speed << IBSHIFT);
    t->c_ospeed = s.baud;
    t->c_ispeed = s.baud;
    t->c_cflag |= size | parity | flow_c;
    if (s.stop_bits != config::StopBits::One) t->c_cflag |= CSTOPB;
    t->c_iflag |= flow_i;
    // With parity on, check it; a bad byte arrives as 0x00 (no PARMRK) and is counted by the
    // driver (TIOCGICOUNT), which is what termios_device reports as line errors.
    if (parity != 0) {
        t->c_iflag |= INPCK;
    } else {
        t->c_iflag &= ~static_cast<tcflag_t>(INPCK);
    }
    return set(fd, *t, path);
}

core::Result<config::SerialSettings> read(int fd, const std::string& path) {
    auto t = get(fd, path);
    if (!t) return t.error();
    config::SerialSettings s;
    s.baud = t->c_ospeed != 0 ? t->c_ospeed : baud_from_code(t->c_cflag & CBAUD);
    switch (t->c_cflag & CSIZE) {
        case CS5: s.data_bits = 5; break;
        case CS6: s.data_bits = 6; break;
        case CS7: s.data_bits = 7; break;
        default: s.data_bits = 8; break;
    }
    if ((t->c_cflag & PARENB) == 0) {
        s.parity = config::Parity::None;
    } else if ((t->c_cflag & CMSPAR) != 0) {
        s.parity = (t->c_cflag & PARODD) != 0 ? config::Parity::Mark : config::Parity::Space;
    } else {
        s.parity = (t->c_cflag & PARODD) != 0 ? config::Parity::Odd : config::Parity::Even;
    }
    if ((t->c_cflag & CSTOPB) == 0) {
        s.stop_bits = config::StopBits::One;
    } else {
        s.stop_bits = s.data_bits == 5 ? config::StopBits::OneAndHalf : config::StopBits::Two;
    }
    if ((t->c_cflag & CRTSCTS) != 0) {
        s.flow_control = config::FlowControl::RtsCts;
#ifdef CDTRDSR
    } else if ((t->c_cflag & CDTRDSR) != 0) {
        s.flow_control = config::FlowControl::DtrDsr;
#endif
    } else if ((t->c_iflag & (IXON | IXOFF)) == (IXON | IXOFF)) {
        s.flow_control = config::FlowControl::XonXoff;
    } else {
        s.flow_control = config::FlowControl::None;
    }
    return s;
}

core::Status set_flow_chars(int fd, std::uint8_t xon, std::uint8_t xoff, const std::string& path) {
    auto t = get(fd, path);
    if (!t) return t.error();
    t->c_cc[VSTART] = xon;
    t->c_cc[VSTOP] = xoff;
    return set(fd, *t, path);
}

}  // namespace sg::serial::termios2
