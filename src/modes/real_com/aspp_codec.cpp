// aspp_codec.cpp: the ASPP codec (aspp_codec.h; shared/specs/realcom-aspp.md). Pure functions and
// two byte-at-a-time stream decoders; called on the port strand by modes/real_com's command
// channel and by the host-side client. No I/O, no clock, nothing grows past one message.
#include "modes/real_com/aspp_codec.h"

#include <algorithm>

namespace sg::modes::real_com::aspp {

namespace {

// Spec §4, baud index table: position = index.
constexpr std::array<std::uint32_t, 19> kBaudTable = {
    300,    600,    1200,   2400,   4800, 7200, 9600, 19200, 38400, 57600,
    115200, 230400, 460800, 921600, 150,  134,  110,  75,    50};

constexpr std::uint8_t kOk0 = 'O';
constexpr std::uint8_t kOk1 = 'K';
constexpr std::uint8_t kNa0 = 'N';
constexpr std::uint8_t kNa1 = 'A';

std::uint16_t le16(const std::uint8_t* p) {
    return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}
std::uint16_t be16(const std::uint8_t* p) {
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
std::uint32_t le32(const std::uint8_t* p) {
    return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
           (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

void put(std::vector<std::byte>& out, std::uint8_t b) {
    out.push_back(static_cast<std::byte>(b));
}
void put_le16(std::vector<std::byte>& out, std::uint16_t v) {
    put(out, static_cast<std::uint8_t>(v & 0xFF));
    put(out, static_cast<std::uint8_t>(v >> 8));
}
void put_be16(std::vector<std::byte>& out, std::uint16_t v) {
    put(out, static_cast<std::uint8_t>(v >> 8));
    put(out, static_cast<std::uint8_t>(v & 0xFF));
}
void put_le32(std::vector<std::byte>& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) put(out, static_cast<std::uint8_t>((v >> (8 * i)) & 0xFF));
}
void header(std::vector<std::byte>& out, std::uint8_t opcode, std::uint8_t length) {
    put(out, opcode);
    put(out, length);
}
std::uint8_t bit(bool b) {
    return b ? 1 : 0;
}

// Host → device opcodes this decoder parses (others are skipped unbuffered).
bool known_command(std::uint8_t opcode) {
    return (opcode >= op::kIoctl && opcode <= op::kXonXoff) ||
           (opcode >= op::kPortReset && opcode <= op::kStopNotify) || opcode == op::kAlive ||
           opcode == op::kLinkName || opcode == op::kPortInit ||
           (opcode >= op::kResentTime && opcode <= op::kDataStatus);
}

// One complete host → device message: buf = opcode, length, payload.
Command decode_command(const std::uint8_t* buf) {
    const std::uint8_t opcode = buf[0];
    const std::uint8_t len = buf[1];
    const std::uint8_t* p = buf + 2;
    const Skipped skipped{opcode, len};
    // Each opcode has one payload length; the device ignores a message of another length
    // (portd's aspp_command checks `datalen == N` before acting or answering).
    auto want = [&](std::size_t n) { return len == n; };
    switch (opcode) {
        case op::kIoctl:
            if (want(2)) return Ioctl{p[0], p[1]};
            break;
        case op::kFlowCtrl:
            if (want(4)) return FlowCtrl{{p[0] != 0, p[1] != 0, p[2] != 0, p[3] != 0}};
            break;
        case op::kLineCtrl:
            if (want(2)) return LineCtrl{p[0] != 0, p[1] != 0};
            break;
        case op::kLineStatus:
            if (want(0)) return LineStatusQuery{};
            break;
        case op::kFlush:
            if (want(1)) return Flush{p[0]};
            break;
        case op::kInputQueue:
            if (want(0)) return InputQueueQuery{};
            break;
        case op::kOutputQueue:
            if (want(0)) return OutputQueueQuery{};
            break;
        case op::kSetBaud:
            if (want(4)) return SetBaud{le32(p)};
            break;
        case op::kXonXoff:
            if (want(2)) return XonXoff{p[0], p[1]};
            break;
        case op::kPortReset:
            if (want(3) && p[0] == '1' && p[1] == '6' && p[2] == 'a') return PortReset{};
            break;
        case op::kStartBreak:
            if (want(0)) return StartBreak{};
            break;
        case op::kStopBreak:
            if (want(0)) return StopBreak{};
            break;
        case op::kBreakSend:
            if (want(2)) return BreakSend{be16(p)};  // the one big-endian field (spec §2)
            break;
        case op::kStartNotify:
            if (want(0)) return StartNotify{};
            break;
        case op::kStopNotify:
            if (want(0)) return StopNotify{};
            break;
        case op::kAlive:
            if (want(1)) return Alive{p[0]};
            break;
        case op::kLinkName: return LinkName{std::string(reinterpret_cast<const char*>(p), len)};
        case op::kPortInit:
            // The device takes 8 bytes and tolerates a longer message (a user name may follow
            // on some drivers); shorter is ignored.
            if (len >= 8) {
                return PortInit{p[0], p[1], p[2] != 0, p[3] != 0,
                                FlowFlags{p[4] != 0, p[5] != 0, p[6] != 0, p[7] != 0}};
            }
            break;
        case op::kResentTime:
            if (want(4)) return ResentTime{le32(p)};
            break;
        case op::kWaitOutputQueue:
            if (want(4)) return WaitOutputQueue{le32(p)};
            break;
        case op::kTxFifo:
            if (want(1)) return TxFifo{p[0]};
            break;
        case op::kSetComm: return SetComm{len};
        case op::kDsrSensitivity:
            if (want(1)) return DsrSensitivity{p[0]};
            break;
        case op::kSetXon:
            if (want(0)) return SetXon{};
            break;
        case op::kSetXoff:
            if (want(0)) return SetXoff{};
            break;
        case op::kFlushStart:
            if (want(5)) return FlushStart{p[0], le32(p + 1)};
            break;
        case op::kFlushStop:
            if (want(0)) return FlushStop{};
            break;
        case op::kBreakCount:
            if (want(0)) return BreakCountQuery{};
            break;
        case op::kDataStatus:
            if (want(0)) return DataStatusQuery{};
            break;
        default: break;
    }
    return skipped;
}

// Device → host opcodes with a length-framed reply this decoder parses.
bool known_reply(std::uint8_t opcode) {
    switch (opcode) {
        case op::kLineStatus:
        case op::kPortInit:
        case op::kInputQueue:
        case op::kOutputQueue:
        case op::kWaitOutputQueue:
        case op::kFlushStart:
        case op::kBreakCount:
        case op::kDataStatus:
        case op::kPoll: return true;
        default: return false;
    }
}

Reply decode_reply(const std::uint8_t* buf) {
    const std::uint8_t opcode = buf[0];
    const std::uint8_t len = buf[1];
    const std::uint8_t* p = buf + 2;
    switch (opcode) {
        case op::kLineStatus:
        case op::kPortInit:
            if (len == 3) return LineStatus{opcode, p[0] != 0, p[1] != 0, p[2] != 0};
            break;
        case op::kInputQueue:
        case op::kOutputQueue:
        case op::kWaitOutputQueue:
            if (len == 2) return QueueLength{opcode, le16(p)};
            break;
        case op::kFlushStart:
            if (len == 4) return FlushStartReply{le16(p), le16(p + 2)};
            break;
        case op::kBreakCount:
            if (len == 2) return BreakCount{be16(p)};
            break;
        case op::kDataStatus:
            if (len == 1) return DataStatus{p[0]};
            break;
        case op::kPoll:
            if (len == 1) return Poll{p[0]};
            break;
        default: break;
    }
    return SkippedReply{opcode, len};
}

template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace

// ---------------------------------------------------------------- encodings

std::optional<std::uint32_t> baud_of_index(std::uint8_t index) {
    if (index >= kBaudTable.size()) return std::nullopt;
    return kBaudTable[index];
}

std::uint32_t baud_of_index_or_fallback(std::uint8_t index) {
    return baud_of_index(index).value_or(kFallbackBaud);
}

std::uint8_t index_of_baud(std::uint32_t baud) {
    for (std::size_t i = 0; i < kBaudTable.size(); ++i) {
        if (kBaudTable[i] == baud) return static_cast<std::uint8_t>(i);
    }
    return kCustomBaudIndex;
}

Framing decode_mode(std::uint8_t mode) {
    Framing f;
    f.data_bits = static_cast<std::uint8_t>(5 + (mode & 0x03));
    if ((mode & 0x04) != 0) {
        f.stop_bits = f.data_bits == 5 ? config::StopBits::OneAndHalf : config::StopBits::Two;
    }
    switch (mode & 0x38) {
        case 0x08: f.parity = config::Parity::Even; break;
        case 0x10: f.parity = config::Parity::Odd; break;
        case 0x18: f.parity = config::Parity::Mark; break;
        case 0x20: f.parity = config::Parity::Space; break;
        default: f.parity = config::Parity::None; break;  // the device's default too
    }
    return f;
}

std::uint8_t encode_mode(const Framing& f) {
    std::uint8_t mode = static_cast<std::uint8_t>(std::clamp<int>(f.data_bits, 5, 8) - 5);
    if (f.stop_bits != config::StopBits::One) mode |= 0x04;
    switch (f.parity) {
        case config::Parity::None: break;
        case config::Parity::Even: mode |= 0x08; break;
        case config::Parity::Odd: mode |= 0x10; break;
        case config::Parity::Mark: mode |= 0x18; break;
        case config::Parity::Space: mode |= 0x20; break;
    }
    return mode;
}

config::FlowControl flow_control_of(const FlowFlags& f) {
    if (f.cts_out || f.rts_in) return config::FlowControl::RtsCts;
    if (f.xon_out || f.xoff_in) return config::FlowControl::XonXoff;
    return config::FlowControl::None;
}

FlowFlags flow_flags_of(config::FlowControl flow) {
    switch (flow) {
        case config::FlowControl::RtsCts: return {true, true, false, false};
        case config::FlowControl::XonXoff: return {false, false, true, true};
        default: return {};  // dtr_dsr has no ASPP flag
    }
}

std::uint8_t msr_lines(const serial::ModemLines& l) {
    return static_cast<std::uint8_t>((l.cts ? msr::kCts : 0) | (l.dsr ? msr::kDsr : 0) |
                                     (l.ri ? msr::kRi : 0) | (l.dcd ? msr::kDcd : 0));
}

std::uint8_t msr_with_delta(std::uint8_t previous, std::uint8_t current) {
    current &= 0xF0;
    const std::uint8_t changed = (previous ^ current) & 0xF0;
    std::uint8_t delta = 0;
    if ((changed & msr::kCts) != 0) delta |= msr::kDeltaCts;
    if ((changed & msr::kDsr) != 0) delta |= msr::kDeltaDsr;
    if ((changed & msr::kDcd) != 0) delta |= msr::kDeltaDcd;
    if ((previous & msr::kRi) != 0 && (current & msr::kRi) == 0) delta |= msr::kTrailingRi;
    return static_cast<std::uint8_t>(current | delta);
}

// ---------------------------------------------------------------- commands

std::uint8_t opcode_of(const Command& c) {
    return std::visit(Overloaded{
                          [](const Ioctl&) { return op::kIoctl; },
                          [](const FlowCtrl&) { return op::kFlowCtrl; },
                          [](const LineCtrl&) { return op::kLineCtrl; },
                          [](const LineStatusQuery&) { return op::kLineStatus; },
                          [](const Flush&) { return op::kFlush; },
                          [](const InputQueueQuery&) { return op::kInputQueue; },
                          [](const OutputQueueQuery&) { return op::kOutputQueue; },
                          [](const SetBaud&) { return op::kSetBaud; },
                          [](const XonXoff&) { return op::kXonXoff; },
                          [](const PortReset&) { return op::kPortReset; },
                          [](const StartBreak&) { return op::kStartBreak; },
                          [](const StopBreak&) { return op::kStopBreak; },
                          [](const BreakSend&) { return op::kBreakSend; },
                          [](const StartNotify&) { return op::kStartNotify; },
                          [](const StopNotify&) { return op::kStopNotify; },
                          [](const Alive&) { return op::kAlive; },
                          [](const LinkName&) { return op::kLinkName; },
                          [](const PortInit&) { return op::kPortInit; },
                          [](const ResentTime&) { return op::kResentTime; },
                          [](const WaitOutputQueue&) { return op::kWaitOutputQueue; },
                          [](const TxFifo&) { return op::kTxFifo; },
                          [](const SetComm&) { return op::kSetComm; },
                          [](const DsrSensitivity&) { return op::kDsrSensitivity; },
                          [](const SetXon&) { return op::kSetXon; },
                          [](const SetXoff&) { return op::kSetXoff; },
                          [](const FlushStart&) { return op::kFlushStart; },
                          [](const FlushStop&) { return op::kFlushStop; },
                          [](const BreakCountQuery&) { return op::kBreakCount; },
                          [](const DataStatusQuery&) { return op::kDataStatus; },
                          [](const Skipped& s) { return s.opcode; },
                      },
                      c);
}

void encode(const Command& c, std::vector<std::byte>& out) {
    const std::uint8_t opcode = opcode_of(c);
    std::visit(Overloaded{
                   [&](const Ioctl& m) {
                       header(out, opcode, 2);
                       put(out, m.baud_index);
                       put(out, m.mode);
                   },
                   [&](const FlowCtrl& m) {
                       header(out, opcode, 4);
                       put(out, bit(m.flow.cts_out));
                       put(out, bit(m.flow.rts_in));
                       put(out, bit(m.flow.xon_out));
                       put(out, bit(m.flow.xoff_in));
                   },
                   [&](const LineCtrl& m) {
                       header(out, opcode, 2);
                       put(out, bit(m.dtr));
                       put(out, bit(m.rts));
                   },
                   [&](const Flush& m) {
                       header(out, opcode, 1);
                       put(out, m.which);
                   },
                   [&](const SetBaud& m) {
                       header(out, opcode, 4);
                       put_le32(out, m.baud);
                   },
                   [&](const XonXoff& m) {
                       header(out, opcode, 2);
                       put(out, m.xon);
                       put(out, m.xoff);
                   },
                   [&](const PortReset&) {
                       header(out, opcode, 3);
                       put(out, '1');
                       put(out, '6');
                       put(out, 'a');
                   },
                   [&](const BreakSend& m) {
                       header(out, opcode, 2);
                       put_be16(out, m.duration_ms);
                   },
                   [&](const Alive& m) {
                       header(out, opcode, 1);
                       put(out, m.id);
                   },
                   [&](const LinkName& m) {
                       const std::size_t n = std::min<std::size_t>(m.name.size(), 255);
                       header(out, opcode, static_cast<std::uint8_t>(n));
                       for (std::size_t i = 0; i < n; ++i) {
                           put(out, static_cast<std::uint8_t>(m.name[i]));
                       }
                   },
                   [&](const PortInit& m) {
                       header(out, opcode, 8);
                       put(out, m.baud_index);
                       put(out, m.mode);
                       put(out, bit(m.dtr));
                       put(out, bit(m.rts));
                       put(out, bit(m.flow.cts_out));
                       put(out, bit(m.flow.rts_in));
                       put(out, bit(m.flow.xon_out));
                       put(out, bit(m.flow.xoff_in));
                   },
                   [&](const ResentTime& m) {
                       header(out, opcode, 4);
                       put_le32(out, m.value);
                   },
                   [&](const WaitOutputQueue& m) {
                       header(out, opcode, 4);
                       put_le32(out, m.timeout_ms);
                   },
                   [&](const TxFifo& m) {
                       header(out, opcode, 1);
                       put(out, m.size);
                   },
                   [&](const SetComm& m) {
                       header(out, opcode, m.length);
                       for (std::size_t i = 0; i < m.length; ++i) put(out, 0);
                   },
                   [&](const DsrSensitivity& m) {
                       header(out, opcode, 1);
                       put(out, m.value);
                   },
                   [&](const FlushStart& m) {
                       header(out, opcode, 5);
                       put(out, m.which);
                       put_le32(out, m.timeout_ms);
                   },
                   [&](const Skipped& m) {
                       header(out, opcode, m.length);
                       for (std::size_t i = 0; i < m.length; ++i) put(out, 0);
                   },
                   [&](const auto&) { header(out, opcode, 0); },  // the payload-less queries
               },
               c);
}

void CommandDecoder::feed(std::span<const std::byte> wire, std::vector<Command>& out) {
    std::size_t i = 0;
    while (i < wire.size()) {
        if (skip_ != 0) {  // payload of an unknown opcode: dropped, never buffered
            const std::size_t n = std::min(skip_, wire.size() - i);
            skip_ -= n;
            i += n;
            continue;
        }
        buf_[have_++] = static_cast<std::uint8_t>(wire[i++]);
        if (have_ < 2) continue;
        const std::size_t total = 2 + std::size_t{buf_[1]};
        if (have_ == 2 && !known_command(buf_[0])) {
            out.emplace_back(Skipped{buf_[0], buf_[1]});  // spec §2: skipped by its length
            skip_ = buf_[1];
            have_ = 0;
            continue;
        }
        if (have_ == total) {
            out.push_back(decode_command(buf_.data()));
            have_ = 0;
        }
    }
}

// ---------------------------------------------------------------- replies

void encode(const Reply& r, std::vector<std::byte>& out) {
    std::visit(Overloaded{
                   [&](const Ack& m) {
                       put(out, m.opcode);
                       put(out, m.ok ? kOk0 : kNa0);
                       put(out, m.ok ? kOk1 : kNa1);
                   },
                   [&](const LineStatus& m) {
                       header(out, m.opcode, 3);
                       put(out, bit(m.dsr));
                       put(out, bit(m.cts));
                       put(out, bit(m.dcd));
                   },
                   [&](const QueueLength& m) {
                       header(out, m.opcode, 2);
                       put_le16(out, m.bytes);
                   },
                   [&](const FlushStartReply& m) {
                       header(out, op::kFlushStart, 4);
                       put_le16(out, m.tcp_input);
                       put_le16(out, m.tcp_output);
                   },
                   [&](const BreakCount& m) {
                       header(out, op::kBreakCount, 2);
                       put_be16(out, m.count);
                   },
                   [&](const DataStatus& m) {
                       header(out, op::kDataStatus, 1);
                       put(out, m.flags);
                   },
                   [&](const Notify& m) {
                       put(out, op::kNotify);  // spec §4: never a length byte
                       put(out, m.events);
                       put(out, m.msr);
                       put(out, m.hold);
                   },
                   [&](const Poll& m) {
                       header(out, op::kPoll, 1);
                       put(out, m.id);
                   },
                   [&](const SkippedReply& m) {
                       header(out, m.opcode, m.length);
                       for (std::size_t i = 0; i < m.length; ++i) put(out, 0);
                   },
               },
               r);
}

void ReplyDecoder::feed(std::span<const std::byte> wire, std::vector<Reply>& out) {
    std::size_t i = 0;
    while (i < wire.size()) {
        if (skip_ != 0) {
            const std::size_t n = std::min(skip_, wire.size() - i);
            skip_ -= n;
            i += n;
            continue;
        }
        buf_[have_++] = static_cast<std::uint8_t>(wire[i++]);
        const std::uint8_t opcode = buf_[0];
        if (opcode == op::kNotify) {  // fixed 4 bytes
            if (have_ == 4) {
                out.emplace_back(Notify{buf_[1], buf_[2], buf_[3]});
                have_ = 0;
            }
            continue;
        }
        if (have_ < 2) continue;
        const std::uint8_t second = buf_[1];
        const bool maybe_ack = second == kOk0 || second == kNa0;
        if (maybe_ack && have_ == 2) continue;  // the third byte decides
        if (maybe_ack && have_ == 3) {
            if ((second == kOk0 && buf_[2] == kOk1) || (second == kNa0 && buf_[2] == kNa1)) {
                out.emplace_back(Ack{opcode, second == kOk0});
                have_ = 0;
                continue;
            }
            // A length byte of 0x4E/0x4F after all: the third byte was payload.
        }
        const std::size_t total = 2 + std::size_t{second};
        if (!known_reply(opcode)) {
            // Unknown: drop the payload without buffering it (minus what is already held).
            out.emplace_back(SkippedReply{opcode, second});
            skip_ = total - have_;
            have_ = 0;
            continue;
        }
        if (have_ == total) {
            out.push_back(decode_reply(buf_.data()));
            have_ = 0;
        }
    }
}

}  // namespace sg::modes::real_com::aspp
