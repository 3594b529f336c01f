// source_table.h: per-source-address accounting of the HTTPS server (NE-5, NE-8): concurrent
// connections and three token buckets per peer address — new connections, TLS handshakes,
// requests — in a table of bounded size. No I/O; time is passed in, so tests drive it without
// sleeping.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "web/http/limits.h"
#include "web/http/token_bucket.h"

namespace sg::web::http {

/// "::ffff:10.0.0.1" → "10.0.0.1": one source is one entry whichever socket family accepted it.
boost::asio::ip::address normalize(const boost::asio::ip::address& a);

/// Thread-safe (one mutex): the accept loop and every connection strand call it.
class SourceTable {
public:
    using Clock = std::chrono::steady_clock;

    explicit SourceTable(const Limits& limits);

    /// The verdict on a new connection, in the order checked.
    enum class Admit {
        ok,               // counted as one of the source's connections
        connection_rate,  // connection bucket empty (NE-5: 20/s, burst 40)
        source_cap,       // max_connections_per_source open (or the table is full of busy
                          // sources: impossible while max_sources > max_connections)
        handshake_rate,   // TLS only: handshake bucket empty (NE-5: 10/s, burst 40)
    };
    /// A connection from `addr` was accepted; `tls`: it will need a TLS handshake (HTTPS, not
    /// the redirect). Every attempt takes a connection token, refused ones too (a source that
    /// hammers a full cap is still hammering); a handshake token is taken only by a connection
    /// that passed the other checks. Anything but ok counts nothing as a connection.
    Admit try_connect(const boost::asio::ip::address& addr, Clock::time_point now, bool tls);
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
        Entry(const Limits& l, double now_s)
            : connects(l.connections_per_second_per_source, l.connection_burst_per_source, now_s),
              handshakes(l.handshakes_per_second_per_source, l.handshake_burst_per_source, now_s),
              requests(l.requests_per_second_per_source, l.burst_per_source, now_s) {}
        std::size_t connections = 0;
        TokenBucket connects;
        TokenBucket handshakes;
        TokenBucket requests;
        Clock::time_point last_seen;  // last connect, disconnect or request
    };

    Entry* find_or_add(const boost::asio::ip::address& addr, Clock::time_point now);
    void evict(Clock::time_point now);

    Limits limits_;  // the rates and bursts of new entries' buckets
    std::size_t per_source_;
    std::size_t max_sources_;
    mutable std::mutex mutex_;
    std::unordered_map<boost::asio::ip::address, Entry> entries_;
};

}  // namespace sg::web::http
