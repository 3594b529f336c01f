// backoff.h: the wait between reconnect attempts of the modes that connect out (TCP Client, Pair
// Connection master). Doubles from kReconnectFirst to kReconnectMax, so a destination that is down
// costs one attempt every 10 s at most, and a short outage is bridged within half a second. No
// clock and no I/O: the caller waits.
#pragma once

#include <algorithm>
#include <chrono>

namespace sg::modes::common {

inline constexpr std::chrono::milliseconds kReconnectFirst{500};
inline constexpr std::chrono::milliseconds kReconnectMax{10000};

class Backoff {
public:
    /// The wait before the next attempt; each call doubles the one after, up to the maximum.
    std::chrono::milliseconds next() {
        const auto now = next_;
        next_ = std::min(next_ * 2, kReconnectMax);
        return now;
    }
    /// A connection was made: the next outage starts from the first step again.
    void reset() { next_ = kReconnectFirst; }

private:
    std::chrono::milliseconds next_ = kReconnectFirst;
};

}  // namespace sg::modes::common
