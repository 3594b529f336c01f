// connection_control.h: when a TCP Client port connects and disconnects (device ref. §3,
// "connection_control": the first word says when the device opens its connections, the second
// when it closes them). A sans-I/O state machine: events in, "should the connections be up?" out.
// The mode feeds it and acts on the answer; the unit test drives it without sockets or clocks.
#pragma once

#include <optional>

#include "config/settings.h"
#include "serial/device.h"

namespace sg::modes::tcp_client {

class ConnectionControl {
public:
    explicit ConnectionControl(config::ConnectionControl mode) : mode_(mode) {}

    /// The mode started; `lines` are the device's modem lines, or nullopt when it has none (a
    /// pty). Returns wants_connection().
    bool start(std::optional<serial::ModemLines> lines);
    /// Serial bytes arrived. Returns true when this turned wants_connection() on.
    bool on_serial_data();
    /// The inputs changed. Returns true when wants_connection() changed.
    bool on_lines(const serial::ModemLines& lines);
    /// No data went either way for inactivity_time_ms while connected: the connections close
    /// and stay closed until the next serial byte (and, for dsr_on/dcd_on, while the line is
    /// still on). Returns true when wants_connection() changed.
    bool on_inactivity();

    bool wants_connection() const { return armed_ && !dormant_; }
    /// dsr_on/* and dcd_on/*: the mode needs modem lines to ever connect.
    bool needs_lines() const;
    config::ConnectionControl mode() const { return mode_; }
    /// For status: "waiting for DSR", "waiting for serial data", ...
    const char* waiting_for() const;

private:
    bool watched_line(const serial::ModemLines& lines) const;
    bool closes_on_line_off() const;

    config::ConnectionControl mode_;
    bool armed_ = false;    // the "connect" condition has been met (and not undone by "off")
    bool dormant_ = false;  // closed for inactivity; the next serial byte wakes it
};

}  // namespace sg::modes::tcp_client
