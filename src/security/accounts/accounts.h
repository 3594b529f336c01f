// accounts.h: account management of the management plane (guide §3, §3.4; issue 4 §5-§7):
// accounts, groups and privileges (AZ-1, AZ-2), passwords (PW-2..PW-6, ST-1) and login with
// persistent lockout and a per-source throttle (IA-5..IA-7). Also the offline first-administrator
// setup (`serialgate setup`).
//
// Who calls it: the HTTP API's handlers on their small thread pool, and the CLI. Every public
// method is thread-safe: the Store serialises SQLite, in-memory state sits under mu_. Methods that
// hash or verify a password block for one Argon2id run (~0.2 s); the rest are one short store
// transaction. Audit events are the caller's job. Nothing here returns or logs a password or a
// hash.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/settings.h"
#include "core/clock.h"
#include "core/result.h"
#include "security/accounts/groups.h"
#include "security/accounts/lockout.h"
#include "security/accounts/password.h"
#include "security/secret.h"
#include "store/store.h"

namespace sg::security::accounts {

struct Account {
    std::string name, group;
    bool active = true;
    bool must_change_password = false;  // PW-5: admin-set password / expired with force_change
    std::int64_t created_at_us = 0, password_changed_at_us = 0;  // UTC
};

/// A refusal. `code` is a stable API string (the HTTP layer maps it to a status): "not_found",
/// "exists", "invalid_name", "invalid_group", "weak_password" (message names the rule),
/// "same_password", "wrong_password", "last_admin", "builtin_group", "group_in_use", "escalation",
/// and "store_error" (SQLite failed; message says so without SQL: answer 500).
struct Refused {
    std::string code;
    std::string message;
};

class Accounts {
public:
    /// `cost` is ST-1's unless a test passes HashCostForTests (accounts/testing.h).
    explicit Accounts(store::Store& store,
                      std::function<std::int64_t()> now_utc_us = core::now_utc_us,
                      HashCost cost = {});

    core::Result<std::int64_t> count();
    /// Creates `name` in the Administrator group, atomically refused (Errc::refused) when any
    /// account exists — also when two processes race.
    core::Status create_first_admin(std::string_view name, const Secret& password,
                                    const config::PasswordPolicy& policy);

    // ---- accounts (PW-1, AZ-2). A store failure reads as empty / not found.
    std::vector<Account> list();
    std::optional<Account> get(std::string_view name);
    /// a.name, a.group, a.active and a.must_change_password are used; the times are set here.
    std::optional<Refused> create(const Account& a, const Secret& password,
                                  const config::PasswordPolicy& policy);
    /// Change group and/or active. Refuses "last_admin" when this would leave no active account in
    /// Administrator (checked in the same transaction as the change).
    std::optional<Refused> update(std::string_view name, std::optional<std::string> group,
                                  std::optional<bool> active);
    std::optional<Refused> remove(std::string_view name);  // "last_admin" guard
    /// PW-6: current password required and verified, new must pass policy and differ from current.
    /// Clears must_change_password.
    std::optional<Refused> change_own_password(std::string_view name, const Secret& current,
                                               const Secret& next,
                                               const config::PasswordPolicy& policy);
    /// PW-6 for a caller that has JUST VERIFIED `current` itself with login() (the API does, so a
    /// wrong one counts towards the lockout and the throttle), without verifying it again: one
    /// Argon2id run (the new hash) instead of two. Otherwise as change_own_password: the policy,
    /// "must differ from current", must_change_password cleared, and the same refusals except
    /// that `current` is not checked. `verified` is the account as that login() returned it
    /// (LoginResult::account on Ok); a password changed since then (password_changed_at moved) is
    /// refused "wrong_password", as change_own_password refuses a current password that no
    /// longer matches. Never pass a password nobody verified: this method takes it on trust.
    std::optional<Refused> change_own_password_verified(const Account& verified,
                                                        const Secret& current, const Secret& next,
                                                        const config::PasswordPolicy& policy);
    /// An administrator sets another's password: policy applies, must_change_password set (PW-5).
    std::optional<Refused> reset_password(std::string_view name, const Secret& next,
                                          const config::PasswordPolicy& policy);

    // ---- groups (AZ-1, AZ-2)
    std::vector<Group> groups();  // built-ins first, then by name
    std::optional<Group> group(std::string_view name);
    /// Custom groups only ("builtin_group" for Administrator/Operator in any letter case). Areas
    /// missing from g.privileges are stored Hidden. A custom group may not get Accounts=ReadWrite
    /// ("escalation", AZ-2).
    std::optional<Refused> save_group(const Group& g);           // create or replace
    std::optional<Refused> remove_group(std::string_view name);  // "group_in_use" when in use

    // ---- login (IA-5, IA-6, IA-7)
    struct LoginResult {
        enum class Outcome { Ok, Failed, Locked, Throttled } outcome = Outcome::Failed;
        std::optional<Account> account;  // set on Ok
        std::optional<Group> group;      // set on Ok
        std::int64_t retry_after_s = 0;  // Locked / Throttled (and Failed with just_locked)
        bool just_locked = false;       // Failed, and this failure locked the name (caller logs it)
        bool password_expired = false;  // lifetime passed; with force_change_at_expiry
                                        // account->must_change_password is true
        std::optional<int> expires_in_days;  // reminder: days left when <= 7
    };
    /// Verifies name/password with Argon2id. Unknown name, wrong password, disabled account and
    /// locked account all cost one Argon2id verification (a dummy hash of the same cost stands in
    /// for unknown names) and the same store write, so the caller can answer identically (IA-5).
    /// Unknown names are counted and locked like real ones, so Locked does not reveal that a name
    /// exists (at most kMaxUnknownNames of them are remembered). Lockout (IA-6) is persisted:
    /// login.retry_failure_threshold failures within lockout_duration_min minutes lock the name for
    /// lockout_duration_min minutes (when lockout_enabled); the locking failure itself answers
    /// Failed with just_locked, later attempts Locked; a success resets the count. A locked name's
    /// attempts neither count nor extend the lock. Per source (IA-7, in memory): see
    /// SourceThrottle; Throttled is answered WITHOUT Argon2id. `source_address` is the peer's IP
    /// address (no port). A hash with other than the configured cost is rehashed after a successful
    /// login (ST-1).
    LoginResult login(std::string_view name, const Secret& password,
                      std::string_view source_address, const config::LoginSettings& login,
                      const config::PasswordPolicy& policy);
    /// Admin unlock (logged by the caller): clears the lock and the failure count.
    std::optional<Refused> unlock(std::string_view name);
    /// Failure records kept for names that are not accounts (the oldest go first).
    static constexpr std::int64_t kMaxUnknownNames = 4096;
    struct LockState {
        bool locked;
        std::int64_t locked_until_us;  // 0 when not locked
        int failures;                  // in the current window (as of the last login call)
    };
    LockState lock_state(std::string_view name);

    /// Work counters (tests assert IA-5 with them; the API may expose them as metrics).
    struct Counters {
        std::uint64_t verifications = 0;  // Argon2id verify runs, dummy included
        std::uint64_t hashes = 0;         // Argon2id hash runs (new passwords, rehash, dummy)
        std::uint64_t throttled = 0;      // logins answered Throttled
        std::uint64_t rehashed = 0;       // stored hashes upgraded at login
    };
    Counters counters() const;

private:
    static Refused store_failed();
    /// Runs `fn` in one store transaction; a refusal from `fn` rolls it back and is returned.
    std::optional<Refused> write(const std::function<std::optional<Refused>(sqlite3*)>& fn);
    core::Result<std::string> hash(const Secret& password);
    bool verify(std::string_view hash, const Secret& password);
    const std::string& dummy_hash();
    void rehash_if_needed(std::string_view name, const std::string& old_hash,
                          const Secret& password);
    /// The tail of both own-password changes, `current` already verified: policy, "must differ",
    /// the new hash, and the write, made only if the stored hash is still `old_hash` and the
    /// password was last changed at `changed_at_us` (else "wrong_password": changed meanwhile).
    std::optional<Refused> replace_own_password(std::string_view name, const std::string& old_hash,
                                                std::int64_t changed_at_us, const Secret& current,
                                                const Secret& next,
                                                const config::PasswordPolicy& policy);

    store::Store& store_;
    std::function<std::int64_t()> now_;
    HashCost cost_;

    mutable std::mutex mu_;  // guards everything below
    SourceThrottle sources_;
    config::LoginSettings last_login_settings_;  // for lock_state(): the window's length
    Counters counters_;
    std::once_flag dummy_once_;
    std::string dummy_hash_;  // written once under dummy_once_
};

}  // namespace sg::security::accounts
