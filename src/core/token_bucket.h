// token_bucket.h: the token bucket behind every rate bound of both planes (NE-5): new connections,
// TLS handshakes and requests per source (web::http::SourceTable), requests per session
// (web/api/sessions), and the data plane's connections, handshakes and datagrams per source
// (security/dos). No clock of its own: the caller passes the time, so tests drive it without
// sleeping. Not thread-safe; its owner guards it (a mutex, or the port strand).
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <optional>

namespace sg::core {

class TokenBucket {
public:
    /// Retry-After is capped: a bucket configured to (almost) never refill would otherwise tell
    /// clients to come back in years.
    static constexpr double kMaxRetrySeconds = 86400;

    /// `rate` tokens per second (≥ 0), at most `burst` (≥ 1) held; starts full at `now_s`.
    TokenBucket(double rate, double burst, double now_s)
        : rate_(std::max(0.0, rate)), burst_(std::max(1.0, burst)), tokens_(burst_), at_s_(now_s) {}

    /// Takes one token at `now_s` (seconds on any clock; a clock that steps back only delays the
    /// refill). nullopt = taken; otherwise nothing is taken and the result says how long until a
    /// token is back (whole seconds, at least 1), for Retry-After.
    std::optional<std::chrono::seconds> take(double now_s) {
        refill(now_s);
        if (tokens_ >= 1.0) {
            tokens_ -= 1.0;
            return std::nullopt;
        }
        const double wait = rate_ > 0 ? std::ceil((1.0 - tokens_) / rate_) : kMaxRetrySeconds;
        return std::chrono::seconds(
            static_cast<std::int64_t>(std::clamp(wait, 1.0, kMaxRetrySeconds)));
    }
    /// True when the bucket holds `burst` again: forgetting it loses nothing.
    bool full(double now_s) {
        refill(now_s);
        return tokens_ >= burst_;
    }

private:
    void refill(double now_s) {
        if (now_s > at_s_) {
            tokens_ = std::min(burst_, tokens_ + (now_s - at_s_) * rate_);
            at_s_ = now_s;
        }
    }

    double rate_;
    double burst_;
    double tokens_;  // current content, ≤ burst_
    double at_s_;    // tokens_ is exact as of this time
};

/// A steady_clock time point as TokenBucket's seconds.
inline double seconds_of(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace sg::core
