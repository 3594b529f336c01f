// sessions.cpp: the session table of the management plane (WS-1, WS-2, WS-7, AZ-4). Called from
// API handlers on the handler pool; one mutex guards the table, each call is short.
#include "web/api/sessions.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <iterator>

#include "core/assert.h"

namespace sg::web::api {

namespace {

std::string sha256_hex(std::string_view s) {
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(s.data()), s.size());
    char hex[crypto_hash_sha256_BYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    return std::string(hex, crypto_hash_sha256_BYTES * 2);
}

std::string random_hex(std::size_t bytes) {
    std::string raw(bytes, '\0');
    randombytes_buf(raw.data(), raw.size());
    std::string hex(bytes * 2 + 1, '\0');
    sodium_bin2hex(hex.data(), hex.size(), reinterpret_cast<const unsigned char*>(raw.data()),
                   raw.size());
    hex.resize(bytes * 2);
    return hex;
}

}  // namespace

bool tokens_equal(std::string_view a, std::string_view b) {
    if (a.size() != b.size() || a.empty()) return false;
    return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string random_token() {
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    std::string out(sodium_base64_ENCODED_LEN(sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                    '\0');
    sodium_bin2base64(out.data(), out.size(), raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    out.resize(std::strlen(out.c_str()));
    sodium_memzero(raw, sizeof raw);
    return out;
}

Sessions::Sessions(std::function<std::int64_t()> now_utc_us)
    : now_(std::move(now_utc_us)), origin_us_(now_()) {
    SG_ASSERT(sodium_init() >= 0);
}

bool Sessions::expired(const SessionView& s, const config::LoginSettings& settings,
                       std::int64_t now) const {
    const std::int64_t idle_us = std::int64_t{settings.session_timeout_min} * 60 * 1000 * 1000;
    return now - s.last_used_us >= idle_us || now - s.created_us >= kSessionAbsoluteUs;
}

std::vector<SessionView> Sessions::purge_locked(const config::LoginSettings& settings,
                                                std::int64_t now) {
    std::vector<SessionView> gone;
    for (auto it = by_hash_.begin(); it != by_hash_.end();) {
        if (expired(it->second, settings, now)) {
            gone.push_back(std::move(it->second));
            it = by_hash_.erase(it);
        } else {
            ++it;
        }
    }
    for (auto it = buckets_.begin(); it != buckets_.end();) {
        const bool live = std::any_of(by_hash_.begin(), by_hash_.end(), [&](const auto& kv) {
            return kv.second.public_id == it->first;
        });
        it = live ? std::next(it) : buckets_.erase(it);
    }
    return gone;
}

std::variant<Sessions::Created, std::string> Sessions::create(
    std::string_view account, std::string_view group, std::string_view source,
    bool must_change_password, const config::LoginSettings& settings, const MayEnd& may_end) {
    const std::int64_t now = now_();
    std::lock_guard lock(mu_);
    (void)purge_locked(settings, now);  // expired sessions do not count against the caps
    std::size_t mine = 0;
    for (const auto& [_, s] : by_hash_) mine += s.account == account ? 1 : 0;
    if (mine >= settings.max_sessions_per_account) return std::string("too_many_sessions");
    Created c;
    if (by_hash_.size() >= settings.max_web_sessions) {
        // WS-7 with issue 14 item 10: sessions of those who cannot manage accounts must not lock
        // out those who can. The oldest session `may_end` allows gives its place (min created_us:
        // the one held longest); without one, the login is refused as before.
        auto oldest = by_hash_.end();
        for (auto it = by_hash_.begin(); it != by_hash_.end(); ++it) {
            if (may_end && may_end(it->second) &&
                (oldest == by_hash_.end() || it->second.created_us < oldest->second.created_us)) {
                oldest = it;
            }
        }
        if (oldest == by_hash_.end()) return std::string("too_many_sessions");
        buckets_.erase(oldest->second.public_id);
        ended_locked(oldest->second, "all web sessions were in use at an administrator's login");
        c.ended = std::move(oldest->second);
        by_hash_.erase(oldest);
    }
    c.cookie_value = random_token();  // WS-1: a fresh id at every login (no fixation)
    c.view = SessionView{.public_id = random_hex(8),
                         .account = std::string(account),
                         .group = std::string(group),
                         .source = std::string(source),
                         .created_us = now,
                         .last_used_us = now,
                         .reauth_us = now,  // a login is a fresh authentication (AZ-3)
                         .must_change_password = must_change_password,
                         .csrf_token = random_token()};
    by_hash_.emplace(sha256_hex(c.cookie_value), c.view);
    return c;
}

std::optional<SessionView> Sessions::touch(std::string_view cookie_value,
                                           const config::LoginSettings& settings) {
    if (cookie_value.empty() || cookie_value.size() > 128) return std::nullopt;
    const std::int64_t now = now_();
    const std::string key = sha256_hex(cookie_value);
    std::lock_guard lock(mu_);
    auto it = by_hash_.find(key);
    if (it == by_hash_.end()) return std::nullopt;
    if (expired(it->second, settings, now)) return std::nullopt;  // purge() reports it
    it->second.last_used_us = now;
    return it->second;
}

void Sessions::ended_locked(const SessionView& s, std::string_view why) {
    if (ended_.size() >= kEndedKept) ended_.pop_front();
    ended_.emplace_back(s.public_id, std::string(why));
}

bool Sessions::end_by_cookie(std::string_view cookie_value, std::string_view why) {
    const std::string key = sha256_hex(cookie_value);
    std::lock_guard lock(mu_);
    auto it = by_hash_.find(key);
    if (it == by_hash_.end()) return false;
    ended_locked(it->second, why);
    by_hash_.erase(it);
    return true;
}

std::optional<MonitorEnd> Sessions::keep_monitor(std::string_view public_id, std::uint64_t epoch,
                                                 const config::LoginSettings& settings) {
    const std::int64_t now = now_();
    std::lock_guard lock(mu_);
    for (auto& [key, s] : by_hash_) {
        if (s.public_id != public_id) continue;
        if (now - s.created_us >= kSessionAbsoluteUs) {
            return MonitorEnd{.revoked = false, .why = "session ended: its 8 h limit"};
        }
        if (expired(s, settings, now))
            return MonitorEnd{.revoked = false, .why = "session expired"};
        if (s.monitor_epoch != epoch)
            return MonitorEnd{.revoked = true, .why = s.monitor_revoked_why};
        s.last_used_us = now;
        return std::nullopt;
    }
    // The latest record of it (a public id is random: one record at most, in practice).
    const auto it = std::find_if(ended_.rbegin(), ended_.rend(),
                                 [&](const auto& e) { return e.first == public_id; });
    if (it != ended_.rend()) {
        return MonitorEnd{.revoked = false, .why = "session ended: " + it->second};
    }
    return MonitorEnd{.revoked = false, .why = "session ended"};
}

std::size_t Sessions::revoke_monitors(const std::function<bool(const SessionView&)>& pred,
                                      std::string_view why) {
    std::lock_guard lock(mu_);
    std::size_t n = 0;
    for (auto& [_, s] : by_hash_) {
        if (!pred(s)) continue;
        ++s.monitor_epoch;
        s.monitor_revoked_why = why;
        ++n;
    }
    return n;
}

std::optional<SessionView> Sessions::end(std::string_view public_id, std::string_view why) {
    std::lock_guard lock(mu_);
    for (auto it = by_hash_.begin(); it != by_hash_.end(); ++it) {
        if (it->second.public_id == public_id) {
            ended_locked(it->second, why);
            SessionView v = std::move(it->second);
            by_hash_.erase(it);
            return v;
        }
    }
    return std::nullopt;
}

std::size_t Sessions::end_account(std::string_view account, std::string_view keep_public_id,
                                  std::string_view why) {
    std::lock_guard lock(mu_);
    std::size_t n = 0;
    for (auto it = by_hash_.begin(); it != by_hash_.end();) {
        if (it->second.account == account && it->second.public_id != keep_public_id) {
            ended_locked(it->second, why);
            it = by_hash_.erase(it);
            ++n;
        } else {
            ++it;
        }
    }
    return n;
}

std::vector<SessionView> Sessions::end_if(const std::function<bool(const SessionView&)>& end,
                                          std::string_view why) {
    std::lock_guard lock(mu_);
    std::vector<SessionView> ended;
    for (auto it = by_hash_.begin(); it != by_hash_.end();) {
        if (end(it->second)) {
            ended_locked(it->second, why);
            ended.push_back(it->second);
            it = by_hash_.erase(it);
        } else {
            ++it;
        }
    }
    return ended;
}

void Sessions::set_must_change(std::string_view public_id, bool value) {
    std::lock_guard lock(mu_);
    for (auto& [_, s] : by_hash_) {
        if (s.public_id == public_id) s.must_change_password = value;
    }
}

void Sessions::set_reauthenticated(std::string_view public_id) {
    const std::int64_t now = now_();
    std::lock_guard lock(mu_);
    for (auto& [_, s] : by_hash_) {
        if (s.public_id == public_id) s.reauth_us = now;
    }
}

std::optional<std::chrono::seconds> Sessions::take_request_token(std::string_view public_id,
                                                                 const config::DosSettings& dos) {
    const double now_s = static_cast<double>(now_() - origin_us_) / 1e6;
    const std::uint32_t rate = dos.requests_per_second_per_session;
    const std::uint32_t burst = dos.request_burst_per_session;
    std::lock_guard lock(mu_);
    auto it = buckets_.find(public_id);
    if (it != buckets_.end() && (it->second.rate != rate || it->second.burst != burst)) {
        buckets_.erase(it);  // the settings changed (PUT /api/v1/https): the new bucket applies
        it = buckets_.end();
    }
    if (it == buckets_.end()) {
        it = buckets_
                 .emplace(std::string(public_id),
                          Bucket{rate, burst, http::TokenBucket(rate, burst, now_s)})
                 .first;
    }
    return it->second.bucket.take(now_s);
}

bool Sessions::recently_authenticated(const SessionView& s) const {
    return now_() - s.reauth_us <= kReauthWindowUs;
}

std::vector<SessionView> Sessions::list(const config::LoginSettings& settings) {
    const std::int64_t now = now_();
    std::lock_guard lock(mu_);
    std::vector<SessionView> out;
    for (const auto& [_, s] : by_hash_) {
        if (!expired(s, settings, now)) out.push_back(s);
    }
    std::sort(out.begin(), out.end(), [](const SessionView& a, const SessionView& b) {
        return a.created_us < b.created_us;
    });
    return out;
}

std::vector<SessionView> Sessions::purge(const config::LoginSettings& settings) {
    const std::int64_t now = now_();
    std::lock_guard lock(mu_);
    return purge_locked(settings, now);
}

}  // namespace sg::web::api
