// termios_device.cpp: the Device over a tty or pty path. port::Port opens it through
// serial::open() and drives it from the port's strand: reads and writes are async operations of
// an asio::posix::stream_descriptor bound to that strand, everything else is a synchronous ioctl
// (they do not block: the fd is O_NONBLOCK and none of them waits for the line). Two timers, also
// on the strand, end a timed break and poll the driver's counters and modem inputs, because Linux
// offers no readiness event for either (TIOCMIWAIT blocks a thread). Framing lives in
// termios2.cpp, the one file that may include <asm/termbits.h>.
#include "serial/termios_device.h"

#include <fcntl.h>
#include <linux/serial.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <fstream>

#include "serial/termios2.h"
#include "serial/tty_check.h"
#include "serial/tty_write.h"

namespace sg::serial {

namespace {

// Often enough that a DCD drop or a burst of framing errors is reported within a human's
// reaction time, rarely enough that a port costs nothing measurable (two ioctls a tick).
constexpr std::chrono::milliseconds kPollInterval{100};

std::error_code errno_code(int err) {
    return {err, std::generic_category()};
}

std::error_code closed_code() {
    return errno_code(EBADF);
}

core::Error closed_error(const std::string& path) {
    return core::Error{closed_code(), path + " is closed"};
}

std::error_code aborted_code() {
    return boost::system::error_code(asio::error::operation_aborted);
}

// Where the 8250 driver exposes the receive FIFO trigger level: /sys/class/tty/<name>/.
std::string rx_trig_path(const std::string& path) {
    char real[PATH_MAX];
    if (::realpath(path.c_str(), real) == nullptr) return {};
    std::string name(real);
    // /dev/pts/N has no sysfs entry of that name; "/sys/class/tty/N" would be wrong.
    if (name.starts_with("/dev/pts/")) return {};
    return "/sys/class/tty/" + name.substr(name.rfind('/') + 1) + "/rx_trig_bytes";
}

}  // namespace

core::Result<std::unique_ptr<TermiosDevice>> TermiosDevice::open(core::Strand strand,
                                                                 const std::string& path) {
    // Issue 14 item 12: only a serial line of the tty class is ever opened, checked from its
    // metadata first (tty_check.h): open(2) of some character devices acts (/dev/watchdog), and
    // a console or another user's pty is no serial line.
    auto target = check_tty_path(path);
    if (!target) return target.error();
    // The resolved path, not following a symlink swapped in since the check; O_NOCTTY so that no
    // terminal becomes serve's controlling terminal.
    const int fd =
        ::open(target->real_path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        const int err = errno;
        if (err == EBUSY) {  // another program set TIOCEXCL
            return core::Error{errno_code(err),
                               "open " + path + ": in use by another program (TIOCEXCL)"};
        }
        return core::Error::from_errno(err, "open " + path);
    }
    // The file opened must be the device checked (the node may have been replaced in between).
    if (struct stat st{};
        ::fstat(fd, &st) != 0 || !S_ISCHR(st.st_mode) || st.st_rdev != target->rdev) {
        ::close(fd);
        return core::Error{errno_code(ENOTTY), "open " + path + ": changed while being opened"};
    }
    // flock first: TIOCEXCL does not stop root (CAP_SYS_ADMIN), and the daemon may run as root,
    // so two ports naming the same tty would both get it. A flock is per open file description,
    // so it refuses a second open even from this process, and dies with the fd on a crash.
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        ::close(fd);
        if (err == EWOULDBLOCK) {
            return core::Error{errno_code(EBUSY),
                               "open " + path + ": in use by another port or program (locked)"};
        }
        return core::Error::from_errno(err, "lock " + path + " (flock)");
    }
    if (auto raw = termios2::make_raw(fd, path); !raw) {  // ENOTTY for a non-terminal
        ::close(fd);
        return raw.error();
    }
    // TIOCEXCL keeps out other (non-root) programs that do not flock, such as a stray `cat`.
    if (::ioctl(fd, TIOCEXCL) != 0) {
        const int err = errno;
        ::close(fd);
        return core::Error::from_errno(err, "make " + path + " exclusive (TIOCEXCL)");
    }

    std::unique_ptr<TermiosDevice> dev(new TermiosDevice(std::move(strand), path, fd));
    boost::system::error_code ec;
    dev->descriptor_.assign(fd, ec);  // registers with the reactor; fails only on exhaustion
    if (ec) {
        ::ioctl(fd, TIOCNXCL);
        ::close(fd);
        dev->fd_ = -1;
        return core::Error{ec, "register " + path + " with the event loop: " + ec.message()};
    }
    // Writes wait on a descriptor of their own (a dup of the same open file description), so that
    // abort_write() can cancel a write's wait without cancelling the pending read.
    const int wfd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (wfd >= 0) dev->write_descriptor_.assign(wfd, ec);
    if (wfd < 0 || ec) {
        const std::string why =
            wfd < 0 ? std::error_code(errno, std::generic_category()).message() : ec.message();
        if (wfd >= 0 && !dev->write_descriptor_.is_open()) ::close(wfd);
        dev->close();
        return core::Error{errno_code(EMFILE), "register " + path + " for writing: " + why};
    }

    // Probe what the driver can report. A pty answers neither, and then nothing is polled.
    if (auto counts = dev->read_icount()) {
        dev->has_icount_ = true;
        dev->icount_base_ = *counts;
    }
    if (auto lines = dev->modem_lines()) {
        dev->has_modem_lines_ = true;
        dev->last_lines_ = *lines;
    } else if (lines.error().code == std::errc::inappropriate_io_control_operation ||
               lines.error().code == std::errc::invalid_argument) {
        // No modem lines at all: RTS/DTR are kept virtually, on as a tty's open leaves them.
        dev->virtual_lines_ = ModemLines{.rts = true, .dtr = true};
    }
    return dev;
}

TermiosDevice::TermiosDevice(core::Strand strand, std::string path, int fd)
    : strand_(std::move(strand)),
      path_(std::move(path)),
      fd_(fd),
      descriptor_(strand_),
      write_descriptor_(strand_),
      break_timer_(strand_),
      poll_timer_(strand_) {}

TermiosDevice::~TermiosDevice() {
    close();
}

// ---------------------------------------------------------------- data

core::Task<std::tuple<std::error_code, std::size_t>> TermiosDevice::read_some(
    std::span<std::byte> buf) {
    if (fd_ < 0) co_return std::tuple<std::error_code, std::size_t>{aborted_code(), 0};
    // Nothing of `this` is touched after the await: close() may have run, or the owner may have
    // destroyed us, by the time the read completes with operation_aborted.
    auto [ec, n] = co_await descriptor_.async_read_some(asio::buffer(buf.data(), buf.size()),
                                                        core::use_nothrow);
    co_return std::tuple<std::error_code, std::size_t>{ec, n};
}

core::Task<std::error_code> TermiosDevice::wait_readable() {
    if (fd_ < 0) co_return aborted_code();
    // As read_some: nothing of `this` is touched after the await.
    auto [ec] =
        co_await descriptor_.async_wait(asio::posix::descriptor_base::wait_read, core::use_nothrow);
    co_return ec;
}

std::size_t TermiosDevice::read_available(std::span<std::byte> buf) {
    // A tty hands out at most its line discipline's buffer (4 KiB) per read. Under load more is
    // often there already: take it now, without another trip through the event loop, so that
    // the network side sends fewer, larger segments (fewer wake-ups all the way to the client).
    // Only what is there: the fd is O_NONBLOCK (open()), and EAGAIN ends the loop, so no byte waits
    // longer than it would have.
    if (fd_ < 0 || !descriptor_.is_open()) return 0;
    std::size_t got = 0;
    for (int i = 0; i < kReadAvailableTries && buf.size() - got >= kReadAvailableMinRoom; ++i) {
        const ssize_t r = ::read(fd_, buf.data() + got, buf.size() - got);
        if (r <= 0) break;  // EAGAIN (nothing more now), EOF or an error: the next read sees it
        got += static_cast<std::size_t>(r);
    }
    return got;
}

core::Task<std::error_code> TermiosDevice::write(std::span<const std::byte> bytes) {
    if (fd_ < 0) co_return aborted_code();
    // A tty-sized piece per write(2), waiting only on EAGAIN (tty_write.h). Like async_write, this
    // touches the descriptor again after a wait: the owner does not destroy a device with a write
    // in flight (it closes it first, which ends the wait with operation_aborted).
    write_abandoned_ = false;  // one write at a time (Device): this flag is this write's
    writing_ = true;
    auto [ec, n] = co_await write_tty(write_descriptor_, bytes, &tx_handed_, &write_abandoned_);
    (void)n;
    writing_ = false;  // (the owner keeps us alive while a write is in flight)
    co_return ec;
}

void TermiosDevice::abort_write() {
    if (fd_ < 0 || !writing_) return;
    // The flag stops a write whose wait already completed (it would go on writing); the cancel
    // ends a wait in progress. Only the write descriptor's wait: the read goes on.
    write_abandoned_ = true;
    boost::system::error_code ignored;
    write_descriptor_.cancel(ignored);
    (void)::tcflush(fd_, TCOFLUSH);  // what the driver holds of it does not go out either
}

std::uint64_t TermiosDevice::tx_progress() const {
    // Handed to the tty minus what it still holds (a UART's queue; a pty reports 0 and its
    // progress is what the other side read).
    std::uint64_t queued = 0;
    if (auto q = output_queue()) queued = *q;
    return tx_handed_ > queued ? tx_handed_ - queued : 0;
}

// ---------------------------------------------------------------- line settings

core::Status TermiosDevice::configure(const config::SerialSettings& s) {
    if (fd_ < 0) return closed_error(path_);
    switch (s.interface) {
        case config::Interface::Rs232:
        case config::Interface::Rs422:
        case config::Interface::Rs485TwoWire:
        case config::Interface::Rs485FourWire: break;
        default: return core::make_error(core::Errc::invalid_config, "unknown interface");
    }
    auto saved = termios2::save(fd_, path_);
    if (!saved) return saved.error();
    struct serial_rs485 old_rs485 {};
    const bool had_rs485 = ::ioctl(fd_, TIOCGRS485, &old_rs485) == 0;

    // Three steps, each undone if a later one fails: the port keeps working with its old
    // settings and the error names what the driver refused.
    if (auto st = termios2::apply(fd_, s, path_); !st) {
        (void)termios2::restore(fd_, *saved, path_);
        return st;
    }
    if (auto st = apply_interface(s.interface); !st) {
        (void)termios2::restore(fd_, *saved, path_);
        return st;
    }
    if (auto st = apply_fifo(s.fifo); !st) {
        (void)termios2::restore(fd_, *saved, path_);
        if (had_rs485) ::ioctl(fd_, TIOCSRS485, &old_rs485);
        return st;
    }
    interface_ = s.interface;
    return {};
}

core::Status TermiosDevice::apply_interface(config::Interface interface) {
    struct serial_rs485 cur {};
    const bool has_rs485 = ::ioctl(fd_, TIOCGRS485, &cur) == 0;
    std::uint32_t mode_bits = SER_RS485_ENABLED | SER_RS485_RTS_ON_SEND | SER_RS485_RTS_AFTER_SEND |
                              SER_RS485_RX_DURING_TX;
#ifdef SER_RS485_MODE_RS422
    mode_bits |= SER_RS485_MODE_RS422;
#endif
    if (interface == config::Interface::Rs232) {
        // Only undo an RS-485 mode the driver reports. A pty (and most USB adapters) answer
        // TIOCGRS485 with ENOTTY: nothing to undo, and RS-232 needs no ioctl at all.
        if (!has_rs485 || (cur.flags & SER_RS485_ENABLED) == 0) return {};
        struct serial_rs485 off = cur;
        off.flags &= ~mode_bits;
        if (::ioctl(fd_, TIOCSRS485, &off) != 0) {
            return core::Error::from_errno(errno, "switch " + path_ + " to rs232 (TIOCSRS485)");
        }
        return {};
    }

    struct serial_rs485 want = has_rs485 ? cur : serial_rs485{};
    want.flags &= ~mode_bits;
    std::uint32_t required = SER_RS485_ENABLED;
    switch (interface) {
        case config::Interface::Rs485TwoWire:
            // Half duplex: the driver raises RTS (the transceiver's DE) only while sending, and
            // the receiver is off meanwhile so we do not read our own echo.
            want.flags |= SER_RS485_ENABLED | SER_RS485_RTS_ON_SEND;
            break;
        case config::Interface::Rs485FourWire:
            // Full duplex on two pairs: as 2-wire, but keep receiving while transmitting.
            want.flags |= SER_RS485_ENABLED | SER_RS485_RTS_ON_SEND | SER_RS485_RX_DURING_TX;
            required |= SER_RS485_RX_DURING_TX;
            break;
        default:  // Rs422: point to point, full duplex, transmitter always on.
            want.flags |= SER_RS485_ENABLED | SER_RS485_RX_DURING_TX;
#ifdef SER_RS485_MODE_RS422
            want.flags |= SER_RS485_MODE_RS422;
#endif
            required |= SER_RS485_RX_DURING_TX;
            break;
    }
    const std::string what = std::string("interface ") + config::to_string(interface);
    if (::ioctl(fd_, TIOCSRS485, &want) != 0) {
        const int err = errno;
        if (err == ENOTTY || err == EINVAL || err == EOPNOTSUPP) {
            return core::make_error(core::Errc::unsupported,
                                    what + " not supported by driver of " + path_ +
                                        " (TIOCSRS485: " + std::generic_category().message(err) +
                                        ")");
        }
        return core::Error::from_errno(err, "set " + what + " on " + path_ + " (TIOCSRS485)");
    }
    // Since Linux 6.0 the serial core clears flags a driver cannot do and still returns 0; read
    // back so that a silently dropped mode is an error, not a surprise on the wire.
    struct serial_rs485 got {};
    if (::ioctl(fd_, TIOCGRS485, &got) == 0 && (got.flags & required) != required) {
        if (has_rs485) ::ioctl(fd_, TIOCSRS485, &cur);
        return core::make_error(
            core::Errc::unsupported,
            what + " not supported by driver of " + path_ + " (the driver dropped the mode flags)");
    }
    return {};
}

core::Status TermiosDevice::apply_fifo(bool on) {
    // Linux has no generic FIFO switch. The 8250/16550 driver's rx_trig_bytes is the closest
    // real knob: trigger at 1 byte gives what "FIFO off" is for (latency), without the overruns
    // of a truly disabled FIFO. Other drivers (USB adapters, ptys) cannot do it: say so.
    if (on) {
        if (rx_trig_) {
            std::ofstream(rx_trig_path(path_)) << *rx_trig_;
            rx_trig_.reset();
        }
        fifo_ = true;
        return {};
    }
    if (!fifo_) return {};
    const std::string sysfs = rx_trig_path(path_);
    std::string current;
    if (sysfs.empty() || !(std::ifstream(sysfs) >> current)) {
        return core::make_error(core::Errc::unsupported, "fifo off not supported by driver of " +
                                                             path_ + " (no rx_trig_bytes)");
    }
    std::ofstream out(sysfs);
    if (!(out << "1" << std::flush)) {
        return core::make_error(core::Errc::unsupported,
                                "fifo off refused by driver of " + path_ + " (rx_trig_bytes)");
    }
    rx_trig_ = current;
    fifo_ = false;
    return {};
}

core::Result<config::SerialSettings> TermiosDevice::settings() const {
    if (fd_ < 0) return closed_error(path_);
    auto s = termios2::read(fd_, path_);
    if (!s) return s.error();
    struct serial_rs485 rs {};
    if (::ioctl(fd_, TIOCGRS485, &rs) == 0 && (rs.flags & SER_RS485_ENABLED) != 0) {
#ifdef SER_RS485_MODE_RS422
        if ((rs.flags & SER_RS485_MODE_RS422) != 0) {
            s->interface = config::Interface::Rs422;
        } else
#endif
            if ((rs.flags & SER_RS485_RX_DURING_TX) == 0) {
            s->interface = config::Interface::Rs485TwoWire;
        } else if ((rs.flags & SER_RS485_RTS_ON_SEND) != 0) {
            s->interface = config::Interface::Rs485FourWire;
        } else {
            s->interface = config::Interface::Rs422;
        }
        // Without SER_RS485_MODE_RS422 our rs422 is "full duplex, RTS not switched"; a 6.x serial
        // core fills in RTS_ON_SEND, which then reads as 4-wire. Keep what we asked for.
        if (s->interface == config::Interface::Rs485FourWire &&
            interface_ == config::Interface::Rs422) {
            s->interface = config::Interface::Rs422;
        }
    }
    s->fifo = fifo_;  // no driver reports it; this is what apply_fifo() achieved
    return s;
}

// ---------------------------------------------------------------- modem lines, break, queues

core::Result<ModemLines> TermiosDevice::modem_lines() const {
    if (fd_ < 0) return closed_error(path_);
    int bits = 0;
    if (::ioctl(fd_, TIOCMGET, &bits) != 0) {  // ENOTTY or EINVAL on a pty: it has no lines
        return core::Error::from_errno(errno, "read modem lines (TIOCMGET) of " + path_);
    }
    return ModemLines{.rts = (bits & TIOCM_RTS) != 0,
                      .dtr = (bits & TIOCM_DTR) != 0,
                      .cts = (bits & TIOCM_CTS) != 0,
                      .dsr = (bits & TIOCM_DSR) != 0,
                      .dcd = (bits & TIOCM_CAR) != 0,
                      .ri = (bits & TIOCM_RNG) != 0};
}

std::error_code TermiosDevice::modem_bits(unsigned long request, int bits) {
    if (fd_ < 0) return closed_code();
    if (::ioctl(fd_, request, &bits) != 0) return errno_code(errno);
    return {};
}

std::error_code TermiosDevice::set_rts(bool on) {
    if (virtual_lines_ && fd_ >= 0) {
        virtual_lines_->rts = on;
        return {};
    }
    return modem_bits(on ? TIOCMBIS : TIOCMBIC, TIOCM_RTS);
}

std::error_code TermiosDevice::set_dtr(bool on) {
    if (virtual_lines_ && fd_ >= 0) {
        virtual_lines_->dtr = on;
        return {};
    }
    return modem_bits(on ? TIOCMBIS : TIOCMBIC, TIOCM_DTR);
}

std::optional<ModemLines> TermiosDevice::virtual_lines() const {
    if (fd_ < 0) return std::nullopt;
    return virtual_lines_;
}

std::error_code TermiosDevice::send_break(std::chrono::milliseconds duration) {
    if (auto ec = set_break(true)) return ec;
    // tcsendbreak() would block the strand for the whole break; a timer ends it instead.
    // expires_after() cancels an earlier timed break's wait, so the later duration wins.
    break_timer_.expires_after(duration);
    break_timer_.async_wait(
        [this, alive = std::weak_ptr<int>(alive_)](const boost::system::error_code& ec) {
            if (ec || alive.expired() || fd_ < 0) return;
            ::ioctl(fd_, TIOCCBRK);
        });
    return {};
}

std::error_code TermiosDevice::set_break(bool on) {
    if (fd_ < 0) return closed_code();
    break_timer_.cancel();  // an explicit set/clear overrides a timed break in progress
    if (::ioctl(fd_, on ? TIOCSBRK : TIOCCBRK) != 0) return errno_code(errno);
    return {};
}

std::error_code TermiosDevice::flush(FlushDirection which) {
    if (fd_ < 0) return closed_code();
    const int queue = which == FlushDirection::Receive    ? TCIFLUSH
                      : which == FlushDirection::Transmit ? TCOFLUSH
                                                          : TCIOFLUSH;
    if (::tcflush(fd_, queue) != 0) return errno_code(errno);  // ioctl(TCFLSH)
    return {};
}

core::Result<std::size_t> TermiosDevice::output_queue() const {
    if (fd_ < 0) return closed_error(path_);
    int n = 0;
    if (::ioctl(fd_, TIOCOUTQ, &n) != 0) {
        return core::Error::from_errno(errno, "read output queue (TIOCOUTQ) of " + path_);
    }
    return static_cast<std::size_t>(n < 0 ? 0 : n);
}

core::Result<std::size_t> TermiosDevice::input_queue() const {
    if (fd_ < 0) return closed_error(path_);
    int n = 0;
    if (::ioctl(fd_, TIOCINQ, &n) != 0) {
        return core::Error::from_errno(errno, "read input queue (TIOCINQ) of " + path_);
    }
    return static_cast<std::size_t>(n < 0 ? 0 : n);
}

std::error_code TermiosDevice::set_flow_chars(std::uint8_t xon, std::uint8_t xoff) {
    if (fd_ < 0) return closed_code();
    if (auto st = termios2::set_flow_chars(fd_, xon, xoff, path_); !st) return st.error().code;
    return {};
}

std::error_code TermiosDevice::hold_transmit(bool held) {
    if (fd_ < 0) return closed_code();
    // The tty layer's own stop/start, as a received XOFF/XON does it (Linux: stop_tty()).
    // glibc: "MT-Unsafe race:tcattr(filedes)", a race on this fd only, which the strand excludes.
    // NOLINTNEXTLINE(concurrency-mt-unsafe)
    if (::tcflow(fd_, held ? TCOOFF : TCOON) != 0) return errno_code(errno);
    return {};
}

// ---------------------------------------------------------------- line errors, notifications

std::optional<LineErrors> TermiosDevice::read_icount() const {
    if (fd_ < 0) return std::nullopt;
    struct serial_icounter_struct ic {};
    if (::ioctl(fd_, TIOCGICOUNT, &ic) != 0) return std::nullopt;
    // The driver counts since the UART was set up; we report since our open. Counters that went
    // backwards (a driver reset) are taken as they are.
    auto since = [](int now, std::uint64_t base) -> std::uint64_t {
        const auto n = static_cast<std::uint64_t>(now < 0 ? 0 : now);
        return n >= base ? n - base : n;
    };
    return LineErrors{.framing = since(ic.frame, icount_base_.framing),
                      .parity = since(ic.parity, icount_base_.parity),
                      .overrun = since(ic.overrun + ic.buf_overrun, icount_base_.overrun),
                      .breaks = since(ic.brk, icount_base_.breaks)};
}

LineErrors TermiosDevice::line_errors() const {
    if (!has_icount_) return {};  // a pty and most USB adapters count nothing
    return read_icount().value_or(last_errors_);
}

void TermiosDevice::on_notification(std::function<void(const Notification&)> handler) {
    handler_ = std::move(handler);
    poll_timer_.cancel();
    if (has_icount_) last_errors_ = read_icount().value_or(last_errors_);
    schedule_poll();
}

void TermiosDevice::schedule_poll() {
    if (!handler_ || fd_ < 0 || (!has_icount_ && !has_modem_lines_)) return;
    poll_timer_.expires_after(kPollInterval);
    poll_timer_.async_wait(
        [this, alive = std::weak_ptr<int>(alive_)](const boost::system::error_code& ec) {
            if (ec || alive.expired()) return;
            poll();
            if (!alive.expired()) schedule_poll();
        });
}

void TermiosDevice::poll() {
    // The handler may close the device (a mode reacting to DCD loss); re-check after each call.
    const std::weak_ptr<int> alive = alive_;
    if (has_icount_) {
        if (auto now = read_icount()) {
            const LineErrors before = last_errors_;
            last_errors_ = *now;
            const auto lines = last_lines_;
            if (now->breaks != before.breaks && handler_) {
                handler_(Notification{Notification::Kind::BreakReceived, lines, *now});
                if (alive.expired() || fd_ < 0) return;
            }
            if ((now->framing != before.framing || now->parity != before.parity ||
                 now->overrun != before.overrun) &&
                handler_) {
                handler_(Notification{Notification::Kind::LineError, lines, *now});
                if (alive.expired() || fd_ < 0) return;
            }
        } else {
            has_icount_ = false;  // EIO after an unplug: the read reports it, stop asking
        }
    }
    if (has_modem_lines_) {
        if (auto lines = modem_lines()) {
            const ModemLines before = last_lines_;
            last_lines_ = *lines;
            if ((lines->cts != before.cts || lines->dsr != before.dsr || lines->dcd != before.dcd ||
                 lines->ri != before.ri) &&
                handler_) {
                handler_(Notification{Notification::Kind::ModemLinesChanged, *lines, last_errors_});
            }
        } else {
            has_modem_lines_ = false;
        }
    }
}

// ---------------------------------------------------------------- close

void TermiosDevice::close() {
    if (fd_ < 0) return;
    break_timer_.cancel();
    poll_timer_.cancel();
    if (rx_trig_) (void)apply_fifo(true);  // leave the UART's FIFO as we found it
    // The tty's TTY_EXCLUSIVE flag outlives our fd while anyone else holds the tty (a pty's
    // master): clear it, or the next open by a non-root user fails with EBUSY.
    ::ioctl(fd_, TIOCNXCL);
    boost::system::error_code ignored;
    write_descriptor_.close(ignored);  // a pending write completes with operation_aborted
    descriptor_.close(ignored);        // so does a pending read; the last close of the
                                       // description drops the flock
    fd_ = -1;
    alive_ = std::make_shared<int>(0);  // queued timer handlers see their copy expired
}

}  // namespace sg::serial
