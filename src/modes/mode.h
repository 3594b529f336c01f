// mode.h: the operation-mode interface (STYLE.md §2; docs/adr/0002-mode-interface.md). A Mode
// serves one serial port: it owns the network side (listeners, sessions, timers) and receives the
// serial side's bytes and notifications from its Port. Everything runs on the port's strand; no
// locks.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "config/settings.h"
#include "core/asio.h"
#include "events/log.h"
#include "modes/common/monitor_tap.h"
#include "security/allowlist/allowlist.h"
#include "security/certs/tls_contexts.h"
#include "security/dos/port_gate.h"
#include "serial/device.h"

namespace sg::modes {

/// Counters of one port, written on its strand and read from anywhere (relaxed atomics).
struct PortStats {
    std::atomic<std::uint64_t> serial_rx_bytes{0};  // read from the serial line
    std::atomic<std::uint64_t> serial_tx_bytes{0};  // written to the serial line
    std::atomic<std::uint64_t> net_tx_bytes{0};     // sent to network peers (sum over peers)
    std::atomic<std::uint64_t> net_rx_bytes{0};     // received from network peers
    std::atomic<std::uint64_t> connections{0};      // accepted since start
    std::atomic<std::uint64_t> refused{0};          // refused: max connections
    std::atomic<std::uint64_t> jammed_drops{0};     // bytes dropped for jammed clients
    /// NE-2: connections (and UDP datagrams) refused by the allowlist, before any byte.
    std::atomic<std::uint64_t> refused_allowlist{0};
    /// Secure Connection: TLS handshakes that failed (a plain client, an old protocol, a stalled
    /// peer) and peers refused by mutual TLS, on this port's listeners and outgoing connections.
    std::atomic<std::uint64_t> refused_tls{0};
    /// Guide §3.7, NE-5: connections (and UDP datagrams, TLS handshakes) refused by the DoS
    /// defense's per-source bounds (serial_dos), before any byte.
    std::atomic<std::uint64_t> refused_dos{0};
};

/// What a mode may use. Owned by the Port, outlives the Mode; everything runs on `strand`.
struct PortContext {
    std::uint32_t id;        // 1-based port number
    core::Strand strand;     // shared by the mode, its sessions and timers
    serial::Device& serial;  // write, line settings, modem lines, break, flush
    events::Log& events;
    PortStats& stats;
    std::string listen_address;  // system.listen_address
    /// Backpressure on the serial reader: true pauses reads until called with false.
    std::function<void(bool)> pause_serial_reads;
    /// NE-2: the allowlist in force, shared by every listener (owned by serve, outlives every
    /// port); null (unit tests) allows every source.
    security::allowlist::Gate* allowlist = nullptr;
    /// Guide §3.7, NE-5: this port's per-source DoS bounds (owned by the Port); null (unit tests)
    /// admits everything.
    security::dos::PortGate* dos = nullptr;

    /// Secure Connection (issue 11 items 1–3): the TLS contexts of every endpoint (owned by serve,
    /// outlives every port); null in unit tests, where only `plain` runs.
    security::certs::TlsContexts* tls = nullptr;
    /// Issue 13 item 4: the live monitor's tap of this port (owned by the Manager's MonitorHub,
    /// outlives the Port); SerialWriter offers each completed write. Null: nobody can watch.
    common::MonitorTap* tap = nullptr;

    /// The server context for a listener at `level`, taken at each accept (a new certificate or
    /// CA list applies to new connections): null for plain, and when there is none (no
    /// TlsContexts, no device certificate in force) — the connection is then refused.
    std::shared_ptr<asio::ssl::context> server_tls(config::Security level) const {
        if (level == config::Security::Plain || tls == nullptr) return nullptr;
        return tls->server(level == config::Security::EncryptedAuthenticated);
    }

    /// Whether `source` may connect (or send) to this port now: the allowlist's verdict.
    bool allowed(const asio::ip::address& source) const {
        return allowlist == nullptr || allowlist->allows(source);
    }
    /// A connection or datagram from `source` was refused by the allowlist on `listener`: counted
    /// in refused_allowlist, logged rate-limited (security.allowlist_refused, AU-2).
    void refused_by_allowlist(const asio::ip::address& source, std::uint16_t listener_port) const {
        stats.refused_allowlist.fetch_add(1, std::memory_order_relaxed);
        if (allowlist != nullptr) {
            allowlist->refused(
                source, "port " + std::to_string(id) + " (" + std::to_string(listener_port) + ")");
        }
    }
    /// A connection, TLS handshake or datagram from `source` was refused by the DoS defense on
    /// `listener_port`: counted in refused_dos, logged rate-limited (security.dos_refused, at
    /// most one event per source, port and minute, AU-2; the rest go into its summary).
    void refused_by_dos(const asio::ip::address& source, std::uint16_t listener_port,
                        security::dos::Verdict why) const {
        stats.refused_dos.fetch_add(1, std::memory_order_relaxed);
        events.emit_limited(
            events::types::kDosRefused, {.port = id, .source = source.to_string()},
            "port " + std::to_string(id) + " (" + std::to_string(listener_port) +
                "): " + (dos != nullptr ? dos->describe(why) : security::dos::to_string(why)),
            events::kRefusalLimit);
    }
    /// Secure Connection (issue 11 item 1; NE-5 "TLS handshakes per second per source"): call on
    /// the port strand right before each server-side TLS handshake of a connection accepted from
    /// `source` on `listener_port`. False: the source is over its handshake rate — counted and
    /// logged (refused_by_dos); close the socket (reset_now) without handshaking.
    bool admit_handshake(const asio::ip::address& source, std::uint16_t listener_port) const {
        if (dos == nullptr) return true;
        const auto verdict = dos->admit_handshake(source);
        if (verdict == security::dos::Verdict::ok) return true;
        refused_by_dos(source, listener_port, verdict);
        return false;
    }
};

struct PeerStatus {
    std::string address;           // "ip:port"
    std::int64_t connected_at_us;  // UTC
    std::uint64_t tx_bytes = 0;
    std::uint64_t rx_bytes = 0;
};

struct ModeStatus {
    std::string type;   // "tcp_server"
    std::string state;  // "listening on 127.0.0.1:4001", "disabled", ...
    std::vector<PeerStatus> peers;
};

class Mode {
public:
    virtual ~Mode() = default;
    /// Bind or connect. An error leaves this port's mode off and reported; other ports run on.
    virtual std::error_code start() = 0;
    /// Bytes from the serial line, in order. Must not block: queue, or apply backpressure through
    /// PortContext::pause_serial_reads.
    virtual void on_serial_data(std::span<const std::byte> bytes) = 0;
    /// Inputs changed, a line error or a break was received.
    virtual void on_serial_notification(const serial::Notification&) {}
    /// Stop accepting and close every session (after draining queued bytes, bounded by
    /// limits::kDrainTimeout); call `done` once, on the strand, when nothing is left running.
    virtual void stop(std::function<void()> done) = 0;
    /// Cheap snapshot, on the strand.
    virtual ModeStatus status() const = 0;
    /// NE-4: the allowlist changed; end at once every connection the mode accepted from a source
    /// it no longer allows (PortContext::allowed). On the strand. Modes that accept nothing keep
    /// the default: their connections are outgoing (TCP Client, Pair master), which the
    /// allowlist does not govern.
    virtual void revoke() {}
};

using ModePtr = std::unique_ptr<Mode>;

/// One registry entry (registry.cpp holds the explicit list).
struct ModeKind {
    std::string_view name;  // "tcp_server", as in YAML
    bool available;         // false: named in the config schema, not yet implemented
    /// Builds the mode, or returns an error when this kind cannot run in this build.
    ModePtr (*create)(PortContext& ctx, const config::ModeSettings& settings, std::error_code& ec);
};

/// The kind serving `settings` (by variant alternative).
const ModeKind& kind_for(const config::ModeSettings& settings);

}  // namespace sg::modes
