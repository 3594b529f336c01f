// clock.cpp: wall-clock helpers for stored timestamps.
#include "core/clock.h"

#include <fmt/format.h>

#include <ctime>

namespace sg::core {

std::int64_t now_utc_us() {
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

std::string format_utc(std::int64_t utc_us) {
    std::time_t secs = static_cast<std::time_t>(utc_us / 1000000);
    long micros = static_cast<long>(utc_us % 1000000);
    if (micros < 0) {
        micros += 1000000;
        --secs;
    }
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", tm.tm_year + 1900,
                       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
}

}  // namespace sg::core
