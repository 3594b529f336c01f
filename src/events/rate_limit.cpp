// rate_limit.cpp: the per-source event limiter (rate_limit.h). Called by Log::emit_limited from
// any thread (ports' strands, the API's handler pool) and by Log::emit_summaries from serve's
// housekeeping timer; one mutex, held only for a map lookup. No I/O: Log writes what it says.
#include "events/rate_limit.h"

#include "core/clock.h"

namespace sg::events {

RateLimiter::RateLimiter(Clock clock, std::size_t max_keys)
    : clock_(std::move(clock)), max_keys_(max_keys) {}

Summary RateLimiter::take_summary(const Key& key, Entry& e,
                                  std::chrono::steady_clock::time_point now) {
    // The first held event's UTC time, from the steady clock (which tests inject).
    const auto ago = std::chrono::duration_cast<std::chrono::microseconds>(now - e.first_held);
    Summary s{.type = e.type,
              .port = e.port,
              .address = std::get<2>(key),
              .count = e.held,
              .since_us = core::now_utc_us() - ago.count()};
    e.held = 0;
    return s;
}

RateLimiter::Verdict RateLimiter::admit(const Type& type, std::optional<std::uint32_t> port,
                                        std::string_view address, const Limit& limit,
                                        bool count_only) {
    const auto now = clock_();
    const std::uint32_t port_key = port ? *port + 1 : 0;
    std::lock_guard lock(mu_);
    Key key{type.key, port_key, std::string(address)};
    auto* table = &entries_;
    if (entries_.size() >= max_keys_ && !entries_.contains(key)) {
        // Table full: this address shares its (type, port) key with every other newcomer.
        key = Key{type.key, port_key, std::string(kOtherSources)};
        table = &overflow_;
    }
    const auto it =
        table
            ->try_emplace(
                key,
                Entry{.type = &type, .port = port, .window_start = now, .period = limit.period})
            .first;
    Entry& e = it->second;
    Verdict v;
    if (now - e.window_start >= e.period) {
        // A new period: what the last one held is summarised before anything new is written.
        if (e.held > 0) v.pending = take_summary(it->first, e, now);
        e.window_start = now;
        e.written = 0;
    }
    if (!count_only && e.written < limit.burst) {
        ++e.written;
        v.write = true;
        return v;
    }
    if (e.held++ == 0) e.first_held = now;
    return v;
}

std::vector<Summary> RateLimiter::due(bool all) {
    const auto now = clock_();
    std::vector<Summary> out;
    std::lock_guard lock(mu_);
    for (auto* table : {&entries_, &overflow_}) {
        for (auto it = table->begin(); it != table->end();) {
            Entry& e = it->second;
            if (!all && now - e.window_start < e.period) {
                ++it;
                continue;
            }
            if (e.held == 0) {
                it = table->erase(it);  // quiet: the next event starts afresh
                continue;
            }
            out.push_back(take_summary(it->first, e, now));
            // Still flooding, maybe: a new period in which the key again writes up to its burst.
            e.window_start = now;
            e.written = 0;
            ++it;
        }
    }
    return out;
}

std::size_t RateLimiter::keys() const {
    std::lock_guard lock(mu_);
    return entries_.size() + overflow_.size();
}

std::string address_of(std::string_view source) {
    if (source.starts_with('[')) {  // "[v6]:port"
        const auto close = source.find(']');
        if (close != std::string_view::npos) return std::string(source.substr(1, close - 1));
        return std::string(source);
    }
    const auto colon = source.rfind(':');
    if (colon == std::string_view::npos || source.find(':') != colon) return std::string(source);
    const auto port = source.substr(colon + 1);
    if (port.empty() || port.find_first_not_of("0123456789") != std::string_view::npos) {
        return std::string(source);
    }
    return std::string(source.substr(0, colon));
}

}  // namespace sg::events
