// allowlist.h: the IP allowlist (guide §3.5; NE-2..NE-4, SD-3, AU-2) as every listener uses it:
// the immutable Allowlist of one configuration with the mask rule, the Gate that holds the one in
// force for every port strand and the HTTPS threads (swapped atomically, read without a lock on
// the accept path), and the rate-limited audit of refusals. Pure code apart from the event log.
#pragma once

#include <atomic>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/allowlist.h"
#include "config/settings.h"
#include "events/log.h"

namespace sg::security::allowlist {

using Address = boost::asio::ip::address;

/// NE-2: (src AND mask) == (entry AND mask). An IPv4-mapped IPv6 source (::ffff:a.b.c.d, what a
/// dual-stack socket reports) is matched as the IPv4 address it carries; `all` matches anything.
bool matches(const config::AllowRule& rule, const Address& source);

/// What one configuration allows. Immutable; off (the default) allows every source.
class Allowlist {
public:
    Allowlist() = default;
    /// `settings` passed parse_yaml (every entry parses); an entry that does not is skipped.
    explicit Allowlist(const config::AllowlistSettings& settings);

    bool enabled() const { return enabled_; }
    bool allows(const Address& source) const;

private:
    bool enabled_ = false;
    std::vector<config::AllowRule> rules_;
};

/// The allowlist in force, shared (by reference) by every listener: the port strands, the UDP
/// mode and the HTTPS accept strand. set() swaps an immutable snapshot; allows() reads it
/// without a lock of ours (std::atomic<std::shared_ptr>).
class Gate {
public:
    explicit Gate(events::Log& log);

    /// Puts `settings` in force for every check from now on. Returns whether it differs from what
    /// was in force (the caller then closes what is no longer allowed, NE-4). Any thread.
    bool set(const config::AllowlistSettings& settings);
    std::shared_ptr<const Allowlist> current() const { return current_.load(); }
    bool allows(const Address& source) const { return current_.load()->allows(source); }

    /// AU-2: refusals logged at most once per source per minute. A connection or datagram from
    /// `source` was refused on `listener` ("port 1 (4001)", "https"): the first of a source's
    /// minute is written as security.allowlist_refused at once, the rest are counted into one
    /// summary (events::Log::emit_limited, the limiter of every event a stranger can cause).
    void refused(const Address& source, std::string_view listener);
    static constexpr events::Limit kRefusalLimit{.burst = 1, .period = std::chrono::seconds(60)};

private:
    std::atomic<std::shared_ptr<const Allowlist>> current_;
    config::AllowlistSettings settings_;  // what set() last put in force; guarded by mu_
    std::mutex mu_;
    events::Log& log_;
};

}  // namespace sg::security::allowlist
