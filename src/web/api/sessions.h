// sessions.h: web sessions of the management plane (WS-1, WS-2, WS-7, AZ-4, guide §4.3). A session
// id is 256 bits from the OS CSPRNG, handed to the browser once in the cookie and kept here only
// as its SHA-256; each session has its own CSRF token (WS-4). Sessions live in memory: a restart
// logs everyone out, which is the safe direction. Thread-safe (API handlers run on a pool).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/settings.h"
#include "core/clock.h"
#include "web/http/token_bucket.h"

namespace sg::web::api {

/// WS-2: a session ends 8 h after login whatever its activity.
inline constexpr std::int64_t kSessionAbsoluteUs = 8LL * 3600 * 1000 * 1000;
/// AZ-3: a sensitive route answers 401 reauth_required when the session's account last proved its
/// password (login, POST /api/v1/session/reauth, own password change) longer ago than this. Fixed
/// on purpose: not a setting.
inline constexpr std::int64_t kReauthWindowUs = 5LL * 60 * 1000 * 1000;
/// NE-5: API requests per session, a token bucket (rate per second, depth), checked before any
/// handler in addition to the HTTP server's per-source bucket: a session used from several
/// addresses (or behind a NAT shared with others) is still held to one client's share, which
/// also bounds what one logged-in client can cost the data plane. Beyond: 429
/// too_many_requests with Retry-After, counted (GET /api/v1/system/dos). These are the defaults;
/// https.dos.requests_per_second_per_session and request_burst_per_session set them, live.
inline constexpr double kSessionRequestsPerSecond = 50;
inline constexpr double kSessionRequestBurst = 100;
static_assert(config::DosSettings{}.requests_per_second_per_session == kSessionRequestsPerSecond &&
              config::DosSettings{}.request_burst_per_session == kSessionRequestBurst);
/// WS-3: the `__Host-` prefix makes the browser refuse it without Secure, with a Domain, or with a
/// Path other than "/".
inline constexpr std::string_view kCookieName = "__Host-sg_session";

struct SessionView {
    std::string public_id;  // random, shown to administrators; not the cookie
    std::string account;
    std::string group;
    std::string source;  // peer address at login
    std::int64_t created_us = 0;
    std::int64_t last_used_us = 0;
    std::int64_t reauth_us = 0;  // AZ-3: last proof of the password (login sets it)
    bool must_change_password = false;
    std::string csrf_token;
    // Issue 13: bumped by revoke_monitors(); a monitor opened under an older epoch ends.
    std::uint64_t monitor_epoch = 0;
    std::string monitor_revoked_why;  // the last revocation's reason
};

/// Why an open monitor WebSocket must end (issue 13), from Sessions::keep_monitor().
struct MonitorEnd {
    bool revoked = false;  // the session goes on but lost the right to this monitor
    std::string why;       // "session ended: logged out", "account locked", ...
};

class Sessions {
public:
    explicit Sessions(std::function<std::int64_t()> now_utc_us = core::now_utc_us);

    struct Created {
        std::string cookie_value;  // the secret: goes out once in Set-Cookie, never logged
        SessionView view;
        std::optional<SessionView> ended;  // the session `may_end` let this login end (WS-7)
    };
    /// Which live sessions a login may end to get a place when the device-wide cap is full.
    using MayEnd = std::function<bool(const SessionView&)>;
    /// "too_many_sessions" when the per-account cap is reached, or the device-wide cap (WS-7) and
    /// no live session satisfies `may_end`. Otherwise, at the device-wide cap, the oldest session
    /// that satisfies `may_end` ends first and is returned in Created::ended (issue 14 item 10:
    /// an administrator's login ends the oldest non-administrator session; the caller logs it).
    std::variant<Created, std::string> create(std::string_view account, std::string_view group,
                                              std::string_view source, bool must_change_password,
                                              const config::LoginSettings& settings,
                                              const MayEnd& may_end = {});
    /// The live session for a cookie value, its idle clock restarted; nullopt when unknown,
    /// idle longer than session_timeout_min, or older than kSessionAbsoluteUs.
    std::optional<SessionView> touch(std::string_view cookie_value,
                                     const config::LoginSettings& settings);
    /// The ending functions take `why`, kept for a while (the last kEndedKept) as the close
    /// reason of the session's open monitors (issue 13): "logged out", "account disabled", ...
    bool end_by_cookie(std::string_view cookie_value, std::string_view why = "ended");
    /// Issue 13: may a monitor WebSocket of session `public_id`, opened when the session's
    /// monitor_epoch was `epoch`, go on? nullopt: yes, and the session's idle clock restarts (a
    /// user watching a port's live traffic is active; the absolute kSessionAbsoluteUs still
    /// ends it). Otherwise why not: the session ended (logout, expiry, an administrator, ...) or
    /// revoke_monitors() took the right since `epoch`.
    std::optional<MonitorEnd> keep_monitor(std::string_view public_id, std::uint64_t epoch,
                                           const config::LoginSettings& settings);
    /// Issue 13: the open monitors of every session for which `pred` is true end (at their next
    /// keep_monitor(), within half a second) with `why`; the sessions go on, and a new monitor
    /// passes the privilege checks of its own request. Returns how many sessions it marked.
    std::size_t revoke_monitors(const std::function<bool(const SessionView&)>& pred,
                                std::string_view why);
    std::optional<SessionView> end(std::string_view public_id, std::string_view why = "ended");
    /// Ends every session of `account` except `keep_public_id` (PW-6, AZ-4); returns how many.
    std::size_t end_account(std::string_view account, std::string_view keep_public_id = {},
                            std::string_view why = "ended");
    /// Ends every session for which `end` is true (NE-4: its login source is no longer allowed);
    /// returns them (the caller logs each).
    std::vector<SessionView> end_if(const std::function<bool(const SessionView&)>& end,
                                    std::string_view why = "ended");
    void set_must_change(std::string_view public_id, bool value);
    /// AZ-3: the session's owner has just proved the password again; restarts the reauth window.
    void set_reauthenticated(std::string_view public_id);
    /// AZ-3: whether `s` proved the password within kReauthWindowUs (at the injected clock's now).
    bool recently_authenticated(const SessionView& s) const;
    /// NE-5: one API request of the session `public_id` (just found by touch()): takes a token of
    /// its bucket (dos.requests_per_second_per_session, burst dos.request_burst_per_session;
    /// time from the injected clock). A bucket made under other values is made anew, full: a
    /// change of them applies from the session's next request. nullopt = allowed; otherwise how
    /// long until a token is back (whole seconds, at least 1), for Retry-After.
    std::optional<std::chrono::seconds> take_request_token(std::string_view public_id,
                                                           const config::DosSettings& dos = {});
    /// Live sessions, oldest first.
    std::vector<SessionView> list(const config::LoginSettings& settings);
    /// Removes expired sessions and returns them (the caller logs "session expired", AU-2).
    std::vector<SessionView> purge(const config::LoginSettings& settings);

private:
    bool expired(const SessionView& s, const config::LoginSettings& settings,
                 std::int64_t now) const;
    std::vector<SessionView> purge_locked(const config::LoginSettings& settings, std::int64_t now);
    void ended_locked(const SessionView& s, std::string_view why);

    std::function<std::int64_t()> now_;
    std::int64_t origin_us_;  // buckets count seconds from here: small numbers, exact refills
    std::mutex mu_;
    std::map<std::string, SessionView, std::less<>> by_hash_;  // hex SHA-256(cookie) -> session
    // public_id -> request bucket (NE-5), made at a session's first request; a bucket whose
    // session is gone is dropped by the next purge, so this never outgrows the session caps much.
    struct Bucket {
        std::uint32_t rate;  // the settings it was made under
        std::uint32_t burst;
        http::TokenBucket bucket;
    };
    std::map<std::string, Bucket, std::less<>> buckets_;
    // Issue 13: public_id -> why, of the last kEndedKept sessions ended (not expired: that a
    // monitor finds by itself); a monitor checks twice a second, so a few suffice.
    static constexpr std::size_t kEndedKept = 32;
    std::deque<std::pair<std::string, std::string>> ended_;
};

/// Constant-time comparison for tokens (ST-4).
bool tokens_equal(std::string_view a, std::string_view b);
/// 32 random bytes, base64url without padding (43 characters).
std::string random_token();

}  // namespace sg::web::api
