// source_table.cpp: per-source connection counts and token buckets (NE-5), bounded (NE-8). Called
// by web::http::Server from its accept strand (try_connect) and from connection strands
// (take_token, disconnect); one mutex, held for O(1) work except a rare eviction scan.
#include "web/http/source_table.h"

#include <algorithm>
#include <cmath>
#include <iterator>

namespace sg::web::http {

namespace ip = boost::asio::ip;

namespace {
// Retry-After is capped: a bucket configured to (almost) never refill would otherwise tell
// clients to come back in years.
constexpr double kMaxRetrySeconds = 86400;
}  // namespace

ip::address normalize(const ip::address& a) {
    if (a.is_v6() && a.to_v6().is_v4_mapped()) {
        return ip::make_address_v4(ip::v4_mapped, a.to_v6());
    }
    return a;
}

SourceTable::SourceTable(const Limits& limits)
    : rate_(std::max(0.0, limits.requests_per_second_per_source)),
      burst_(std::max(1.0, limits.burst_per_source)),
      per_source_(limits.max_connections_per_source),
      max_sources_(std::max<std::size_t>(1, limits.max_sources)) {}

void SourceTable::refill(Entry& e, Clock::time_point now) const {
    if (now > e.refilled) {
        const double dt = std::chrono::duration<double>(now - e.refilled).count();
        e.tokens = std::min(burst_, e.tokens + dt * rate_);
        e.refilled = now;
    }
}

void SourceTable::evict(Clock::time_point now) {
    // First every source without connections whose bucket is full again: forgetting it loses
    // nothing. If there is none (a spray of new addresses), the least recently seen source
    // without connections goes; its bucket restarts full, which only favours that address.
    std::size_t removed = 0;
    for (auto it = entries_.begin(); it != entries_.end();) {
        refill(it->second, now);
        if (it->second.connections == 0 && it->second.tokens >= burst_) {
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
    Entry& e = entries_[addr];
    e.tokens = burst_;
    e.refilled = now;
    e.last_seen = now;
    return &e;
}

bool SourceTable::try_connect(const ip::address& addr, Clock::time_point now) {
    const std::lock_guard lock(mutex_);
    Entry* e = find_or_add(normalize(addr), now);
    if (e == nullptr || e->connections >= per_source_) return false;
    ++e->connections;
    e->last_seen = now;
    return true;
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
    refill(*e, now);
    if (e->tokens >= 1.0) {
        e->tokens -= 1.0;
        return std::nullopt;
    }
    const double wait = rate_ > 0 ? std::ceil((1.0 - e->tokens) / rate_) : kMaxRetrySeconds;
    return std::chrono::seconds(static_cast<std::int64_t>(std::clamp(wait, 1.0, kMaxRetrySeconds)));
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
