// port_gate.h: the data plane's DoS defense (guide §3.7; NE-5, NE-8): per serial port, per source
// address, the rates of new TCP connections, TLS handshakes and UDP datagrams (token buckets) and
// the number of connections open at once, checked by the port's listeners before a session is
// made (modes/common/listener.cpp, modes/udp). The management plane has its own (web::http::
// SourceTable); both take their bounds from the configuration (serial_dos, https.dos).
//
// Each port has its own PortGate, so a flood on one port spends only that port's table and
// strand: another port's clients are served as before. The table is bounded: at most
// kMaxSources addresses are tracked one by one; once it is full, sources whose buckets are full
// again are forgotten (nothing is lost), and if none is, every further address shares one
// overflow entry (as events::RateLimiter does), so a spray of addresses costs bounded memory and
// is still limited as a whole. No I/O; time is passed in, so tests need no sleeps.
#pragma once

#include <atomic>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "config/settings.h"
#include "core/token_bucket.h"

namespace sg::security::dos {

using Address = boost::asio::ip::address;
using Clock = std::chrono::steady_clock;

/// The serial_dos settings in force, shared by every port's gate (owned by serve, outlives the
/// ports). set() swaps an immutable snapshot; readers load it without a lock of ours.
class Policy {
public:
    Policy() : current_(std::make_shared<const config::SerialDosSettings>()) {}
    /// Puts `s` in force for the next check of every port; returns whether it changed. Any thread.
    bool set(const config::SerialDosSettings& s);
    std::shared_ptr<const config::SerialDosSettings> current() const { return current_.load(); }

private:
    std::atomic<std::shared_ptr<const config::SerialDosSettings>> current_;
};

/// The verdict on one connection, handshake or datagram.
enum class Verdict {
    ok,
    connection_rate,  // connections_per_second_per_source (burst) exceeded
    source_cap,       // max_connections_per_source already open on this port
    handshake_rate,   // handshakes_per_second_per_source (burst) exceeded
    datagram_rate,    // datagrams_per_second_per_source (burst) exceeded
};

/// "connection rate", "per-source connection limit", ...: the refusal class, for events.
const char* to_string(Verdict v);

/// One port's per-source accounting. Not thread-safe: called on the port's strand only.
class PortGate {
public:
    static constexpr std::size_t kMaxSources = 1024;
    /// A full table is scanned for forgettable entries at most this often (a spray of new
    /// addresses must not cost a 1024-entry scan per datagram).
    static constexpr std::chrono::milliseconds kEvictInterval{1000};

    explicit PortGate(const Policy& policy, std::size_t max_sources = kMaxSources);

    /// A TCP connection from `source` was accepted by one of the port's listeners, which has
    /// `open_from_source` connections from that address already (its sessions and channels).
    /// Every attempt takes a connection token (refused ones too: a source hammering a full cap
    /// is still hammering). ok: the listener may make its session.
    Verdict admit_connection(const Address& source, std::size_t open_from_source,
                             Clock::time_point now = Clock::now());
    /// Secure Connection (issue 11 item 1): a connection admitted above is about to start its TLS
    /// handshake. Call it right before the handshake, on the port strand; anything but ok: close
    /// the socket without handshaking and report the refusal (PortContext::refused_by_dos).
    Verdict admit_handshake(const Address& source, Clock::time_point now = Clock::now());
    /// A UDP datagram from `source` arrived (UDP mode): ok, or drop it.
    Verdict admit_datagram(const Address& source, Clock::time_point now = Clock::now());

    /// The refusal with the bound in force: "connection rate above 20/s (burst 40)".
    std::string describe(Verdict v) const;

    /// Addresses tracked one by one (tests: the table stays bounded).
    std::size_t sources() const { return entries_.size(); }
    /// Whether further addresses share the overflow entry now.
    bool overflowing() const { return overflow_.has_value(); }

private:
    struct Entry {
        Entry(const config::SerialDosSettings& s, double now_s);
        core::TokenBucket connects;
        core::TokenBucket handshakes;
        core::TokenBucket datagrams;
    };

    /// The settings in force; a change since the last call restarts every bucket (full).
    const config::SerialDosSettings& settings();
    Entry& entry(const Address& source, Clock::time_point now);
    void evict(double now_s);

    const Policy& policy_;
    std::shared_ptr<const config::SerialDosSettings> settings_;
    std::size_t max_sources_;
    std::unordered_map<Address, Entry> entries_;
    std::optional<Entry> overflow_;  // every address beyond a full table
    std::optional<Clock::time_point> last_evict_;
};

}  // namespace sg::security::dos
