// accounts.cpp: the account half of Accounts: first-administrator setup, create / update / remove
// with the last-administrator guard (AZ-2), own password change (PW-6; also after the caller's own
// verification, with one Argon2id run) and administrator reset (PW-5). Called by the API's account
// handlers on their thread pool and by `serialgate setup`. Argon2id runs before a transaction,
// never inside one, so a slow hash never holds the store lock; a write that depends on what was
// read re-checks it inside its transaction.
#include "security/accounts/accounts.h"

#include <sodium.h>

namespace sg::security::accounts {

namespace {
constexpr const char* kAccountColumns =
    "SELECT name, group_name, active, must_change_password, created_at, password_changed_at "
    "FROM accounts";

Account account_from(const store::Statement& s) {
    return Account{.name = s.text(0),
                   .group = s.text(1),
                   .active = s.integer(2) != 0,
                   .must_change_password = s.integer(3) != 0,
                   .created_at_us = s.integer(4),
                   .password_changed_at_us = s.integer(5)};
}

// AZ-2 is checked after the change, inside its transaction: BEGIN IMMEDIATE serialises writers,
// so two concurrent demotions cannot both see "one admin left".
core::Result<std::int64_t> active_admins(sqlite3* db) {
    store::Statement s(db, "SELECT count(*) FROM accounts WHERE group_name = ? AND active = 1");
    s.bind(1, kAdministrator);
    if (!s.step()) return s.status().error();
    return s.integer(0);
}

/// The stored hash of an account's password, and when that password was set.
struct StoredPassword {
    std::string hash;
    std::int64_t changed_at_us = 0;
};

core::Result<std::optional<StoredPassword>> stored_password_of(store::Store& store,
                                                               std::string_view name) {
    return store.with([&](sqlite3* db) -> core::Result<std::optional<StoredPassword>> {
        store::Statement s(
            db, "SELECT password_hash, password_changed_at FROM accounts WHERE name = ?");
        s.bind(1, name);
        if (s.step()) return std::optional<StoredPassword>(StoredPassword{s.text(0), s.integer(1)});
        if (auto st = s.status(); !st) return st.error();
        return std::optional<StoredPassword>();
    });
}

// A new account starts unlocked even if its name was tried (and locked) while it did not exist;
// a removed one leaves nothing behind.
core::Status forget_failures(sqlite3* db, std::string_view name) {
    store::Statement d(db, "DELETE FROM login_failures WHERE account = ?");
    d.bind(1, name);
    d.step();
    return d.status();
}

Refused last_admin() {
    return {"last_admin",
            "the last active administrator cannot be deleted, disabled or moved to another group"};
}

/// PW-6 "must differ", on the NFKC forms (PW-2): a composed and a decomposed spelling are the same
/// password. Both were checked as valid UTF-8 before (verify, check_password).
bool same_secret(const Secret& a, const Secret& b) {
    auto na = normalize_password(a);
    auto nb = normalize_password(b);
    if (!na || !nb) return false;
    return na->size() == nb->size() &&
           sodium_memcmp(na->reveal().data(), nb->reveal().data(), na->size()) == 0;
}
}  // namespace

Accounts::Accounts(store::Store& store, std::function<std::int64_t()> now_utc_us, HashCost cost)
    : store_(store), now_(std::move(now_utc_us)), cost_(cost) {}

Refused Accounts::store_failed() {
    return {"store_error", "the account store could not be read or written"};
}

std::optional<Refused> Accounts::write(const std::function<std::optional<Refused>(sqlite3*)>& fn) {
    std::optional<Refused> refusal;
    auto st = store_.transaction([&](sqlite3* db) -> core::Status {
        refusal = fn(db);
        if (refusal) return core::make_error(core::Errc::refused, "rolled back");
        return {};
    });
    if (refusal) return refusal;
    if (!st) return store_failed();
    return std::nullopt;
}

core::Result<std::string> Accounts::hash(const Secret& password) {
    {
        std::lock_guard lock(mu_);
        ++counters_.hashes;
    }
    return hash_password(password, cost_);
}

bool Accounts::verify(std::string_view hash, const Secret& password) {
    {
        std::lock_guard lock(mu_);
        ++counters_.verifications;
    }
    return verify_password(hash, password);
}

Accounts::Counters Accounts::counters() const {
    std::lock_guard lock(mu_);
    return counters_;
}

core::Result<std::int64_t> Accounts::count() {
    return store_.with([](sqlite3* db) -> core::Result<std::int64_t> {
        store::Statement s(db, "SELECT count(*) FROM accounts");
        if (!s.step()) return s.status().error();
        return s.integer(0);
    });
}

core::Status Accounts::create_first_admin(std::string_view name, const Secret& password,
                                          const config::PasswordPolicy& policy) {
    if (auto st = check_account_name(name); !st) return st;
    if (auto st = check_password(password, name, policy); !st) return st;
    auto h = hash(password);  // before the transaction: it is slow
    if (!h) return h.error();
    return store_.transaction([&](sqlite3* db) -> core::Status {
        store::Statement c(db, "SELECT count(*) FROM accounts");
        if (!c.step()) return c.status();
        if (c.integer(0) != 0) {
            return core::make_error(
                core::Errc::refused,
                "an account already exists: the first administrator is set up only once");
        }
        const auto now = now_();
        store::Statement ins(db,
                             "INSERT INTO accounts (name, group_name, password_hash, active, "
                             "created_at, password_changed_at) VALUES (?, ?, ?, 1, ?, ?)");
        ins.bind(1, name).bind(2, kAdministrator).bind(3, *h).bind(4, now).bind(5, now);
        ins.step();
        if (auto st = ins.status(); !st) return st;
        return forget_failures(db, name);
    });
}

std::vector<Account> Accounts::list() {
    return store_.with([](sqlite3* db) {
        std::vector<Account> out;
        store::Statement s(db, std::string(kAccountColumns) + " ORDER BY name");
        while (s.step()) out.push_back(account_from(s));
        return out;
    });
}

std::optional<Account> Accounts::get(std::string_view name) {
    return store_.with([&](sqlite3* db) -> std::optional<Account> {
        store::Statement s(db, std::string(kAccountColumns) + " WHERE name = ?");
        s.bind(1, name);
        if (!s.step()) return std::nullopt;
        return account_from(s);
    });
}

std::optional<Refused> Accounts::create(const Account& a, const Secret& password,
                                        const config::PasswordPolicy& policy) {
    if (auto st = check_account_name(a.name); !st)
        return Refused{"invalid_name", st.error().message};
    if (!group(a.group)) return Refused{"invalid_group", "no such group"};
    if (get(a.name)) return Refused{"exists", "an account with this name exists"};  // cheap first
    if (auto st = check_password(password, a.name, policy); !st) {
        return Refused{"weak_password", st.error().message};
    }
    auto h = hash(password);
    if (!h) return store_failed();
    return write([&](sqlite3* db) -> std::optional<Refused> {
        store::Statement e(db, "SELECT 1 FROM accounts WHERE name = ?");
        e.bind(1, a.name);
        if (e.step()) return Refused{"exists", "an account with this name exists"};
        store::Statement g(db, "SELECT 1 FROM groups WHERE name = ?");
        g.bind(1, a.group);
        if (!g.step()) {
            if (!g.status()) return store_failed();
            return Refused{"invalid_group", "no such group"};  // removed meanwhile
        }
        const auto now = now_();
        store::Statement ins(db,
                             "INSERT INTO accounts (name, group_name, password_hash, active, "
                             "must_change_password, created_at, password_changed_at) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?)");
        ins.bind(1, a.name)
            .bind(2, a.group)
            .bind(3, *h)
            .bind(4, std::int64_t{a.active})
            .bind(5, std::int64_t{a.must_change_password})
            .bind(6, now)
            .bind(7, now);
        ins.step();
        if (!ins.status() || !forget_failures(db, a.name)) return store_failed();
        return std::nullopt;
    });
}

std::optional<Refused> Accounts::update(std::string_view name, std::optional<std::string> group,
                                        std::optional<bool> active) {
    return write([&](sqlite3* db) -> std::optional<Refused> {
        store::Statement e(db, "SELECT 1 FROM accounts WHERE name = ?");
        e.bind(1, name);
        if (!e.step()) {
            if (!e.status()) return store_failed();
            return Refused{"not_found", "no such account"};
        }
        if (group) {
            store::Statement g(db, "SELECT 1 FROM groups WHERE name = ?");
            g.bind(1, *group);
            if (!g.step()) {
                if (!g.status()) return store_failed();
                return Refused{"invalid_group", "no such group"};
            }
        }
        store::Statement u(db,
                           "UPDATE accounts SET group_name = coalesce(?, group_name), "
                           "active = coalesce(?, active) WHERE name = ?");
        if (group) {
            u.bind(1, *group);
        } else {
            u.bind_null(1);
        }
        if (active) {
            u.bind(2, std::int64_t{*active});
        } else {
            u.bind_null(2);
        }
        u.bind(3, name);
        u.step();
        if (!u.status()) return store_failed();
        auto admins = active_admins(db);
        if (!admins) return store_failed();
        if (*admins == 0) return last_admin();  // rolls the update back
        return std::nullopt;
    });
}

std::optional<Refused> Accounts::remove(std::string_view name) {
    return write([&](sqlite3* db) -> std::optional<Refused> {
        store::Statement d(db, "DELETE FROM accounts WHERE name = ?");
        d.bind(1, name);
        d.step();
        if (!d.status()) return store_failed();
        if (sqlite3_changes(db) == 0) return Refused{"not_found", "no such account"};
        if (!forget_failures(db, name)) return store_failed();
        auto admins = active_admins(db);
        if (!admins) return store_failed();
        if (*admins == 0) return last_admin();  // rolls the delete back
        return std::nullopt;
    });
}

std::optional<Refused> Accounts::change_own_password(std::string_view name, const Secret& current,
                                                     const Secret& next,
                                                     const config::PasswordPolicy& policy) {
    auto old = stored_password_of(store_, name);
    if (!old) return store_failed();
    if (!*old) return Refused{"not_found", "no such account"};
    if (!verify((*old)->hash, current)) {
        return Refused{"wrong_password", "the current password is not correct"};
    }
    return replace_own_password(name, (*old)->hash, (*old)->changed_at_us, current, next, policy);
}

std::optional<Refused> Accounts::change_own_password_verified(
    const Account& verified, const Secret& current, const Secret& next,
    const config::PasswordPolicy& policy) {
    auto old = stored_password_of(store_, verified.name);
    if (!old) return store_failed();
    if (!*old) return Refused{"not_found", "no such account"};
    // No verify(): the caller's login() did it. What it verified is this very password unless
    // the password was set anew since (a rehash at that login keeps password_changed_at).
    return replace_own_password(verified.name, (*old)->hash, verified.password_changed_at_us,
                                current, next, policy);
}

std::optional<Refused> Accounts::replace_own_password(std::string_view name,
                                                      const std::string& old_hash,
                                                      std::int64_t changed_at_us,
                                                      const Secret& current, const Secret& next,
                                                      const config::PasswordPolicy& policy) {
    if (auto st = check_password(next, name, policy); !st) {
        return Refused{"weak_password", st.error().message};
    }
    if (same_secret(current, next)) {  // PW-6; `current` was verified
        return Refused{"same_password", "the new password must differ from the current one"};
    }
    auto h = hash(next);
    if (!h) return store_failed();
    return write([&](sqlite3* db) -> std::optional<Refused> {
        // Only if nobody changed the password since `current` was verified (lost update).
        store::Statement u(db,
                           "UPDATE accounts SET password_hash = ?, must_change_password = 0, "
                           "password_changed_at = ? WHERE name = ? AND password_hash = ? AND "
                           "password_changed_at = ?");
        u.bind(1, *h).bind(2, now_()).bind(3, name).bind(4, old_hash).bind(5, changed_at_us);
        u.step();
        if (!u.status()) return store_failed();
        if (sqlite3_changes(db) == 0) {
            return Refused{"wrong_password", "the password was changed meanwhile"};
        }
        return std::nullopt;
    });
}

std::optional<Refused> Accounts::reset_password(std::string_view name, const Secret& next,
                                                const config::PasswordPolicy& policy) {
    if (!get(name)) return Refused{"not_found", "no such account"};
    if (auto st = check_password(next, name, policy); !st) {
        return Refused{"weak_password", st.error().message};
    }
    auto h = hash(next);
    if (!h) return store_failed();
    return write([&](sqlite3* db) -> std::optional<Refused> {
        store::Statement u(db,
                           "UPDATE accounts SET password_hash = ?, must_change_password = 1, "
                           "password_changed_at = ? WHERE name = ?");
        u.bind(1, *h).bind(2, now_()).bind(3, name);
        u.step();
        if (!u.status()) return store_failed();
        if (sqlite3_changes(db) == 0) return Refused{"not_found", "no such account"};
        return std::nullopt;
    });
}

}  // namespace sg::security::accounts
