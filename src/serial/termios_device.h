// termios_device.h: a Device over a real tty or a pty (STYLE.md §2, serial/). Opened exclusively,
// in raw mode, driven by an asio::posix::stream_descriptor on the port's strand.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "serial/device.h"

namespace sg::serial {

class TermiosDevice final : public Device {
public:
    /// Checks that `path` resolves to a serial line of the tty class (tty_check.h: never a file,
    /// another character device or a console; ENOTTY otherwise, and nothing is opened), opens the
    /// resolved path (O_RDWR|O_NOCTTY|O_NONBLOCK|O_CLOEXEC|O_NOFOLLOW), locks it against every
    /// other opener (flock, which holds even for root, plus TIOCEXCL for other programs) and puts
    /// it in raw mode at its current speed. EBUSY when another port or program holds it; ENOTTY
    /// when it is not a terminal. Line settings are the caller's next step (configure()).
    static core::Result<std::unique_ptr<TermiosDevice>> open(core::Strand strand,
                                                             const std::string& path);

    ~TermiosDevice() override;
    TermiosDevice(const TermiosDevice&) = delete;
    TermiosDevice& operator=(const TermiosDevice&) = delete;
    TermiosDevice(TermiosDevice&&) = delete;
    TermiosDevice& operator=(TermiosDevice&&) = delete;

    core::Task<std::tuple<std::error_code, std::size_t>> read_some(
        std::span<std::byte> buf) override;
    std::size_t read_available(std::span<std::byte> buf) override;
    core::Task<std::error_code> wait_readable() override;
    core::Task<std::error_code> write(std::span<const std::byte> bytes) override;
    /// On failure the previous settings are restored (termios, RS-485 mode and FIFO alike).
    void abort_write() override;
    std::uint64_t tx_progress() const override;
    core::Status configure(const config::SerialSettings& settings) override;
    core::Result<config::SerialSettings> settings() const override;
    core::Result<ModemLines> modem_lines() const override;
    std::error_code set_rts(bool on) override;
    std::error_code set_dtr(bool on) override;
    std::optional<ModemLines> virtual_lines() const override;
    std::error_code send_break(std::chrono::milliseconds duration) override;
    std::error_code set_break(bool on) override;
    std::error_code flush(FlushDirection which) override;
    core::Result<std::size_t> output_queue() const override;
    core::Result<std::size_t> input_queue() const override;
    std::error_code set_flow_chars(std::uint8_t xon, std::uint8_t xoff) override;
    std::error_code hold_transmit(bool held) override;
    LineErrors line_errors() const override;
    void on_notification(std::function<void(const Notification&)> handler) override;
    void close() override;
    const std::string& name() const override { return path_; }

private:
    /// read_available(): at most this many reads, each with at least this much room.
    static constexpr int kReadAvailableTries = 8;
    static constexpr std::size_t kReadAvailableMinRoom = 1024;

    TermiosDevice(core::Strand strand, std::string path, int fd);

    std::error_code modem_bits(unsigned long request, int bits);
    std::optional<LineErrors> read_icount() const;
    core::Status apply_interface(config::Interface interface);
    core::Status apply_fifo(bool on);
    void schedule_poll();
    void poll();

    core::Strand strand_;
    std::string path_;
    int fd_;  // owned by descriptor_; kept for the const ioctls (-1 after close)
    asio::posix::stream_descriptor descriptor_;
    asio::posix::stream_descriptor write_descriptor_;  // a dup of fd_: writes wait on it alone
    std::uint64_t tx_handed_ = 0;                      // bytes the tty took, since open
    bool write_abandoned_ = false;                     // abort_write() during this write
    bool writing_ = false;                             // a write() is in flight
    asio::steady_timer break_timer_;                   // ends a send_break()
    asio::steady_timer poll_timer_;                    // TIOCGICOUNT / TIOCMGET every kPollInterval
    std::function<void(const Notification&)> handler_;

    // What the driver can tell us, probed at open: a pty answers neither.
    bool has_icount_ = false;
    bool has_modem_lines_ = false;
    LineErrors icount_base_;  // driver counters at open: ours count from there
    LineErrors last_errors_;  // as of the last poll, to see what changed
    ModemLines last_lines_;
    // A tty without modem-line ioctls (TIOCMGET: ENOTTY/EINVAL at open, a pty): RTS and DTR as
    // last requested, kept here instead (issue 12).
    std::optional<ModemLines> virtual_lines_;

    bool fifo_ = true;                                        // as last applied
    config::Interface interface_ = config::Interface::Rs232;  // as last applied
    std::optional<std::string> rx_trig_;  // rx_trig_bytes before we lowered it (fifo off)
    // Timer handlers can already be queued when the device dies; they hold a weak copy of this
    // and do nothing once it has expired.
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace sg::serial
