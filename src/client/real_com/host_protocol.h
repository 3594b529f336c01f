// host_protocol.h: the host (driver) side of one Real COM session's command channel, sans-I/O
// (STYLE.md §3.8; shared/specs/realcom-aspp.md §5, §6). Builds the commands a session sends —
// PORT_INIT at open, IOCTL/SETBAUD/FLOWCTRL/XONXOFF on termios changes, FLUSH, LINECTRL — with
// the ASPP codec of modes/real_com, and consumes what the device sends back: acknowledgements,
// the PORT_INIT line status, NOTIFY (tracked as line state) and POLL (answered with ALIVE at
// once). Bytes in, bytes out; no socket, no timer. One per session, on the client's strand.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <vector>

#include "client/real_com/termios_map.h"

namespace sg::client::real_com {

using Wire = std::vector<std::byte>;

/// What the device reported of its serial line (spec §4 NOTIFY, §3 PORT_INIT/LSTATUS replies).
/// A pty has no modem lines to show these on: they are logged and shown on the status line.
struct LineState {
    bool known = false;  // a PORT_INIT/LSTATUS reply or a NOTIFY has been seen
    bool dsr = false;
    bool cts = false;
    bool dcd = false;
    bool ri = false;
    std::uint8_t hold = 0;  // NOTIFY hold flags (aspp::hold)
    // NOTIFY messages that carried each event flag (spec §4: one flag may stand for several).
    std::uint64_t parity_errors = 0;
    std::uint64_t framing_errors = 0;
    std::uint64_t overruns = 0;  // hardware or software
    std::uint64_t breaks = 0;
    std::uint64_t notifies = 0;
};

/// Something worth a log line; the caller picks the logger.
struct Note {
    enum class Level { Debug, Info, Warn };
    Level level;
    std::string text;
};

/// Which buffers a FLUSH empties (spec §3, 0x14).
enum class FlushWhich : std::uint8_t { Receive = 0, Transmit = 1, Both = 2 };

class HostProtocol {
public:
    /// Unanswered commands remembered; beyond it the oldest is forgotten (a device that stopped
    /// answering is found by the caller's deadline on settings_pending(), not by growth).
    static constexpr std::size_t kMaxUnanswered = 64;

    /// Spec §6 "Open": PORT_INIT (+SETBAUD, +XONXOFF) for `line`. START_NOTIFY follows only if
    /// the device answers PORT_INIT without its line status (spec §3: PORT_INIT enables
    /// notifications; a device that does not know it acknowledges or refuses it instead).
    void open(const LineSettings& line, Wire& out);
    /// The application's termios changed: commands for what differs from what was last sent.
    void change(const LineSettings& line, Wire& out);
    void flush(FlushWhich which, Wire& out);
    /// LINECTRL 0 0: drop DTR and RTS (HUPCL at the application's last close).
    void hang_up(Wire& out);
    /// Spec §6 "Close": WAIT_OQUEUE, answered once the device's serial output and the unread
    /// data of this session are gone (or after `timeout_ms`). Sent before closing, because the
    /// device flushes its serial buffers when the data connection goes (spec §1).
    void wait_output(std::uint32_t timeout_ms, Wire& out);
    /// A WAIT_OQUEUE is not answered yet.
    bool output_pending() const;

    /// Bytes from the command channel, split anywhere. Answers POLL with ALIVE (appended to
    /// `out`), matches replies to commands, tracks NOTIFY; anything worth logging goes to `notes`.
    void feed(std::span<const std::byte> wire, Wire& out, std::vector<Note>& notes);

    /// A line-setting command (PORT_INIT, IOCTL, SETBAUD, FLOWCTRL, XONXOFF) is not answered
    /// yet: data the application wrote after the change should wait for it.
    bool settings_pending() const { return settings_pending_ != 0; }
    /// Stop waiting for the replies outstanding now (their deadline passed); late ones are
    /// logged as unexpected.
    void forget_unanswered();

    const LineState& line_state() const { return line_; }
    const LineSettings& sent() const { return sent_; }
    std::uint64_t refusals() const { return refusals_; }
    std::uint64_t polls() const { return polls_; }

private:
    void send(const aspp::Command& c, Wire& out);
    void expect(std::uint8_t opcode);
    /// Removes the oldest outstanding `opcode`; false when none was outstanding.
    bool answered(std::uint8_t opcode);
    void on_notify(const aspp::Notify& n, std::vector<Note>& notes);

    aspp::ReplyDecoder decoder_;
    std::deque<std::uint8_t> expected_;  // opcodes sent and not answered yet, oldest first
    std::size_t settings_pending_ = 0;   // of them, line-setting commands
    LineSettings sent_;
    std::uint32_t last_setbaud_ = 0;  // for the log line when the device refuses it
    LineState line_;
    std::uint64_t refusals_ = 0;
    std::uint64_t polls_ = 0;
};

/// "IOCTL", "SETBAUD", ... or "0x3a".
std::string opcode_name(std::uint8_t opcode);

}  // namespace sg::client::real_com
