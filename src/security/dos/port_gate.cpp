// port_gate.cpp: per-port, per-source DoS bounds of the data plane (port_gate.h). Called on the
// port strand by the listeners' accept loops, the UDP receiver and (Secure Connection) right
// before each TLS handshake; O(1) except a bounded eviction scan at most once a second.
#include "security/dos/port_gate.h"

#include <fmt/format.h>

#include <iterator>

namespace sg::security::dos {

namespace {

Address normalize(const Address& a) {
    // "::ffff:10.0.0.1" is 10.0.0.1: one source, one entry, whichever socket family saw it.
    if (a.is_v6() && a.to_v6().is_v4_mapped()) {
        return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
    }
    return a;
}

}  // namespace

bool Policy::set(const config::SerialDosSettings& s) {
    if (*current_.load() == s) return false;
    current_.store(std::make_shared<const config::SerialDosSettings>(s));
    return true;
}

const char* to_string(Verdict v) {
    switch (v) {
        case Verdict::ok: return "ok";
        case Verdict::connection_rate: return "connection rate";
        case Verdict::source_cap: return "per-source connection limit";
        case Verdict::handshake_rate: return "handshake rate";
        case Verdict::datagram_rate: return "datagram rate";
    }
    return "?";
}

PortGate::Entry::Entry(const config::SerialDosSettings& s, double now_s)
    : connects(s.connections_per_second_per_source, s.connection_burst_per_source, now_s),
      handshakes(s.handshakes_per_second_per_source, s.handshake_burst_per_source, now_s),
      datagrams(s.datagrams_per_second_per_source, s.datagram_burst_per_source, now_s) {}

PortGate::PortGate(const Policy& policy, std::size_t max_sources)
    : policy_(policy), settings_(policy.current()), max_sources_(max_sources) {}

const config::SerialDosSettings& PortGate::settings() {
    auto now = policy_.current();
    if (now != settings_) {
        // New bounds: every bucket restarts full with them.
        settings_ = std::move(now);
        entries_.clear();
        overflow_.reset();
        last_evict_.reset();
    }
    return *settings_;
}

void PortGate::evict(double now_s) {
    // Only sources whose buckets are all full again: forgetting them loses nothing.
    for (auto it = entries_.begin(); it != entries_.end();) {
        Entry& e = it->second;
        const bool c = e.connects.full(now_s);  // all three refill (no short-circuit)
        const bool h = e.handshakes.full(now_s);
        const bool d = e.datagrams.full(now_s);
        it = c && h && d ? entries_.erase(it) : std::next(it);
    }
    if (overflow_ && overflow_->connects.full(now_s) && overflow_->handshakes.full(now_s) &&
        overflow_->datagrams.full(now_s) && entries_.size() < max_sources_) {
        overflow_.reset();
    }
}

PortGate::Entry& PortGate::entry(const Address& source, Clock::time_point now) {
    const Address a = normalize(source);
    const double now_s = core::seconds_of(now);
    if (auto it = entries_.find(a); it != entries_.end()) return it->second;
    if (entries_.size() >= max_sources_ && (!last_evict_ || now - *last_evict_ >= kEvictInterval)) {
        last_evict_ = now;
        evict(now_s);
    }
    if (entries_.size() < max_sources_) {
        return entries_.try_emplace(a, *settings_, now_s).first->second;
    }
    if (!overflow_) overflow_.emplace(*settings_, now_s);
    return *overflow_;
}

Verdict PortGate::admit_connection(const Address& source, std::size_t open_from_source,
                                   Clock::time_point now) {
    const auto& s = settings();
    if (!s.enabled) return Verdict::ok;
    if (entry(source, now).connects.take(core::seconds_of(now))) return Verdict::connection_rate;
    if (open_from_source >= s.max_connections_per_source) return Verdict::source_cap;
    return Verdict::ok;
}

Verdict PortGate::admit_handshake(const Address& source, Clock::time_point now) {
    const auto& s = settings();
    if (!s.enabled) return Verdict::ok;
    return entry(source, now).handshakes.take(core::seconds_of(now)) ? Verdict::handshake_rate
                                                                     : Verdict::ok;
}

Verdict PortGate::admit_datagram(const Address& source, Clock::time_point now) {
    const auto& s = settings();
    if (!s.enabled) return Verdict::ok;
    return entry(source, now).datagrams.take(core::seconds_of(now)) ? Verdict::datagram_rate
                                                                    : Verdict::ok;
}

std::string PortGate::describe(Verdict v) const {
    const auto& s = *settings_;
    switch (v) {
        case Verdict::ok: return "ok";
        case Verdict::connection_rate:
            return fmt::format("connection rate above {}/s (burst {})",
                               s.connections_per_second_per_source, s.connection_burst_per_source);
        case Verdict::source_cap:
            return fmt::format("per-source connection limit ({} open)",
                               s.max_connections_per_source);
        case Verdict::handshake_rate:
            return fmt::format("TLS handshake rate above {}/s (burst {})",
                               s.handshakes_per_second_per_source, s.handshake_burst_per_source);
        case Verdict::datagram_rate:
            return fmt::format("datagram rate above {}/s (burst {})",
                               s.datagrams_per_second_per_source, s.datagram_burst_per_source);
    }
    return "?";
}

}  // namespace sg::security::dos
