// manager.h: all ports, and the one way the management plane changes them (STYLE.md §2):
// apply(config) diffs the new configuration against the running one and restarts only the ports
// whose settings changed; clients of the other ports keep their connections and lose no byte.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "config/settings.h"
#include "core/asio.h"
#include "core/io_pool.h"
#include "events/log.h"
#include "port/port.h"

namespace sg::port {

class Manager {
public:
    /// `allowlist` (null: every source allowed), `tls` (null: only plain ports can serve) and
    /// `dos` (null: no DoS bounds; each port makes its own per-source table from it) are shared
    /// with every port; they outlive the Manager. The Manager runs on `io` (one thread); the
    /// ports' strands on `data` when given (serve: system.io_threads io_contexts of one thread
    /// each, ADR 0015; each port placed on the least-loaded one for its life), else on `io` too.
    Manager(asio::io_context& io, events::Log& events,
            security::allowlist::Gate* allowlist = nullptr,
            security::certs::TlsContexts* tls = nullptr, const security::dos::Policy* dos = nullptr,
            core::IoPool* data = nullptr);
    ~Manager();

    /// Applies `config`; with `data_plane_on` false every port is stopped (no account yet, guide
    /// §3). Changed and removed ports are stopped first (so their TCP ports and devices are free),
    /// then new and changed ports start. A call while a previous apply is still stopping ports is
    /// queued; only the newest queued configuration is applied. Call on the io_context thread.
    void apply(const config::Config& config, bool data_plane_on);

    /// Stops every port (clients drained), then calls `done`.
    void stop(std::function<void()> done);

    /// NE-4: the allowlist in force changed: every running port ends, on its strand, the
    /// connections it accepted from sources no longer allowed. Call on the io_context thread.
    void revoke();

    /// Every running port's status. With the ports on io (one thread) it is read directly; with
    /// a data pool each port takes its snapshot on its strand, and a port that has not answered
    /// within kStatusWait (it never should: a port's turns are bounded) is reported from its
    /// counters alone, state "busy" — the caller never waits on a busy port for longer.
    std::vector<PortStatus> status() const;
    static constexpr std::chrono::milliseconds kStatusWait{250};
    std::size_t running() const { return ports_.size(); }
    /// Issue 13 item 4: the live monitor's taps of every port. Thread-safe (the API subscribes
    /// from its handler threads).
    modes::common::MonitorHub& monitor() { return monitor_; }

private:
    void run_pending();
    void on_stopped();
    /// The io_context a starting port runs on for its life: io_ without a pool, else the pool's
    /// least-loaded one (so ports spread evenly over the io threads whatever their numbers).
    asio::io_context& place(std::uint32_t number);
    void unplace(std::uint32_t number);

    asio::io_context& io_;
    core::IoPool* data_;                           // the ports' io_contexts; null: io_
    std::map<std::uint32_t, std::size_t> placed_;  // port number -> index in data_
    events::Log& events_;
    security::allowlist::Gate* allowlist_;
    security::certs::TlsContexts* tls_;
    const security::dos::Policy* dos_;   // serial_dos in force (guide §3.7); null: no bounds
    modes::common::MonitorHub monitor_;  // before the ports: each holds its tap
    std::map<std::uint32_t, std::unique_ptr<Port>> ports_;
    std::vector<std::unique_ptr<Port>> stopping_;
    std::optional<std::pair<config::Config, bool>> pending_;
    std::function<void()> stop_done_;
    int stops_in_flight_ = 0;
    bool shutting_down_ = false;
};

}  // namespace sg::port
