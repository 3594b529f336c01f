// rate_limit.h: how many events of one kind a stranger may write (issue 14 items 5, 6; AU-3). An
// event anyone on the network can cause (a TCP connection to a serial port, a refused setup)
// goes through RateLimiter, keyed by (type, port, source address without the ephemeral port):
// the first `burst` events of a key in a period are written at once, further ones are counted
// and written as one summary of the same type ("rate-limited: N more from ADDR since T") when
// the period ends (Log::emit_summaries, every few seconds from serve's housekeeping), before
// the next event of the key that is written, or at stop. A count is never dropped: each event
// is written or counted in a summary. A flood thus costs at most burst + 1 rows per key and
// period instead of one row per event. The counts of the current period live in memory: a
// graceful stop writes them, kill -9 loses them (the port monitor's counters are not affected).
//
// The key table is bounded (an attacker has many addresses: IPv6, or all of 127/8): once it
// holds kMaxKeys addresses, events of further addresses share one key per (type, port), whose
// summaries say "from other sources". Thread-safe: Log::emit_limited runs on ports' strands and
// on the API's handler pool. The clock is injected so that unit tests need no sleeps.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "events/catalog.h"

namespace sg::events {

/// How one kind of event is limited.
struct Limit {
    std::uint32_t burst = 1;  // events of a key written one by one per period
    std::chrono::seconds period{60};
};

/// Events of one key that were counted instead of written.
struct Summary {
    const Type* type = nullptr;
    std::optional<std::uint32_t> port;
    std::string address;        // source address, or kOtherSources
    std::uint64_t count = 0;    // events not written one by one
    std::int64_t since_us = 0;  // UTC time of the first of them
};

/// AU-2: refusals a stranger causes (allowlist, DoS bounds) are logged at most once per source (and
/// port) per minute; the rest of the minute goes into one summary.
inline constexpr Limit kRefusalLimit{.burst = 1, .period = std::chrono::seconds(60)};

class RateLimiter {
public:
    using Clock = std::function<std::chrono::steady_clock::time_point()>;
    /// Addresses tracked one by one; beyond them, one key per (type, port) for all others.
    static constexpr std::size_t kMaxKeys = 1024;
    static constexpr std::string_view kOtherSources = "other sources";

    explicit RateLimiter(Clock clock = std::chrono::steady_clock::now,
                         std::size_t max_keys = kMaxKeys);

    /// What to do with one event.
    struct Verdict {
        bool write = false;              // write the event itself now
        std::optional<Summary> pending;  // write this summary first (the key's previous period)
    };
    /// The verdict for one event of (type, port, address) limited by `limit`. `count_only`: never
    /// written one by one, only counted (a disconnect whose connect was itself only counted).
    Verdict admit(const Type& type, std::optional<std::uint32_t> port, std::string_view address,
                  const Limit& limit, bool count_only = false);

    /// The summaries of keys whose period has ended (all of them when `all`: at stop), and
    /// forgets keys that were quiet for a whole period.
    std::vector<Summary> due(bool all = false);

    /// Keys tracked now (tests: the table stays bounded).
    std::size_t keys() const;

private:
    using Key = std::tuple<std::string_view, std::uint32_t, std::string>;  // type, port+1 or 0
    struct Entry {
        const Type* type = nullptr;
        std::optional<std::uint32_t> port;
        std::chrono::steady_clock::time_point window_start;
        std::chrono::seconds period{60};
        std::uint32_t written = 0;  // in this window
        std::uint64_t held = 0;     // counted since the last summary
        std::chrono::steady_clock::time_point first_held;
    };
    Summary take_summary(const Key& key, Entry& e, std::chrono::steady_clock::time_point now);

    Clock clock_;
    std::size_t max_keys_;
    mutable std::mutex mu_;
    std::map<Key, Entry> entries_;   // one source address each; at most max_keys_
    std::map<Key, Entry> overflow_;  // address kOtherSources: one per (type, port) in use
};

/// "10.0.0.1:5000" → "10.0.0.1", "[::1]:5000" → "::1"; anything else unchanged.
std::string address_of(std::string_view source);

}  // namespace sg::events
