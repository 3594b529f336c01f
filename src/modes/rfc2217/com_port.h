// com_port.h: the serial side of RFC 2217's COM-PORT-OPTION: applies a client's SET-* requests to
// the port's serial::Device and builds the server's answers (command + 100, carrying the value in
// force) and its NOTIFY-MODEMSTATE / NOTIFY-LINESTATE notifications under the client's masks.
// No socket: the session decides when a request runs (in order with data, or at once) and sends
// the bytes this appends. Runs on the port strand, like the Device it drives.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "config/settings.h"
#include "modes/rfc2217/telnet_codec.h"
#include "serial/device.h"

namespace sg::modes::rfc2217 {

// ---------------------------------------------------------------- RFC 2217 value codes

// SET-PARITY: 1 none, 2 odd, 3 even, 4 mark, 5 space (0 = query).
std::optional<config::Parity> parity_from_code(std::uint8_t code);
std::uint8_t parity_code(config::Parity p);
// SET-STOPSIZE: 1 one, 2 two, 3 one and a half (0 = query).
std::optional<config::StopBits> stop_bits_from_code(std::uint8_t code);
std::uint8_t stop_bits_code(config::StopBits s);

// NOTIFY-MODEMSTATE bits (RFC 2217 §4): the lines in the high nibble, their deltas in the low.
inline constexpr std::uint8_t kModemCd = 0x80;
inline constexpr std::uint8_t kModemRi = 0x40;
inline constexpr std::uint8_t kModemDsr = 0x20;
inline constexpr std::uint8_t kModemCts = 0x10;
inline constexpr std::uint8_t kModemCdDelta = 0x08;
inline constexpr std::uint8_t kModemRiTrailingEdge = 0x04;
inline constexpr std::uint8_t kModemDsrDelta = 0x02;
inline constexpr std::uint8_t kModemCtsDelta = 0x01;
// NOTIFY-LINESTATE bits we can report (the UART conditions serial::LineErrors counts).
inline constexpr std::uint8_t kLineBreak = 0x10;
inline constexpr std::uint8_t kLineFraming = 0x08;
inline constexpr std::uint8_t kLineParity = 0x04;
inline constexpr std::uint8_t kLineOverrun = 0x02;

/// The line bits (high nibble) for a set of modem lines.
std::uint8_t modem_line_bits(const serial::ModemLines& lines);
/// Line bits plus the deltas of a change from `before` to `now` (RI: trailing edge only).
std::uint8_t modem_state(std::uint8_t before, std::uint8_t now);

/// SET-BAUDRATE accepts any rate the device reference allows, standard or custom.
inline bool baud_in_range(std::uint32_t baud) {
    return baud >= config::kMinBaud && baud <= config::kMaxBaud;
}

/// True for the requests that act on the line in order with the data around them (a baud change
/// after some bytes applies after those bytes reached the driver); the rest run at once.
bool runs_in_order(std::uint8_t command);
/// runs_in_order() for one request: SET-CONTROL's DTR and RTS values (7..12: ask, on, off) run at
/// once like a UART's modem-control register, which is independent of its transmit queue. A
/// client that dropped RTS under hardware flow control must be able to raise it again while its
/// bytes wait for CTS (issue 14 item 3); the other SET-CONTROL values (outbound flow control,
/// break, inbound flow control) change how the data goes out and stay in order.
bool runs_in_order(std::uint8_t command, std::span<const std::uint8_t> value);

// ---------------------------------------------------------------- the server

class ComPortServer {
public:
    ComPortServer(serial::Device& device, std::string signature);

    /// Handles one client request that concerns the line or the masks, appending the answer
    /// (if the RFC has one) to `out`. PURGE-DATA flushes the device; dropping the session's own
    /// queued bytes is the caller's part. FLOWCONTROL-SUSPEND/RESUME are the caller's too.
    void handle(const ComPortRequest& req, std::vector<std::byte>& out);

    /// First NOTIFY-MODEMSTATE once the client speaks COM-PORT, sent whatever the mask says:
    /// pyserial reads CTS/DSR/RI/CD from the last notification and fails until it has one.
    void initial_modem_state(std::vector<std::byte>& out);
    /// Inputs changed: appends a NOTIFY-MODEMSTATE when a change passes the modem-state mask.
    void on_modem_lines(const serial::ModemLines& lines, std::vector<std::byte>& out);
    /// A line error or break: appends a NOTIFY-LINESTATE when its bit passes the line-state mask.
    void on_line_condition(const serial::LineErrors& totals, std::vector<std::byte>& out);

    std::uint8_t modem_mask() const { return modem_mask_; }
    std::uint8_t line_mask() const { return line_mask_; }

private:
    config::SerialSettings current() const;
    /// Applies `s` (the driver may refuse); returns the settings in force afterwards.
    config::SerialSettings apply(const config::SerialSettings& s);
    std::uint8_t set_control(std::uint8_t value);
    std::uint8_t current_modem_bits() const;

    serial::Device& device_;
    std::string signature_;
    config::SerialSettings cached_;  // last settings the device reported (for a closed device)
    // RFC 2217 §4: the line-state mask starts at 0 (no line notifications until asked for), the
    // modem-state mask at 255 (every change), as pyserial and ser2net assume.
    std::uint8_t line_mask_ = 0;
    std::uint8_t modem_mask_ = 255;
    std::uint8_t last_modem_bits_ = 0;  // line bits last reported to the client
    serial::LineErrors last_errors_;    // totals at the last line notification
    // Outputs as we last set them: a pty has no modem lines to read back, so a query of RTS, DTR
    // or BREAK is answered from here when the driver cannot say.
    bool rts_ = true;
    bool dtr_ = true;
    bool break_ = false;
};

}  // namespace sg::modes::rfc2217
