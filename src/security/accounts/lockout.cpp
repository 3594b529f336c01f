// lockout.cpp: login (IA-5, IA-6, IA-7): the lockout arithmetic, the per-source throttle, and
// Accounts::login / unlock / lock_state. Called by the API's login handler on its thread pool; a
// login blocks for one Argon2id verification (~0.2 s) unless the source is throttled, which costs
// nothing: that is what keeps a brute force from eating the CPU (issue 4 §7, benchmark target).
//
// Equal answers (IA-5): every non-throttled attempt verifies exactly one hash (a dummy one of the
// same cost for unknown names) and every failure, known name or not, writes one row of
// login_failures in one transaction, so content and timing do not tell which names exist.
#include "security/accounts/lockout.h"

#include <sodium.h>

#include <algorithm>

#include "security/accounts/accounts.h"

namespace sg::security::accounts {

namespace {
constexpr std::int64_t kUsPerSecond = 1'000'000;
constexpr std::int64_t kUsPerDay = 86'400 * kUsPerSecond;

std::int64_t ceil_seconds(std::int64_t us) {
    return std::max<std::int64_t>(1, (us + kUsPerSecond - 1) / kUsPerSecond);
}

std::string_view key_of(std::string_view s, std::size_t max) {
    return s.substr(0, std::min(s.size(), max));
}

// Name keys of login_failures: valid account names are at most 32 bytes, so cutting at 64 only
// bounds what a stranger can make us store.
constexpr std::size_t kMaxNameKeyBytes = 64;

FailureRecord read_failures(sqlite3* db, std::string_view key, bool& ok) {
    FailureRecord r;
    store::Statement s(db,
                       "SELECT failures, window_start_us, locked_until_us FROM login_failures "
                       "WHERE account = ?");
    s.bind(1, key);
    if (s.step()) {
        r.failures = static_cast<int>(s.integer(0));
        r.window_start_us = s.integer(1);
        r.locked_until_us = s.integer(2);
    }
    ok = s.status().ok();
    return r;
}
}  // namespace

// ---------------------------------------------------------------- lockout arithmetic

std::int64_t lockout_duration_us(const config::LoginSettings& s) {
    return std::int64_t{std::max<int>(1, s.lockout_duration_min)} * 60 * kUsPerSecond;
}

bool is_locked(const FailureRecord& r, std::int64_t now_us) {
    return r.locked_until_us > now_us;
}

int current_failures(const FailureRecord& r, std::int64_t now_us, const config::LoginSettings& s) {
    if (r.failures == 0 || is_locked(r, now_us)) return r.failures;
    const bool window_over =
        now_us - r.window_start_us >= lockout_duration_us(s) || now_us < r.window_start_us;
    return window_over ? 0 : r.failures;
}

bool record_failure(FailureRecord& r, std::int64_t now_us, const config::LoginSettings& s) {
    if (is_locked(r, now_us)) return false;     // a locked name's attempts do not extend the lock
    if (current_failures(r, now_us, s) == 0) {  // a new window opens at this failure
        r.failures = 0;
        r.window_start_us = now_us;
        r.locked_until_us = 0;
    }
    ++r.failures;
    const int threshold = std::max<int>(1, s.retry_failure_threshold);
    if (s.lockout_enabled && r.failures >= threshold) {
        r.locked_until_us = now_us + lockout_duration_us(s);
        return true;
    }
    return false;
}

// ---------------------------------------------------------------- SourceThrottle

void SourceThrottle::expire(Entry& e, std::int64_t now_us) {
    while (!e.failures.empty() &&
           (now_us - e.failures.front() >= kWindowUs || now_us < e.failures.front())) {
        e.failures.pop_front();
    }
}

void SourceThrottle::make_room(std::int64_t now_us) {
    for (auto it = sources_.begin(); it != sources_.end();) {
        expire(it->second, now_us);
        it = it->second.failures.empty() && it->second.in_flight == 0 ? sources_.erase(it)
                                                                      : std::next(it);
    }
    while (sources_.size() >= kMaxSources) {  // all busy: forget the stalest idle one
        auto stalest = sources_.end();
        for (auto it = sources_.begin(); it != sources_.end(); ++it) {
            if (it->second.in_flight != 0) continue;
            if (stalest == sources_.end() ||
                it->second.failures.back() < stalest->second.failures.back()) {
                stalest = it;
            }
        }
        if (stalest == sources_.end()) return;  // cannot happen with 2 handler threads
        sources_.erase(stalest);
    }
}

std::int64_t SourceThrottle::admit(std::string_view source, std::int64_t now_us) {
    const auto key = key_of(source, kMaxKeyBytes);
    auto it = sources_.find(key);
    if (it == sources_.end()) {
        if (sources_.size() >= kMaxSources) make_room(now_us);
        it = sources_.emplace(std::string(key), Entry{}).first;
    }
    Entry& e = it->second;
    expire(e, now_us);
    const auto used = e.failures.size() + static_cast<std::size_t>(e.in_flight);
    if (used >= static_cast<std::size_t>(kMaxFailures)) {
        if (e.failures.size() < static_cast<std::size_t>(kMaxFailures)) return 1;  // in flight
        return ceil_seconds(e.failures.front() + kWindowUs - now_us);
    }
    ++e.in_flight;
    return 0;
}

void SourceThrottle::finish(std::string_view source, std::int64_t now_us, bool failed) {
    auto it = sources_.find(key_of(source, kMaxKeyBytes));
    if (it == sources_.end()) return;
    Entry& e = it->second;
    if (e.in_flight > 0) --e.in_flight;
    if (failed) {
        e.failures.push_back(now_us);
        while (e.failures.size() > static_cast<std::size_t>(kMaxFailures)) e.failures.pop_front();
    }
    expire(e, now_us);
    if (e.failures.empty() && e.in_flight == 0) sources_.erase(it);
}

// ---------------------------------------------------------------- Accounts: login

const std::string& Accounts::dummy_hash() {
    std::call_once(dummy_once_, [this] {
        // A hash of a random password that nobody knows, made with the same cost as real ones:
        // verifying against it takes as long as a real verification (IA-5).
        std::string random(32, '\0');
        randombytes_buf(random.data(), random.size());
        auto h = hash(Secret(std::move(random)));
        dummy_hash_ = h ? *h : std::string();
    });
    return dummy_hash_;
}

void Accounts::rehash_if_needed(std::string_view name, const std::string& old_hash,
                                const Secret& password) {
    if (!needs_rehash(old_hash, cost_)) return;
    auto h = hash(password);
    if (!h) return;  // keep the old hash: the login itself succeeded
    auto st = store_.transaction([&](sqlite3* db) -> core::Status {
        // Only if the password was not changed meanwhile.
        store::Statement u(
            db, "UPDATE accounts SET password_hash = ? WHERE name = ? AND password_hash = ?");
        u.bind(1, *h).bind(2, name).bind(3, old_hash);
        u.step();
        return u.status();
    });
    if (st) {
        std::lock_guard lock(mu_);
        ++counters_.rehashed;
    }
}

Accounts::LoginResult Accounts::login(std::string_view name, const Secret& password,
                                      std::string_view source_address,
                                      const config::LoginSettings& login,
                                      const config::PasswordPolicy& policy) {
    using Outcome = LoginResult::Outcome;
    LoginResult r;
    const std::int64_t now = now_();
    {
        std::lock_guard lock(mu_);
        last_login_settings_ = login;
        if (auto wait = sources_.admit(source_address, now); wait > 0) {  // IA-7: no Argon2id
            ++counters_.throttled;
            r.outcome = Outcome::Throttled;
            r.retry_after_s = wait;
            return r;
        }
    }
    const std::string& dummy = dummy_hash();
    const auto key = key_of(name, kMaxNameKeyBytes);

    // What we know of the name. A store failure reads as "unknown name": fail closed.
    struct Row {
        Account account;
        std::string hash;
    };
    std::optional<Row> row;
    FailureRecord before;
    store_.with([&](sqlite3* db) {
        store::Statement s(db,
                           "SELECT name, group_name, active, must_change_password, created_at, "
                           "password_changed_at, password_hash FROM accounts WHERE name = ?");
        s.bind(1, name);
        if (s.step()) {
            row = Row{Account{.name = s.text(0),
                              .group = s.text(1),
                              .active = s.integer(2) != 0,
                              .must_change_password = s.integer(3) != 0,
                              .created_at_us = s.integer(4),
                              .password_changed_at_us = s.integer(5)},
                      s.text(6)};
        }
        bool ok = true;
        before = read_failures(db, key, ok);
    });

    const bool password_ok = verify(row ? row->hash : dummy, password);  // always exactly one
    std::optional<Group> group;
    if (row && password_ok && row->account.active && !is_locked(before, now)) {
        group = this->group(row->account.group);  // missing group: fail closed below
    }

    if (group) {  // ---- success
        r.outcome = Outcome::Ok;
        if (before.failures != 0 || before.locked_until_us != 0) {
            (void)store_.transaction([&](sqlite3* db) -> core::Status {
                store::Statement d(db, "DELETE FROM login_failures WHERE account = ?");
                d.bind(1, key);
                d.step();
                return d.status();
            });
        }
        rehash_if_needed(name, row->hash, password);  // ST-1
        if (policy.lifetime_days > 0) {               // PW-5 / guide §3.4 reminder
            const std::int64_t expires_at = row->account.password_changed_at_us +
                                            std::int64_t{policy.lifetime_days} * kUsPerDay;
            if (now >= expires_at) {
                r.password_expired = true;
                if (policy.force_change_at_expiry) row->account.must_change_password = true;
            } else {
                const auto days_left = (expires_at - now + kUsPerDay - 1) / kUsPerDay;
                if (days_left <= 7) r.expires_in_days = static_cast<int>(days_left);
            }
        }
        r.account = std::move(row->account);
        r.group = std::move(group);
    } else if (is_locked(before, now)) {  // ---- locked: not counted, lock not extended
        r.outcome = Outcome::Locked;
        r.retry_after_s = ceil_seconds(before.locked_until_us - now);
    } else {  // ---- failure: unknown, wrong password, disabled: one row written, any name
        FailureRecord after;
        bool locked_meanwhile = false;
        const auto duration = lockout_duration_us(login);
        (void)store_.transaction([&](sqlite3* db) -> core::Status {
            bool ok = true;
            after = read_failures(db, key, ok);
            if (!ok) return core::make_error(core::Errc::store_error, "login_failures");
            if (is_locked(after, now)) {  // a concurrent attempt locked it
                locked_meanwhile = true;
                return {};
            }
            r.just_locked = record_failure(after, now, login);
            store::Statement u(
                db,
                "INSERT INTO login_failures (account, failures, window_start_us, "
                "locked_until_us) VALUES (?, ?, ?, ?) ON CONFLICT(account) DO "
                "UPDATE SET failures = excluded.failures, window_start_us = "
                "excluded.window_start_us, locked_until_us = excluded.locked_until_us");
            u.bind(1, key).bind(2, after.failures).bind(3, after.window_start_us);
            u.bind(4, after.locked_until_us);
            u.step();
            if (auto st = u.status(); !st) return st;
            // Bound the rows of names that are not accounts: finished ones go, then the oldest.
            store::Statement prune(
                db,
                "DELETE FROM login_failures WHERE account NOT IN (SELECT name FROM accounts) "
                "AND locked_until_us <= ? AND window_start_us <= ?");
            prune.bind(1, now).bind(2, now - duration);
            prune.step();
            store::Statement cap(db,
                                 "DELETE FROM login_failures WHERE account IN (SELECT account "
                                 "FROM login_failures WHERE account NOT IN (SELECT name FROM "
                                 "accounts) ORDER BY window_start_us DESC LIMIT -1 OFFSET ?)");
            cap.bind(1, kMaxUnknownNames);
            cap.step();
            if (auto st = prune.status(); !st) return st;
            return cap.status();
        });
        if (locked_meanwhile) {
            r.outcome = Outcome::Locked;
            r.retry_after_s = ceil_seconds(after.locked_until_us - now);
        } else {
            // The locking failure still answers like any failure (401); the next attempt gets 423.
            r.outcome = Outcome::Failed;
            if (r.just_locked) r.retry_after_s = ceil_seconds(after.locked_until_us - now);
        }
    }

    std::lock_guard lock(mu_);
    sources_.finish(source_address, now, r.outcome != Outcome::Ok);
    return r;
}

std::optional<Refused> Accounts::unlock(std::string_view name) {
    return write([&](sqlite3* db) -> std::optional<Refused> {
        store::Statement e(db, "SELECT 1 FROM accounts WHERE name = ?");
        e.bind(1, name);
        if (!e.step()) {
            if (!e.status()) return store_failed();
            return Refused{"not_found", "no such account"};
        }
        store::Statement d(db, "DELETE FROM login_failures WHERE account = ?");
        d.bind(1, name);
        d.step();
        if (!d.status()) return store_failed();
        return std::nullopt;
    });
}

Accounts::LockState Accounts::lock_state(std::string_view name) {
    const auto now = now_();
    const FailureRecord r = store_.with([&](sqlite3* db) {
        bool ok = true;
        return read_failures(db, key_of(name, kMaxNameKeyBytes), ok);
    });
    config::LoginSettings settings;
    {
        std::lock_guard lock(mu_);
        settings = last_login_settings_;
    }
    const bool locked = is_locked(r, now);
    return LockState{.locked = locked,
                     .locked_until_us = locked ? r.locked_until_us : 0,
                     .failures = current_failures(r, now, settings)};
}

}  // namespace sg::security::accounts
