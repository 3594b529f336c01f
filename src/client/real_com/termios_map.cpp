// termios_map.cpp: pty termios → ASPP line-setting commands (termios_map.h; spec §4, §6). Called
// on a client's strand by host_protocol.cpp whenever a session opens or the application changed
// its termios. Pure: no I/O, no clock.
#include "client/real_com/termios_map.h"

#include <fmt/format.h>

namespace sg::client::real_com {

namespace {

// IOCTL/PORT_INIT carry a baud index; a rate the table lacks goes as 0xFF followed by SETBAUD
// with the real rate (spec §4), in the same write (spec §6 "Open", step 2).
void push_rate(std::uint32_t baud, std::uint8_t mode, std::vector<aspp::Command>& out) {
    const std::uint8_t index = aspp::index_of_baud(baud);
    out.emplace_back(aspp::Ioctl{index, mode});
    if (index == aspp::kCustomBaudIndex) out.emplace_back(aspp::SetBaud{baud});
}

char parity_letter(config::Parity p) {
    switch (p) {
        case config::Parity::Odd: return 'O';
        case config::Parity::Even: return 'E';
        case config::Parity::Mark: return 'M';
        case config::Parity::Space: return 'S';
        case config::Parity::None: break;
    }
    return 'N';
}

}  // namespace

LineSettings settings_of(const PtyLine& pty, const FixedFraming& fixed) {
    LineSettings s;
    s.baud = pty.baud;
    s.framing.data_bits = fixed.data_bits;
    s.framing.parity = fixed.parity;
    if (pty.two_stop_bits) {
        // One "more stop bits" flag, as on the 16550 and in the mode byte: 1.5 with 5 data bits.
        s.framing.stop_bits =
            fixed.data_bits == 5 ? config::StopBits::OneAndHalf : config::StopBits::Two;
    }
    // CRTSCTS covers both directions (hold TX on CTS, drop RTS when full); IXON and IXOFF are
    // the two software directions, kept apart because FLOWCTRL has a flag for each.
    s.flow = aspp::FlowFlags{pty.rts_cts, pty.rts_cts, pty.ixon, pty.ixoff};
    s.xon = pty.xon;
    s.xoff = pty.xoff;
    return s;
}

std::vector<aspp::Command> open_commands(const LineSettings& line) {
    std::vector<aspp::Command> out;
    const bool up = line.baud != 0;
    const std::uint32_t baud = up ? line.baud : kHangUpOpenBaud;
    const std::uint8_t index = aspp::index_of_baud(baud);
    out.emplace_back(aspp::PortInit{index, aspp::encode_mode(line.framing), up, up, line.flow});
    if (index == aspp::kCustomBaudIndex) out.emplace_back(aspp::SetBaud{baud});
    if (line.xon != kDefaultXon || line.xoff != kDefaultXoff) {
        out.emplace_back(aspp::XonXoff{line.xon, line.xoff});
    }
    return out;
}

std::vector<aspp::Command> change_commands(const LineSettings& before, const LineSettings& after) {
    std::vector<aspp::Command> out;
    const bool was_up = before.baud != 0;
    const bool is_up = after.baud != 0;
    if (was_up && !is_up) out.emplace_back(aspp::LineCtrl{false, false});
    if (is_up) {
        // Leaving B0 re-sends the rate even when it equals the one before the hang-up: the
        // device kept its own idea of the rate meanwhile, which is the same, but an explicit
        // IOCTL costs nothing and cannot be wrong.
        if (!was_up || before.baud != after.baud || before.framing != after.framing) {
            push_rate(after.baud, aspp::encode_mode(after.framing), out);
        }
    }
    // While hung up a framing change waits: the IOCTL sent when the line comes back carries it.
    if (before.flow != after.flow) out.emplace_back(aspp::FlowCtrl{after.flow});
    if (before.xon != after.xon || before.xoff != after.xoff) {
        out.emplace_back(aspp::XonXoff{after.xon, after.xoff});
    }
    if (!was_up && is_up) out.emplace_back(aspp::LineCtrl{true, true});
    return out;
}

std::string describe(const LineSettings& line) {
    const char* stop = "1";
    if (line.framing.stop_bits == config::StopBits::Two) stop = "2";
    if (line.framing.stop_bits == config::StopBits::OneAndHalf) stop = "1.5";
    std::string flow = "none";
    if (line.flow.cts_out || line.flow.rts_in) flow = "rts_cts";
    if (line.flow.xon_out || line.flow.xoff_in) {
        flow = (flow == "none" ? "" : flow + "+") + "xon_xoff";
        if (line.flow.xon_out != line.flow.xoff_in) flow += line.flow.xon_out ? "(tx)" : "(rx)";
    }
    const std::string rate =
        line.baud == 0 ? std::string("B0 (hung up)") : std::to_string(line.baud);
    return fmt::format("{} {}{}{}, flow {}", rate, line.framing.data_bits,
                       parity_letter(line.framing.parity), stop, flow);
}

}  // namespace sg::client::real_com
