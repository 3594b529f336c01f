// aspp_codec.h: Moxa's Async Server Protocol (ASPP), the command channel of Real COM mode
// (shared/specs/realcom-aspp.md, "spec §N" below). Sans-I/O (STYLE.md §3.8): bytes in, typed
// messages out, and typed messages in, bytes out. No socket, timer or clock; no allocation beyond
// one message. Used by both ends:
//   device side (modes/real_com, and TCP Server's command port): CommandDecoder + encode(Reply)
//   host side   (client/real_com, `serialgate realcom`):         encode(Command) + ReplyDecoder
//
// Framing (spec §2): every message is `opcode length payload`, except two shapes that only the
// device sends: the 3-byte acknowledgement `opcode 'O' 'K'` / refusal `opcode 'N' 'A'` (no length
// byte), and NOTIFY, which is always `0x26 events msr hold` (no length byte either). Both
// decoders parse a stream: a message may be split at any byte and several may come in one read.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "config/settings.h"
#include "serial/device.h"

namespace sg::modes::real_com::aspp {

// ---------------------------------------------------------------- opcodes (spec §3)

namespace op {
inline constexpr std::uint8_t kIoctl = 0x10;        // baud index + mode byte
inline constexpr std::uint8_t kFlowCtrl = 0x11;     // CTS-out, RTS-in, XON-out, XOFF-in
inline constexpr std::uint8_t kLineCtrl = 0x12;     // DTR, RTS
inline constexpr std::uint8_t kLineStatus = 0x13;   // → DSR CTS DCD
inline constexpr std::uint8_t kFlush = 0x14;        // 0 rx, 1 tx, 2 both
inline constexpr std::uint8_t kInputQueue = 0x15;   // → uint16 LE
inline constexpr std::uint8_t kOutputQueue = 0x16;  // → uint16 LE
inline constexpr std::uint8_t kSetBaud = 0x17;      // uint32 LE; OK or NA
inline constexpr std::uint8_t kXonXoff = 0x18;      // XON char, XOFF char
inline constexpr std::uint8_t kPortReset = 0x20;    // "16a"
inline constexpr std::uint8_t kStartBreak = 0x21;
inline constexpr std::uint8_t kStopBreak = 0x22;
inline constexpr std::uint8_t kBreakSend = 0x23;  // uint16 ms, big-endian
inline constexpr std::uint8_t kStartNotify = 0x24;
inline constexpr std::uint8_t kStopNotify = 0x25;
inline constexpr std::uint8_t kNotify = 0x26;  // device → host, no length byte
inline constexpr std::uint8_t kPoll = 0x27;    // device → host, id
inline constexpr std::uint8_t kAlive = 0x28;   // host → device, the polled id
inline constexpr std::uint8_t kLinkName = 0x2B;
inline constexpr std::uint8_t kPortInit = 0x2C;  // 8 bytes → DSR CTS DCD
inline constexpr std::uint8_t kResentTime = 0x2E;
inline constexpr std::uint8_t kWaitOutputQueue = 0x2F;  // uint32 LE timeout → uint16 LE pending
inline constexpr std::uint8_t kTxFifo = 0x30;
inline constexpr std::uint8_t kSetComm = 0x31;
inline constexpr std::uint8_t kDsrSensitivity = 0x32;
inline constexpr std::uint8_t kSetXon = 0x33;
inline constexpr std::uint8_t kSetXoff = 0x34;
inline constexpr std::uint8_t kFlushStart = 0x35;  // mode + uint32 LE timeout → 4 bytes
inline constexpr std::uint8_t kFlushStop = 0x36;
inline constexpr std::uint8_t kBreakCount = 0x37;  // → uint16 big-endian
inline constexpr std::uint8_t kDataStatus = 0x38;  // → 1 byte of line-error flags
}  // namespace op

/// The longest message either side can send: opcode, length, 255 payload bytes. Neither decoder
/// ever holds more than this.
inline constexpr std::size_t kMaxMessage = 2 + 255;

// ---------------------------------------------------------------- encodings (spec §4)

/// Baud index 0xFF: "custom", the real rate follows in SETBAUD.
inline constexpr std::uint8_t kCustomBaudIndex = 0xFF;
/// The device's fallback for an index it does not know (spec §4).
inline constexpr std::uint32_t kFallbackBaud = 38400;

/// The rate of a baud index (0..18); nullopt for 0xFF (custom) and for unknown indexes.
std::optional<std::uint32_t> baud_of_index(std::uint8_t index);
/// What the device applies for IOCTL/PORT_INIT: the table's rate, else kFallbackBaud. Callers
/// check for kCustomBaudIndex first (it means "keep the rate, SETBAUD follows").
std::uint32_t baud_of_index_or_fallback(std::uint8_t index);
/// The index of `baud`, or kCustomBaudIndex when the table has no such rate.
std::uint8_t index_of_baud(std::uint32_t baud);

/// The framing a mode byte carries: data bits (bits 1–0), stop bits (bit 2: 1, or 2 — 1.5 with
/// 5 data bits) and parity (bits 5–3; an unknown value reads as none, as on the device).
struct Framing {
    std::uint8_t data_bits = 8;
    config::Parity parity = config::Parity::None;
    config::StopBits stop_bits = config::StopBits::One;
    bool operator==(const Framing&) const = default;
};
Framing decode_mode(std::uint8_t mode);
/// Inverse of decode_mode; StopBits::Two and OneAndHalf both set bit 2.
std::uint8_t encode_mode(const Framing& framing);

/// FLOWCTRL / PORT_INIT flow bytes.
struct FlowFlags {
    bool cts_out = false;  // hardware: hold TX while CTS is off
    bool rts_in = false;   // hardware: drop RTS when our input is full
    bool xon_out = false;  // software: obey XON/XOFF from the far end (TX)
    bool xoff_in = false;  // software: send XON/XOFF (RX)
    bool operator==(const FlowFlags&) const = default;
};
/// SerialGate has one flow-control setting per port: any hardware flag means rts_cts, else any
/// software flag xon_xoff, else none.
config::FlowControl flow_control_of(const FlowFlags& flags);
FlowFlags flow_flags_of(config::FlowControl flow);

// ---------------------------------------------------------------- NOTIFY (spec §4)

namespace event {  // NOTIFY byte 1
inline constexpr std::uint8_t kParityError = 0x01;
inline constexpr std::uint8_t kFramingError = 0x02;
inline constexpr std::uint8_t kHardwareOverrun = 0x04;
inline constexpr std::uint8_t kSoftwareOverrun = 0x08;
inline constexpr std::uint8_t kBreak = 0x10;
inline constexpr std::uint8_t kModemStatus = 0x20;
inline constexpr std::uint8_t kLineStatusWithData = 0x40;
inline constexpr std::uint8_t kLineStatusWithoutData = 0x80;
inline constexpr std::uint8_t kLineErrors = 0x0F;  // what DATA_STATUS reports
}  // namespace event

namespace msr {  // NOTIFY byte 2: 16550 modem status register
inline constexpr std::uint8_t kDeltaCts = 0x01;
inline constexpr std::uint8_t kDeltaDsr = 0x02;
inline constexpr std::uint8_t kTrailingRi = 0x04;
inline constexpr std::uint8_t kDeltaDcd = 0x08;
inline constexpr std::uint8_t kCts = 0x10;
inline constexpr std::uint8_t kDsr = 0x20;
inline constexpr std::uint8_t kRi = 0x40;
inline constexpr std::uint8_t kDcd = 0x80;
}  // namespace msr

namespace hold {  // NOTIFY byte 3
inline constexpr std::uint8_t kByCts = 0x01;
inline constexpr std::uint8_t kByDsr = 0x02;
inline constexpr std::uint8_t kByDcd = 0x04;
inline constexpr std::uint8_t kByXoffReceived = 0x08;
inline constexpr std::uint8_t kXoffSent = 0x10;
inline constexpr std::uint8_t kNewProtocol = 0x80;  // always set by current firmware
}  // namespace hold

/// The upper nibble of the MSR for the input lines (no delta bits).
std::uint8_t msr_lines(const serial::ModemLines& lines);
/// `current` (upper nibble) with the delta bits against `previous`: ΔCTS, ΔDSR, ΔDCD for any
/// change, trailing-edge RI when RI went from on to off.
std::uint8_t msr_with_delta(std::uint8_t previous, std::uint8_t current);

// ---------------------------------------------------------------- host → device commands

struct Ioctl {
    std::uint8_t baud_index;
    std::uint8_t mode;
};
struct FlowCtrl {
    FlowFlags flow;
};
struct LineCtrl {
    bool dtr;
    bool rts;
};
struct LineStatusQuery {};
struct Flush {
    std::uint8_t which;
};  // 0 rx, 1 tx, 2 both (others as the server decides)
struct InputQueueQuery {};
struct OutputQueueQuery {};
struct SetBaud {
    std::uint32_t baud;
};
struct XonXoff {
    std::uint8_t xon;
    std::uint8_t xoff;
};
struct PortReset {};  // payload "16a"
struct StartBreak {};
struct StopBreak {};
struct BreakSend {
    std::uint16_t duration_ms;
};
struct StartNotify {};
struct StopNotify {};
struct Alive {
    std::uint8_t id;
};
struct LinkName {
    std::string name;
};
struct PortInit {
    std::uint8_t baud_index;
    std::uint8_t mode;
    bool dtr;
    bool rts;
    FlowFlags flow;
};
struct ResentTime {
    std::uint32_t value;
};
struct WaitOutputQueue {
    std::uint32_t timeout_ms;
};  // as sent; the server treats 0 as 1
struct TxFifo {
    std::uint8_t size;
};
struct SetComm {
    std::uint8_t length;
};  // payload not interpreted
struct DsrSensitivity {
    std::uint8_t value;
};
struct SetXon {};
struct SetXoff {};
struct FlushStart {
    std::uint8_t which;
    std::uint32_t timeout_ms;
};
struct FlushStop {};
struct BreakCountQuery {};
struct DataStatusQuery {};
/// An opcode this decoder does not know, or a known one whose payload has the wrong length (or,
/// for PORT_RESET, the wrong text): skipped by its length. The device answers neither.
struct Skipped {
    std::uint8_t opcode;
    std::uint8_t length;
};

using Command =
    std::variant<Ioctl, FlowCtrl, LineCtrl, LineStatusQuery, Flush, InputQueueQuery,
                 OutputQueueQuery, SetBaud, XonXoff, PortReset, StartBreak, StopBreak, BreakSend,
                 StartNotify, StopNotify, Alive, LinkName, PortInit, ResentTime, WaitOutputQueue,
                 TxFifo, SetComm, DsrSensitivity, SetXon, SetXoff, FlushStart, FlushStop,
                 BreakCountQuery, DataStatusQuery, Skipped>;

/// The opcode a command is sent with (Skipped: its own).
std::uint8_t opcode_of(const Command& c);

/// Host side: appends the wire form of `c` (Skipped: its opcode and length, zero payload; a
/// LinkName is cut at 255 bytes).
void encode(const Command& c, std::vector<std::byte>& out);

/// Device side: command-channel bytes → commands, in order.
class CommandDecoder {
public:
    /// Consumes `wire`; every message it completes is appended to `out`. Never fails: bytes it
    /// cannot use are skipped by length.
    void feed(std::span<const std::byte> wire, std::vector<Command>& out);
    /// Bytes of an incomplete message held (≤ kMaxMessage), or still to skip.
    std::size_t pending() const { return have_ + skip_; }

private:
    std::array<std::uint8_t, kMaxMessage> buf_{};
    std::size_t have_ = 0;  // bytes of the current message in buf_
    std::size_t skip_ = 0;  // payload bytes of an unknown opcode still to drop
};

// ---------------------------------------------------------------- device → host messages

/// `opcode 'O' 'K'` (ok) or `opcode 'N' 'A'` (refused).
struct Ack {
    std::uint8_t opcode;
    bool ok;
};
/// Reply to LSTATUS (0x13) and PORT_INIT (0x2C): `opcode 3 DSR CTS DCD`.
struct LineStatus {
    std::uint8_t opcode;
    bool dsr;
    bool cts;
    bool dcd;
};
/// Reply to IQUEUE (0x15), OQUEUE (0x16) and WAIT_OQUEUE (0x2F): `opcode 2 lo hi`.
struct QueueLength {
    std::uint8_t opcode;
    std::uint16_t bytes;
};
/// Reply to FLUSH_START: `0x35 4 tcp_in_lo tcp_in_hi tcp_out_lo tcp_out_hi`.
struct FlushStartReply {
    std::uint16_t tcp_input;
    std::uint16_t tcp_output;
};
/// Reply to BREAK_COUNT: `0x37 2 hi lo` (big-endian).
struct BreakCount {
    std::uint16_t count;
};
/// Reply to DATA_STATUS: `0x38 1 flags` (event::kLineErrors bits).
struct DataStatus {
    std::uint8_t flags;
};
/// `0x26 events msr hold` — exactly 4 bytes, no length.
struct Notify {
    std::uint8_t events;
    std::uint8_t msr;
    std::uint8_t hold;
};
/// `0x27 1 id`: the host must answer Alive{id}.
struct Poll {
    std::uint8_t id;
};
/// An opcode/length pair this decoder does not know (or a known reply of the wrong length):
/// skipped by its length.
struct SkippedReply {
    std::uint8_t opcode;
    std::uint8_t length;
};

using Reply = std::variant<Ack, LineStatus, QueueLength, FlushStartReply, BreakCount, DataStatus,
                           Notify, Poll, SkippedReply>;

/// Device side: appends the wire form of `r`.
void encode(const Reply& r, std::vector<std::byte>& out);

/// Host side: command-channel bytes from the device → replies, notifications and polls.
/// A reply whose length byte is 'O' or 'N' is told from an acknowledgement by the byte after it;
/// no reply of spec §3 is that long.
class ReplyDecoder {
public:
    void feed(std::span<const std::byte> wire, std::vector<Reply>& out);
    std::size_t pending() const { return have_ + skip_; }

private:
    std::array<std::uint8_t, kMaxMessage> buf_{};
    std::size_t have_ = 0;
    std::size_t skip_ = 0;
};

}  // namespace sg::modes::real_com::aspp
