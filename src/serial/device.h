// device.h: the serial Device interface (STYLE.md §2, serial/). A Device is one open serial line:
// a termios tty or pty (termios_device.cpp) or a simulated line (sim_device.cpp). It is created on
// a port's strand and every completion and notification runs on that strand; it is not thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <tuple>

#include "config/settings.h"
#include "core/asio.h"
#include "core/result.h"

namespace sg::serial {

/// Modem control lines. rts/dtr are outputs (what we drive); the rest are inputs.
struct ModemLines {
    bool rts = false;
    bool dtr = false;
    bool cts = false;
    bool dsr = false;
    bool dcd = false;
    bool ri = false;
    bool operator==(const ModemLines&) const = default;
};

/// Counters of line conditions seen on receive, since open.
struct LineErrors {
    std::uint64_t framing = 0;
    std::uint64_t parity = 0;
    std::uint64_t overrun = 0;
    std::uint64_t breaks = 0;
    bool operator==(const LineErrors&) const = default;
};

enum class FlushDirection { Receive, Transmit, Both };

/// Something the line did on its own: inputs changed, an error or break was received.
struct Notification {
    enum class Kind { ModemLinesChanged, LineError, BreakReceived };
    Kind kind = Kind::ModemLinesChanged;
    ModemLines lines;   // current state (ModemLinesChanged)
    LineErrors errors;  // totals after this notification
};

class Device {
public:
    virtual ~Device() = default;

    /// Reads at least one byte. Completes with an error at close (operation_aborted) or when the
    /// line is gone (EIO on a USB unplug). One read may be outstanding at a time.
    virtual core::Task<std::tuple<std::error_code, std::size_t>> read_some(
        std::span<std::byte> buf) = 0;

    /// After a read_some() completed: what else the line holds right now, without waiting
    /// (0 when nothing, or when the backend does not do this). Never blocks; errors are left
    /// for the next read_some() to report. Lets a reader gather a burst into one buffer.
    virtual std::size_t read_available(std::span<std::byte> buf) {
        (void)buf;
        return 0;
    }

    /// Waits until the line has something to read (or an error or EOF to report), without
    /// reading: the reader then takes it with read_available() into a buffer it does not keep
    /// (a port with a quiet line owns no read buffer: issue 12 item 1). Completes with
    /// operation_aborted at close; operation_not_supported from backends that cannot wait
    /// (the reader then uses read_some() with a buffer of its own). Exclusive with read_some().
    virtual core::Task<std::error_code> wait_readable() {
        co_return std::make_error_code(std::errc::operation_not_supported);
    }

    /// Writes all of `bytes` (short writes are continued internally). One write outstanding at a
    /// time; completes when the bytes are handed to the driver, not when they left the wire (see
    /// output_queue()).
    virtual core::Task<std::error_code> write(std::span<const std::byte> bytes) = 0;

    /// Abandons the write in flight, if any: it completes with operation_aborted at once, and what
    /// it had handed to the driver that has not left the line is discarded (flush(Transmit)). For
    /// a client that left while its bytes waited for flow control or a full line: its write must
    /// not hold the port (issue 14). A later write is not affected; no effect without a write.
    virtual void abort_write() = 0;
    /// Bytes that have left through the line since open, as far as the backend can tell (handed to
    /// the driver minus its output queue). It stops moving while the line is stalled (flow control
    /// off, a pty nobody reads), which is how a writer tells a slow line from a stuck one.
    virtual std::uint64_t tx_progress() const = 0;

    /// Applies line settings. On failure (e.g. RS-485 on a driver without TIOCSRS485) the error's
    /// message names the setting, the device and the driver's reason ("interface rs485_2wire not
    /// supported by driver of /dev/ttyS1"), and the previous settings stay in force.
    virtual core::Status configure(const config::SerialSettings& settings) = 0;
    /// The settings in force as the driver reports them (a pty reports CS8 and no parity).
    virtual core::Result<config::SerialSettings> settings() const = 0;

    /// Modem lines. ENOTTY/EINVAL on a pty, which has none.
    virtual core::Result<ModemLines> modem_lines() const = 0;
    /// Drive an output line. A device without modem lines (a pty) keeps the requested state as
    /// virtual lines and succeeds, so that every mode answers a client what it set (issue 12).
    virtual std::error_code set_rts(bool on) = 0;
    virtual std::error_code set_dtr(bool on) = 0;
    /// The virtual lines of a device without modem lines: RTS and DTR as last requested, on after
    /// open (inputs all off: nothing drives them). Empty when modem_lines() reports real lines.
    virtual std::optional<ModemLines> virtual_lines() const { return std::nullopt; }

    /// Holds the line in break for `duration` (returns at once; the break ends on a timer), or
    /// starts/stops an indefinite break.
    virtual std::error_code send_break(std::chrono::milliseconds duration) = 0;
    virtual std::error_code set_break(bool on) = 0;

    /// Discards queued bytes.
    virtual std::error_code flush(FlushDirection which) = 0;
    /// Bytes accepted by write() that have not yet left the line (TIOCOUTQ), when known.
    virtual core::Result<std::size_t> output_queue() const = 0;
    /// Bytes the line received that read_some() has not returned yet (TIOCINQ), when known.
    virtual core::Result<std::size_t> input_queue() const = 0;

    /// Software flow-control characters (termios VSTART/VSTOP; 0x11/0x13 until set). They are
    /// used while flow control is xon_xoff and kept across configure().
    virtual std::error_code set_flow_chars(std::uint8_t xon, std::uint8_t xoff) = 0;
    /// Holds transmission as if XOFF had been received (true) or resumes it as if XON had
    /// (false), whatever the flow control (tcflow TCOOFF/TCOON). Bytes written meanwhile wait.
    virtual std::error_code hold_transmit(bool held) = 0;

    virtual LineErrors line_errors() const = 0;

    /// Called on the strand when inputs change or a line condition is received. One handler; set it
    /// before the first read. Backends without modem lines never call it for lines.
    virtual void on_notification(std::function<void(const Notification&)> handler) = 0;

    /// Cancels pending operations (they complete with operation_aborted) and releases the line.
    /// Idempotent.
    virtual void close() = 0;

    virtual const std::string& name() const = 0;
};

using DevicePtr = std::unique_ptr<Device>;

/// Opens `path` on `strand`: "sim:..." names a simulated line (sim_device.h), anything else a tty
/// or pty path, which must match one of `allowed_devices` (system.allowed_devices,
/// config/devices.h; refused with EACCES "PATH is not allowed by system.allowed_devices" before
/// any file-system access) and be a serial line of the tty class (tty_check.h). The settings are
/// applied before it returns; a failure to apply them closes the line and returns the error. The
/// default (no pattern) allows simulated lines only.
core::Result<DevicePtr> open(core::Strand strand, const std::string& path,
                             const config::SerialSettings& settings,
                             std::span<const std::string> allowed_devices = {});

}  // namespace sg::serial
