// com_port.cpp: RFC 2217 COM-PORT-OPTION requests applied to a serial::Device, and the answers and
// notifications the server sends. Called by the RFC 2217 session on the port strand (requests in
// wire order, notifications from Mode::on_serial_notification) and by the unit tests with a
// simulated device. Every answer carries the value in force after the request, as RFC 2217 asks:
// a refused or out-of-range value is answered with the current one, and value 0 is a query.
#include "modes/rfc2217/com_port.h"

#include <array>

namespace sg::modes::rfc2217 {

using config::FlowControl;
using config::Parity;
using config::StopBits;

namespace {

// SET-CONTROL values (RFC 2217 §3).
enum Control : std::uint8_t {
    kFlowQuery = 0,
    kFlowNone = 1,
    kFlowXonXoff = 2,
    kFlowHardware = 3,
    kBreakQuery = 4,
    kBreakOn = 5,
    kBreakOff = 6,
    kDtrQuery = 7,
    kDtrOn = 8,
    kDtrOff = 9,
    kRtsQuery = 10,
    kRtsOn = 11,
    kRtsOff = 12,
    kInFlowQuery = 13,
    kInFlowNone = 14,
    kInFlowXonXoff = 15,
    kInFlowHardware = 16,
    kFlowDcd = 17,    // outbound flow control on DCD: no UART setting of ours does that
    kInFlowDtr = 18,  // inbound flow control on DTR
    kFlowDsr = 19,    // outbound flow control on DSR
};

// Our flow_control setting is one value for both directions (device ref. §2): each direction's
// RFC 2217 code maps onto it and is reported from it.
std::uint8_t outbound_code(FlowControl f) {
    switch (f) {
        case FlowControl::None: return kFlowNone;
        case FlowControl::XonXoff: return kFlowXonXoff;
        case FlowControl::RtsCts: return kFlowHardware;
        case FlowControl::DtrDsr: return kFlowDsr;
    }
    return kFlowNone;
}

std::uint8_t inbound_code(FlowControl f) {
    switch (f) {
        case FlowControl::None: return kInFlowNone;
        case FlowControl::XonXoff: return kInFlowXonXoff;
        case FlowControl::RtsCts: return kInFlowHardware;
        case FlowControl::DtrDsr: return kInFlowDtr;
    }
    return kInFlowNone;
}

std::optional<FlowControl> flow_from_code(std::uint8_t v) {
    switch (v) {
        case kFlowNone:
        case kInFlowNone: return FlowControl::None;
        case kFlowXonXoff:
        case kInFlowXonXoff: return FlowControl::XonXoff;
        case kFlowHardware:
        case kInFlowHardware: return FlowControl::RtsCts;
        case kFlowDsr:
        case kInFlowDtr: return FlowControl::DtrDsr;
        default: return std::nullopt;
    }
}

bool is_inbound(std::uint8_t v) {
    return v == kInFlowQuery || v == kInFlowNone || v == kInFlowXonXoff || v == kInFlowHardware ||
           v == kInFlowDtr;
}

void reply(std::uint8_t command, std::span<const std::uint8_t> value, std::vector<std::byte>& out) {
    append_com_port(static_cast<std::uint8_t>(command + kServerOffset), value, out);
}

void reply1(std::uint8_t command, std::uint8_t value, std::vector<std::byte>& out) {
    const std::array<std::uint8_t, 1> v{value};
    reply(command, v, out);
}

constexpr auto cmd(ComCommand c) {
    return static_cast<std::uint8_t>(c);
}

}  // namespace

// ---------------------------------------------------------------- value codes

std::optional<Parity> parity_from_code(std::uint8_t code) {
    switch (code) {
        case 1: return Parity::None;
        case 2: return Parity::Odd;
        case 3: return Parity::Even;
        case 4: return Parity::Mark;
        case 5: return Parity::Space;
        default: return std::nullopt;
    }
}

std::uint8_t parity_code(Parity p) {
    switch (p) {
        case Parity::None: return 1;
        case Parity::Odd: return 2;
        case Parity::Even: return 3;
        case Parity::Mark: return 4;
        case Parity::Space: return 5;
    }
    return 1;
}

std::optional<StopBits> stop_bits_from_code(std::uint8_t code) {
    switch (code) {
        case 1: return StopBits::One;
        case 2: return StopBits::Two;
        case 3: return StopBits::OneAndHalf;
        default: return std::nullopt;
    }
}

std::uint8_t stop_bits_code(StopBits s) {
    switch (s) {
        case StopBits::One: return 1;
        case StopBits::Two: return 2;
        case StopBits::OneAndHalf: return 3;
    }
    return 1;
}

std::uint8_t modem_line_bits(const serial::ModemLines& l) {
    std::uint8_t bits = 0;
    if (l.dcd) bits |= kModemCd;
    if (l.ri) bits |= kModemRi;
    if (l.dsr) bits |= kModemDsr;
    if (l.cts) bits |= kModemCts;
    return bits;
}

std::uint8_t modem_state(std::uint8_t before, std::uint8_t now) {
    const auto changed = static_cast<std::uint8_t>(before ^ now);
    std::uint8_t state = now;
    if ((changed & kModemCd) != 0) state |= kModemCdDelta;
    if ((changed & kModemDsr) != 0) state |= kModemDsrDelta;
    if ((changed & kModemCts) != 0) state |= kModemCtsDelta;
    // RFC 2217: "trailing-edge ring detector": only the end of a ring is a delta.
    if ((before & kModemRi) != 0 && (now & kModemRi) == 0) state |= kModemRiTrailingEdge;
    return state;
}

bool runs_in_order(std::uint8_t command) {
    switch (static_cast<ComCommand>(command)) {
        case ComCommand::SetBaudrate:
        case ComCommand::SetDatasize:
        case ComCommand::SetParity:
        case ComCommand::SetStopsize:
        case ComCommand::SetControl: return true;
        default: return false;
    }
}

bool runs_in_order(std::uint8_t command, std::span<const std::uint8_t> value) {
    if (static_cast<ComCommand>(command) == ComCommand::SetControl && value.size() == 1 &&
        value[0] >= kDtrQuery && value[0] <= kRtsOff) {
        return false;
    }
    return runs_in_order(command);
}

// ---------------------------------------------------------------- server

ComPortServer::ComPortServer(serial::Device& device, std::string signature)
    : device_(device), signature_(std::move(signature)) {
    if (auto s = device_.settings(); s) cached_ = *s;
    if (auto l = device_.modem_lines(); l) {
        rts_ = l->rts;
        dtr_ = l->dtr;
        last_modem_bits_ = modem_line_bits(*l);
    } else if (auto v = device_.virtual_lines()) {  // a pty: what was last asked (issue 12)
        rts_ = v->rts;
        dtr_ = v->dtr;
    }
    last_errors_ = device_.line_errors();
}

config::SerialSettings ComPortServer::current() const {
    if (auto s = device_.settings(); s) return *s;
    return cached_;
}

config::SerialSettings ComPortServer::apply(const config::SerialSettings& s) {
    // A refusal (a driver without the rate, a closed line) leaves the old settings in force; the
    // answer below says which, so the client learns it from the protocol.
    (void)device_.configure(s);
    cached_ = current();
    return cached_;
}

std::uint8_t ComPortServer::current_modem_bits() const {
    if (auto l = device_.modem_lines(); l) return modem_line_bits(*l);
    return last_modem_bits_;
}

std::uint8_t ComPortServer::set_control(std::uint8_t v) {
    switch (v) {
        case kFlowQuery: return outbound_code(current().flow_control);
        case kInFlowQuery: return inbound_code(current().flow_control);
        case kBreakOn:
        case kBreakOff:
            if (!device_.set_break(v == kBreakOn)) break_ = v == kBreakOn;
            [[fallthrough]];
        case kBreakQuery: return break_ ? kBreakOn : kBreakOff;
        case kDtrOn:
        case kDtrOff:
            if (!device_.set_dtr(v == kDtrOn)) dtr_ = v == kDtrOn;
            [[fallthrough]];
        case kDtrQuery: {
            if (auto l = device_.modem_lines(); l) dtr_ = l->dtr;
            return dtr_ ? kDtrOn : kDtrOff;
        }
        case kRtsOn:
        case kRtsOff:
            if (!device_.set_rts(v == kRtsOn)) rts_ = v == kRtsOn;
            [[fallthrough]];
        case kRtsQuery: {
            if (auto l = device_.modem_lines(); l) rts_ = l->rts;
            return rts_ ? kRtsOn : kRtsOff;
        }
        default: break;
    }
    // A flow-control setting (either direction) or one we cannot do (DCD): answer what is in force
    // for the direction asked about.
    config::SerialSettings s = current();
    if (auto f = flow_from_code(v)) {
        s.flow_control = *f;
        s = apply(s);
    }
    return is_inbound(v) ? inbound_code(s.flow_control) : outbound_code(s.flow_control);
}

void ComPortServer::handle(const ComPortRequest& req, std::vector<std::byte>& out) {
    const auto& v = req.value;
    switch (req.command) {
        case cmd(ComCommand::Signature): {
            // Empty: the client asks for ours. With text: the client tells us its own; no answer.
            if (!v.empty()) return;
            const auto* p = reinterpret_cast<const std::uint8_t*>(signature_.data());
            reply(req.command, std::span(p, signature_.size()), out);
            return;
        }
        case cmd(ComCommand::SetBaudrate): {
            if (v.size() != 4) return;  // the 1-byte Cisco IOS form is not supported
            const std::uint32_t want = (std::uint32_t{v[0]} << 24) | (std::uint32_t{v[1]} << 16) |
                                       (std::uint32_t{v[2]} << 8) | std::uint32_t{v[3]};
            config::SerialSettings s = current();
            if (want != 0 && baud_in_range(want)) {
                s.baud = want;
                s = apply(s);
            }
            const std::array<std::uint8_t, 4> b{
                static_cast<std::uint8_t>(s.baud >> 24), static_cast<std::uint8_t>(s.baud >> 16),
                static_cast<std::uint8_t>(s.baud >> 8), static_cast<std::uint8_t>(s.baud)};
            reply(req.command, b, out);
            return;
        }
        case cmd(ComCommand::SetDatasize): {
            if (v.size() != 1) return;
            config::SerialSettings s = current();
            if (v[0] >= 5 && v[0] <= 8) {
                s.data_bits = v[0];
                s = apply(s);
            }
            reply1(req.command, s.data_bits, out);
            return;
        }
        case cmd(ComCommand::SetParity): {
            if (v.size() != 1) return;
            config::SerialSettings s = current();
            if (auto p = parity_from_code(v[0])) {
                s.parity = *p;
                s = apply(s);
            }
            reply1(req.command, parity_code(s.parity), out);
            return;
        }
        case cmd(ComCommand::SetStopsize): {
            if (v.size() != 1) return;
            config::SerialSettings s = current();
            if (auto b = stop_bits_from_code(v[0])) {
                s.stop_bits = *b;
                s = apply(s);
            }
            reply1(req.command, stop_bits_code(s.stop_bits), out);
            return;
        }
        case cmd(ComCommand::SetControl): {
            if (v.size() != 1 || v[0] > kFlowDsr) return;
            reply1(req.command, set_control(v[0]), out);
            return;
        }
        case cmd(ComCommand::NotifyLinestate):
            // A poll: we keep no standing line condition (errors are events), so nothing is set.
            reply1(req.command, 0, out);
            return;
        case cmd(ComCommand::NotifyModemstate):
            // A poll (pyserial's poll_modem): the lines as they are now, under the mask.
            last_modem_bits_ = current_modem_bits();
            reply1(req.command, last_modem_bits_ & modem_mask_, out);
            return;
        case cmd(ComCommand::SetLinestateMask):
            if (v.size() != 1) return;
            line_mask_ = v[0];
            reply1(req.command, line_mask_, out);
            return;
        case cmd(ComCommand::SetModemstateMask):
            if (v.size() != 1) return;
            modem_mask_ = v[0];
            reply1(req.command, modem_mask_, out);
            return;
        case cmd(ComCommand::PurgeData): {
            if (v.size() != 1) return;
            serial::FlushDirection which{};
            switch (v[0]) {
                case 1: which = serial::FlushDirection::Receive; break;
                case 2: which = serial::FlushDirection::Transmit; break;
                case 3: which = serial::FlushDirection::Both; break;
                default: return;
            }
            (void)device_.flush(which);
            reply1(req.command, v[0], out);
            return;
        }
        default:
            // FLOWCONTROL-SUSPEND/RESUME belong to the session; codes >= 100 are a server's, and
            // a client has no business sending them; unknown codes are ignored (RFC 2217 §1).
            return;
    }
}

void ComPortServer::initial_modem_state(std::vector<std::byte>& out) {
    last_modem_bits_ = current_modem_bits();
    reply1(cmd(ComCommand::NotifyModemstate), last_modem_bits_ & modem_mask_, out);
}

void ComPortServer::on_modem_lines(const serial::ModemLines& lines, std::vector<std::byte>& out) {
    const std::uint8_t now = modem_line_bits(lines);
    if (now == last_modem_bits_) return;  // only RTS/DTR (outputs) changed
    const std::uint8_t state = modem_state(last_modem_bits_, now);
    const auto changed = static_cast<std::uint8_t>(last_modem_bits_ ^ now);
    last_modem_bits_ = now;
    // A mask bit selects a line or its delta: either one changing is worth a notification.
    if (((state & 0x0F) | changed) & modem_mask_) {
        reply1(cmd(ComCommand::NotifyModemstate), state & modem_mask_, out);
    }
}

void ComPortServer::on_line_condition(const serial::LineErrors& totals,
                                      std::vector<std::byte>& out) {
    std::uint8_t bits = 0;
    if (totals.breaks > last_errors_.breaks) bits |= kLineBreak;
    if (totals.framing > last_errors_.framing) bits |= kLineFraming;
    if (totals.parity > last_errors_.parity) bits |= kLineParity;
    if (totals.overrun > last_errors_.overrun) bits |= kLineOverrun;
    last_errors_ = totals;
    if ((bits & line_mask_) != 0) {
        reply1(cmd(ComCommand::NotifyLinestate), bits & line_mask_, out);
    }
}

}  // namespace sg::modes::rfc2217
