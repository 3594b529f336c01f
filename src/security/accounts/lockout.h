// lockout.h: the arithmetic of login lockout (IA-6) and the per-source login throttle (IA-7). No
// I/O and no locks: Accounts persists FailureRecord in the store's `login_failures` table and keeps
// the SourceThrottle under its own mutex. Times are µs since the epoch, UTC (the injected clock).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>

#include "config/settings.h"

namespace sg::security::accounts {

/// One name's failed logins: a fixed window opened by the first failure, and the lock it led to.
struct FailureRecord {
    int failures = 0;                  // within the window opened at window_start_us
    std::int64_t window_start_us = 0;  // first failure of the current window
    std::int64_t locked_until_us = 0;  // 0 or the end of the lock (may lie in the past)
};

/// The window and the lock both last login.lockout_duration_min (device ref. §7: "N failures
/// within M minutes lock for M minutes").
std::int64_t lockout_duration_us(const config::LoginSettings& s);
bool is_locked(const FailureRecord& r, std::int64_t now_us);
/// Failures that still count at `now` (0 once the window has passed).
int current_failures(const FailureRecord& r, std::int64_t now_us, const config::LoginSettings& s);
/// Counts one failure at `now`. Returns true when this failure locked the name (lockout on and the
/// threshold reached). A failure while locked is not counted: the lock is not extended.
bool record_failure(FailureRecord& r, std::int64_t now_us, const config::LoginSettings& s);

/// Per-source throttle (IA-7): more than kMaxFailures failed logins within kWindowUs from one
/// source address throttle every further attempt from it, for any account name, until the oldest
/// failure leaves the window. Attempts in flight count too, so two threads cannot both slip in at
/// the limit. Memory is bounded: kMaxSources addresses, the stalest forgotten first.
class SourceThrottle {
public:
    static constexpr int kMaxFailures = 10;
    static constexpr std::int64_t kWindowUs = 60'000'000;
    static constexpr std::size_t kMaxSources = 10'000;
    static constexpr std::size_t kMaxKeyBytes = 64;  // longer keys are cut (bounded memory)

    /// 0: the attempt may run and is now in flight (call finish() after it). Otherwise the seconds
    /// until one may run again; nothing is reserved.
    std::int64_t admit(std::string_view source, std::int64_t now_us);
    /// Ends an admitted attempt; a failed one is remembered for kWindowUs.
    void finish(std::string_view source, std::int64_t now_us, bool failed);
    std::size_t tracked() const { return sources_.size(); }

private:
    struct Entry {
        std::deque<std::int64_t> failures;  // times, oldest first, at most kMaxFailures
        int in_flight = 0;
    };
    static void expire(Entry& e, std::int64_t now_us);
    void make_room(std::int64_t now_us);
    std::map<std::string, Entry, std::less<>> sources_;
};

}  // namespace sg::security::accounts
