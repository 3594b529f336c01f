// host_protocol.cpp: the host side of a Real COM command channel (host_protocol.h; spec §3–§6).
// Called on a client's strand by client.cpp: open() when a session is connected, change() when
// the pty's termios moved, feed() with every read of the command socket. No I/O: it appends the
// bytes to send to a buffer the caller writes in one go (spec §9: keep each command in one write).
#include "client/real_com/host_protocol.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <variant>

namespace sg::client::real_com {

namespace {

bool is_setting(std::uint8_t opcode) {
    switch (opcode) {
        case aspp::op::kIoctl:
        case aspp::op::kSetBaud:
        case aspp::op::kFlowCtrl:
        case aspp::op::kXonXoff:
        case aspp::op::kPortInit: return true;
        default: return false;
    }
}

const char* on_off(bool b) {
    return b ? "on" : "off";
}

}  // namespace

std::string opcode_name(std::uint8_t opcode) {
    namespace op = aspp::op;
    switch (opcode) {
        case op::kIoctl: return "IOCTL";
        case op::kFlowCtrl: return "FLOWCTRL";
        case op::kLineCtrl: return "LINECTRL";
        case op::kLineStatus: return "LSTATUS";
        case op::kFlush: return "FLUSH";
        case op::kSetBaud: return "SETBAUD";
        case op::kXonXoff: return "XONXOFF";
        case op::kStartNotify: return "START_NOTIFY";
        case op::kStopNotify: return "STOP_NOTIFY";
        case op::kNotify: return "NOTIFY";
        case op::kPoll: return "POLL";
        case op::kAlive: return "ALIVE";
        case op::kPortInit: return "PORT_INIT";
        case op::kWaitOutputQueue: return "WAIT_OQUEUE";
        default: return fmt::format("{:#04x}", opcode);
    }
}

void HostProtocol::send(const aspp::Command& c, Wire& out) {
    aspp::encode(c, out);
    if (const auto* b = std::get_if<aspp::SetBaud>(&c)) last_setbaud_ = b->baud;
    // ALIVE is the one command the device does not answer (spec §3).
    if (!std::holds_alternative<aspp::Alive>(c)) expect(aspp::opcode_of(c));
}

void HostProtocol::expect(std::uint8_t opcode) {
    if (expected_.size() >= kMaxUnanswered) {
        if (is_setting(expected_.front())) --settings_pending_;
        expected_.pop_front();
    }
    expected_.push_back(opcode);
    if (is_setting(opcode)) ++settings_pending_;
}

bool HostProtocol::answered(std::uint8_t opcode) {
    auto it = std::find(expected_.begin(), expected_.end(), opcode);
    if (it == expected_.end()) return false;
    expected_.erase(it);
    if (is_setting(opcode)) --settings_pending_;
    return true;
}

void HostProtocol::forget_unanswered() {
    expected_.clear();
    settings_pending_ = 0;
}

void HostProtocol::open(const LineSettings& line, Wire& out) {
    for (const auto& c : open_commands(line)) send(c, out);
    sent_ = line;
}

void HostProtocol::change(const LineSettings& line, Wire& out) {
    for (const auto& c : change_commands(sent_, line)) send(c, out);
    sent_ = line;
}

void HostProtocol::flush(FlushWhich which, Wire& out) {
    send(aspp::Flush{static_cast<std::uint8_t>(which)}, out);
}

void HostProtocol::hang_up(Wire& out) {
    send(aspp::LineCtrl{false, false}, out);
}

void HostProtocol::wait_output(std::uint32_t timeout_ms, Wire& out) {
    send(aspp::WaitOutputQueue{timeout_ms}, out);
}

bool HostProtocol::output_pending() const {
    return std::find(expected_.begin(), expected_.end(), aspp::op::kWaitOutputQueue) !=
           expected_.end();
}

void HostProtocol::on_notify(const aspp::Notify& n, std::vector<Note>& notes) {
    namespace msr = aspp::msr;
    namespace ev = aspp::event;
    ++line_.notifies;
    line_.known = true;
    line_.cts = (n.msr & msr::kCts) != 0;
    line_.dsr = (n.msr & msr::kDsr) != 0;
    line_.ri = (n.msr & msr::kRi) != 0;
    line_.dcd = (n.msr & msr::kDcd) != 0;
    line_.hold = n.hold;
    if ((n.events & ev::kParityError) != 0) ++line_.parity_errors;
    if ((n.events & ev::kFramingError) != 0) ++line_.framing_errors;
    if ((n.events & (ev::kHardwareOverrun | ev::kSoftwareOverrun)) != 0) ++line_.overruns;
    if ((n.events & ev::kBreak) != 0) ++line_.breaks;
    notes.push_back({Note::Level::Debug,
                     fmt::format("NOTIFY events {:#04x} msr {:#04x} hold {:#04x}: DSR {} CTS {} "
                                 "DCD {} RI {}",
                                 n.events, n.msr, n.hold, on_off(line_.dsr), on_off(line_.cts),
                                 on_off(line_.dcd), on_off(line_.ri))});
}

void HostProtocol::feed(std::span<const std::byte> wire, Wire& out, std::vector<Note>& notes) {
    std::vector<aspp::Reply> replies;
    decoder_.feed(wire, replies);
    // Spec §5: a poll is answered at once with its id, or the device closes the session after the
    // third unanswered one. Any ALIVE resets the device's missed-poll count, so the polls of one
    // read get one ALIVE, with the newest id: a peer flooding POLL gets a few bytes per read back,
    // not one answer each (issue 14 item 4).
    std::optional<std::uint8_t> poll_id;
    std::size_t polls = 0;
    for (const auto& r : replies) {
        if (const auto* poll = std::get_if<aspp::Poll>(&r)) {
            ++polls_;
            ++polls;
            poll_id = poll->id;
        } else if (const auto* notify = std::get_if<aspp::Notify>(&r)) {
            on_notify(*notify, notes);
        } else if (const auto* ack = std::get_if<aspp::Ack>(&r)) {
            const bool known = answered(ack->opcode);
            if (!known) {
                notes.push_back({Note::Level::Debug,
                                 fmt::format("unexpected {} reply", opcode_name(ack->opcode))});
            }
            if (!ack->ok) {
                ++refusals_;
                std::string what = opcode_name(ack->opcode);
                if (ack->opcode == aspp::op::kSetBaud) what += fmt::format(" {}", last_setbaud_);
                notes.push_back({Note::Level::Warn, "the device refused " + what +
                                                        " (NA): the line keeps its "
                                                        "previous setting"});
            }
            if (ack->opcode == aspp::op::kPortInit && known) {
                // A PORT_INIT answered without line status did not enable notifications.
                send(aspp::StartNotify{}, out);
            }
        } else if (const auto* st = std::get_if<aspp::LineStatus>(&r)) {
            if (!answered(st->opcode)) {
                notes.push_back({Note::Level::Debug,
                                 fmt::format("unexpected {} reply", opcode_name(st->opcode))});
            }
            line_.known = true;
            line_.dsr = st->dsr;
            line_.cts = st->cts;
            line_.dcd = st->dcd;
            notes.push_back({Note::Level::Debug,
                             fmt::format("{} reply: DSR {} CTS {} DCD {}", opcode_name(st->opcode),
                                         on_off(st->dsr), on_off(st->cts), on_off(st->dcd))});
        } else if (const auto* q = std::get_if<aspp::QueueLength>(&r)) {
            (void)answered(q->opcode);
        } else if (const auto* s = std::get_if<aspp::SkippedReply>(&r)) {
            notes.push_back(
                {Note::Level::Debug, fmt::format("skipped an unknown message {} of {} bytes",
                                                 opcode_name(s->opcode), s->length)});
        } else {
            // FLUSH_START, BREAK_COUNT, DATA_STATUS replies: this client sends none of those.
            notes.push_back({Note::Level::Debug, "ignored a reply to a command not sent"});
        }
    }
    if (poll_id) {
        send(aspp::Alive{*poll_id}, out);
        notes.push_back(
            {Note::Level::Debug, polls == 1 ? fmt::format("POLL {} → ALIVE", *poll_id)
                                            : fmt::format("{} POLLs → ALIVE {}", polls, *poll_id)});
    }
}

}  // namespace sg::client::real_com
