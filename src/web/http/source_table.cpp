// source_table.cpp: per-source connection counts and token buckets (NE-5), bounded (NE-8). Called
// by web::http::Server from its accept strand (try_connect) and from connection strands
// (take_token, disconnect); one mutex, held for O(1) work except a rare eviction scan.
#include "web/http/source_table.h"

#include <algorithm>
#include <iterator>

namespace sg::web::http {

namespace ip = boost::asio::ip;

ip::address normalize(const ip::address& a) {
    if (a.is_v6() && a.to_v6().is_v4_mapped()) {
        return ip::make_address_v4(ip::v4_mapped, a.to_v6());
    }
    return a;
}

SourceTable::SourceTable(const Limits& limits)
    : limits_(limits),
      per_source_(limits.max_connections_per_source),
      max_sources_(std::max<std::size_t>(1, limits.max_sources)) {}

void SourceTable::evict(Clock::time_point now) {
    // First every source without connections whose buckets are all full again: forgetting it
    // loses nothing. If there is none (a spray of new addresses), the least recently seen source
    // without connections goes; its buckets restart full, which only favours that address.
    const double now_s = seconds_of(now);
    std::size_t removed = 0;
    for (auto it = entries_.begin(); it != entries_.end();) {
        Entry& e = it->second;
        // All three refill, whatever the first answers (no short-circuit).
        const bool c = e.connects.full(now_s);
        const bool h = e.handshakes.full(now_s);
        const bool r = e.requests.full(now_s);
        if (e.connections == 0 && c && h && r) {
            it = entries_.erase(it);
            ++removed;
        } else {
            ++it;
        }
    }
    if (removed > 0) return;
    auto oldest = entries_.end();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
        if (it->second.connections == 0 &&
            (oldest == entries_.end() || it->second.last_seen < oldest->second.last_seen)) {
            oldest = it;
        }
    }
    if (oldest != entries_.end()) entries_.erase(oldest);
}

SourceTable::Entry* SourceTable::find_or_add(const ip::address& addr, Clock::time_point now) {
    if (auto it = entries_.find(addr); it != entries_.end()) return &it->second;
    if (entries_.size() >= max_sources_) evict(now);
    if (entries_.size() >= max_sources_) return nullptr;
    Entry& e = entries_.try_emplace(addr, limits_, seconds_of(now)).first->second;
    e.last_seen = now;
    return &e;
}

SourceTable::Admit SourceTable::try_connect(const ip::address& addr, Clock::time_point now,
                                            bool tls) {
    const std::lock_guard lock(mutex_);
    Entry* e = find_or_add(normalize(addr), now);
    if (e == nullptr) return Admit::source_cap;
    e->last_seen = now;
    const double now_s = seconds_of(now);
    if (e->connects.take(now_s)) return Admit::connection_rate;
    if (e->connections >= per_source_) return Admit::source_cap;
    if (tls && e->handshakes.take(now_s)) return Admit::handshake_rate;
    ++e->connections;
    return Admit::ok;
}

void SourceTable::disconnect(const ip::address& addr, Clock::time_point now) {
    const std::lock_guard lock(mutex_);
    auto it = entries_.find(normalize(addr));
    if (it == entries_.end() || it->second.connections == 0) return;
    --it->second.connections;
    it->second.last_seen = now;
}

std::optional<std::chrono::seconds> SourceTable::take_token(const ip::address& addr,
                                                            Clock::time_point now) {
    const std::lock_guard lock(mutex_);
    Entry* e = find_or_add(normalize(addr), now);
    if (e == nullptr) return std::chrono::seconds(1);  // table full of busy sources: shed
    e->last_seen = now;
    return e->requests.take(seconds_of(now));
}

std::size_t SourceTable::size() const {
    const std::lock_guard lock(mutex_);
    return entries_.size();
}

std::size_t SourceTable::connections(const ip::address& addr) const {
    const std::lock_guard lock(mutex_);
    auto it = entries_.find(normalize(addr));
    return it == entries_.end() ? 0 : it->second.connections;
}

}  // namespace sg::web::http
