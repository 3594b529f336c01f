// source_table.h: per-source-address accounting of the HTTPS server (NE-5, NE-8): concurrent
// connections and a request token bucket per peer address, in a table of bounded size. No I/O;
// time is passed in, so tests drive it without sleeping.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "web/http/limits.h"

namespace sg::web::http {

/// "::ffff:10.0.0.1" → "10.0.0.1": one source is one entry whichever socket family accepted it.
boost::asio::ip::address normalize(const boost::asio::ip::address& a);

/// Thread-safe (one mutex): the accept loop and every connection strand call it.
class SourceTable {
public:
    using Clock = std::chrono::steady_clock;

    explicit SourceTable(const Limits& limits);

    /// A connection from `addr` was accepted. False (and nothing counted) when the source
    /// already holds max_connections_per_source, or when the table is full of sources that
    /// all hold connections (impossible while max_sources > max_connections).
    bool try_connect(const boost::asio::ip::address& addr, Clock::time_point now);
    /// That connection ended.
    void disconnect(const boost::asio::ip::address& addr, Clock::time_point now);

    /// One request from `addr`: takes a token. nullopt = allowed; otherwise how long until a
    /// token is back (whole seconds, at least 1), for Retry-After.
    std::optional<std::chrono::seconds> take_token(const boost::asio::ip::address& addr,
                                                   Clock::time_point now);

    std::size_t size() const;
    std::size_t connections(const boost::asio::ip::address& addr) const;

private:
    struct Entry {
        std::size_t connections = 0;
        double tokens = 0;            // current bucket content, ≤ burst
        Clock::time_point refilled;   // tokens are exact as of this time
        Clock::time_point last_seen;  // last connect, disconnect or request
    };

    Entry* find_or_add(const boost::asio::ip::address& addr, Clock::time_point now);
    void refill(Entry& e, Clock::time_point now) const;
    void evict(Clock::time_point now);

    double rate_;
    double burst_;
    std::size_t per_source_;
    std::size_t max_sources_;
    mutable std::mutex mutex_;
    std::unordered_map<boost::asio::ip::address, Entry> entries_;
};

}  // namespace sg::web::http
