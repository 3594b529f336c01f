// port.h: one serial port = a serial Device + one Mode + stats, all on the port's own strand
// (STYLE.md §3.3). The Port opens the device (retrying with backoff while it is missing or after it
// fails, e.g. a USB adapter unplugged), starts the mode, and pumps serial bytes into it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "config/settings.h"
#include "core/asio.h"
#include "core/signal.h"
#include "events/log.h"
#include "modes/mode.h"
#include "serial/device.h"

namespace sg::port {

struct PortStatus {
    std::uint32_t number = 0;
    std::string device;
    std::string mode;   // mode.type
    std::string state;  // "running", "device missing: ...", "disabled", ...
    std::optional<modes::ModeStatus> mode_status;
    std::optional<config::SerialSettings> serial;  // as the driver reports them; unset when closed
    std::optional<serial::ModemLines> modem;       // unset when closed
    bool modem_virtual = false;  // the device has no modem lines: `modem` holds RTS/DTR as asked
    serial::LineErrors line_errors;
    std::uint64_t serial_rx_bytes = 0;
    std::uint64_t serial_tx_bytes = 0;
    std::uint64_t net_tx_bytes = 0;
    std::uint64_t net_rx_bytes = 0;
    std::uint64_t connections = 0;
    std::uint64_t refused = 0;
    std::uint64_t jammed_drops = 0;
    std::uint64_t refused_allowlist = 0;  // NE-2: connections and datagrams refused
    std::uint64_t refused_tls = 0;  // Secure Connection: failed handshakes, mutual-TLS refusals
    std::uint64_t refused_dos = 0;  // NE-5: refused by the per-source DoS bounds
};

class Port {
public:
    /// `allowed_devices`: system.allowed_devices of the configuration the port comes from (checked
    /// again at each open, issue 14 item 12). `dos` (null: no DoS bounds) holds serial_dos for the
    /// port's own per-source table. `allowlist` (null: every source allowed) is shared
    /// with every listener and outlives the Port.
    Port(asio::io_context& io, config::PortConfig config, std::string listen_address,
         std::vector<std::string> allowed_devices, events::Log& events,
         security::allowlist::Gate* allowlist = nullptr,
         security::certs::TlsContexts* tls = nullptr, const security::dos::Policy* dos = nullptr);
    ~Port();
    Port(const Port&) = delete;
    Port& operator=(const Port&) = delete;

    /// Starts the port's coroutine. Returns at once.
    void start();
    /// Stops the mode (draining clients), closes the device, then calls `done` on the port strand.
    /// `done` always runs, also when run() has already ended (a disabled port) or never started.
    /// The Port may be destroyed once `done` ran.
    void stop(std::function<void()> done);

    /// NE-4: the allowlist changed; the mode ends connections from sources it no longer allows.
    /// Posts to the port strand; returns at once. Call on the io thread while the Port runs.
    void revoke();

    const config::PortConfig& config() const { return config_; }
    const std::string& listen_address() const { return listen_address_; }
    /// Snapshot of counters, line state and peers. Reads the port's strand-owned state directly:
    /// call it on the strand, or on the io_context's thread when one thread runs it (ADR 0001).
    PortStatus status() const;
    /// Issue 13 item 4: the live monitor's tap (the Manager's, kept across restarts of the port).
    /// Call before start().
    void set_tap(std::shared_ptr<modes::common::MonitorTap> tap) { tap_ = std::move(tap); }
    /// From any thread: takes the snapshot on the port's strand and hands it to `done` there.
    void status(std::function<void(PortStatus)> done) const;
    /// From any thread: what needs no strand — number, device, mode, counters; state "busy".
    PortStatus counters() const;

private:
    core::Task<void> run();
    core::Task<bool> open_and_start();
    core::Task<void> pump();
    void deliver(std::span<const std::byte> bytes);  // read from the line: counted, to the mode
    core::Task<void> stop_mode();
    core::Task<void> backoff();
    void set_paused(bool paused);
    void request_mode_stop(bool close_device_after);
    void record(const serial::Notification& n);    // DCD/DSR changes and line errors → event log
    void report_plaintext(std::string_view kind);  // security.plaintext_port, once

    config::PortConfig config_;
    std::string listen_address_;
    std::vector<std::string> allowed_devices_;
    events::Log& events_;
    security::allowlist::Gate* allowlist_;
    security::certs::TlsContexts* tls_;             // Secure Connection (PortContext::tls)
    bool plaintext_reported_ = false;               // security.plaintext_port, once per Port
    std::unique_ptr<security::dos::PortGate> dos_;  // this port's per-source table (guide §3.7)
    core::Strand strand_;
    core::Signal wake_;              // stop requested, reads resumed, mode stopped
    asio::steady_timer stop_guard_;  // closes the device if a mode stop overruns
    modes::PortStats stats_;
    std::shared_ptr<modes::common::MonitorTap> tap_;  // null: no monitor (unit tests)
    serial::DevicePtr device_;
    std::optional<modes::PortContext> ctx_;
    modes::ModePtr mode_;
    std::string state_ = "starting";
    std::function<void()> done_;
    std::chrono::milliseconds backoff_;
    bool running_ = false;  // run() started and not yet ended (stop() must then wait for it)
    bool stopping_ = false;
    bool paused_ = false;
    bool mode_stopping_ = false;
    bool mode_stopped_ = false;
    bool failure_reported_ = false;
    serial::ModemLines last_lines_;
    std::chrono::steady_clock::time_point last_error_event_{};
};

}  // namespace sg::port
