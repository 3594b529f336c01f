// connection_control.cpp: the connect/disconnect rules of TCP Client mode (device ref. §3,
// connection_control). Pure logic, called on the port strand by tcp_client_mode.cpp.
//
//   startup/none                     armed at start
//   any_character/none, .../inactivity_time   armed by the first serial byte
//   dsr_on/dsr_off, dcd_on/dcd_off   armed while the line is on
//   dsr_on/none, dcd_on/none         armed when the line first goes on, then stays armed
//
// Inactivity (inactivity_time_ms, any connection control): an idle connection is closed
// (device ref. §3: "closes an idle TCP connection") and the port waits for the next serial byte
// before connecting again, rather than reconnecting at once to sit idle again.
#include "modes/tcp_client/connection_control.h"

namespace sg::modes::tcp_client {

using Cc = config::ConnectionControl;

bool ConnectionControl::needs_lines() const {
    switch (mode_) {
        case Cc::DsrOnDsrOff:
        case Cc::DsrOnNone:
        case Cc::DcdOnDcdOff:
        case Cc::DcdOnNone: return true;
        case Cc::StartupNone:
        case Cc::AnyCharacterNone:
        case Cc::AnyCharacterInactivity: return false;
    }
    return false;
}

bool ConnectionControl::watched_line(const serial::ModemLines& lines) const {
    switch (mode_) {
        case Cc::DsrOnDsrOff:
        case Cc::DsrOnNone: return lines.dsr;
        case Cc::DcdOnDcdOff:
        case Cc::DcdOnNone: return lines.dcd;
        default: return false;
    }
}

bool ConnectionControl::closes_on_line_off() const {
    return mode_ == Cc::DsrOnDsrOff || mode_ == Cc::DcdOnDcdOff;
}

bool ConnectionControl::start(std::optional<serial::ModemLines> lines) {
    armed_ = mode_ == Cc::StartupNone || (needs_lines() && lines && watched_line(*lines));
    dormant_ = false;
    return wants_connection();
}

bool ConnectionControl::on_serial_data() {
    const bool before = wants_connection();
    if (mode_ == Cc::AnyCharacterNone || mode_ == Cc::AnyCharacterInactivity) armed_ = true;
    dormant_ = false;
    return !before && wants_connection();
}

bool ConnectionControl::on_lines(const serial::ModemLines& lines) {
    if (!needs_lines()) return false;
    const bool before = wants_connection();
    const bool on = watched_line(lines);
    if (on && !armed_) {
        armed_ = true;
        dormant_ = false;  // the line going on is a fresh start
    } else if (!on && armed_ && closes_on_line_off()) {
        armed_ = false;
    }
    return before != wants_connection();
}

bool ConnectionControl::on_inactivity() {
    const bool before = wants_connection();
    dormant_ = true;
    return before != wants_connection();
}

const char* ConnectionControl::waiting_for() const {
    if (dormant_) return "closed for inactivity, waiting for serial data";
    switch (mode_) {
        case Cc::StartupNone: return "starting";
        case Cc::AnyCharacterNone:
        case Cc::AnyCharacterInactivity: return "waiting for serial data";
        case Cc::DsrOnDsrOff:
        case Cc::DsrOnNone: return "waiting for DSR";
        case Cc::DcdOnDcdOff:
        case Cc::DcdOnNone: return "waiting for DCD";
    }
    return "waiting";
}

}  // namespace sg::modes::tcp_client
