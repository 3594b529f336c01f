// clock.h: time as an injected dependency, so that packing and timeouts are tested without sleeps.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace sg::core {

using SteadyTime = std::chrono::steady_clock::time_point;

/// Microseconds since the Unix epoch, UTC. The unit of every stored timestamp.
std::int64_t now_utc_us();

/// "2026-11-26T05:40:04.123456Z": ISO 8601 in UTC, the zone always shown (guide §3.6).
std::string format_utc(std::int64_t utc_us);

}  // namespace sg::core
