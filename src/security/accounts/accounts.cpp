// accounts.cpp: password policy, Argon2id hashing, first-administrator creation. Called by the
// `setup` subcommand (and later the API); never on the data plane.
#include "security/accounts/accounts.h"

#include <sodium.h>

#include <algorithm>
#include <cctype>

#include "core/clock.h"

namespace sg::security::accounts {

namespace {
core::Error refused(std::string msg) {
    return core::make_error(core::Errc::refused, std::move(msg));
}
}  // namespace

core::Status check_account_name(std::string_view name) {
    if (name.empty() || name.size() > 32) {
        return core::make_error(core::Errc::invalid_config,
                                "account name must be 1 to 32 characters");
    }
    for (unsigned char c : name) {
        if (!std::isalnum(c) && c != '-' && c != '_' && c != '.' && c != '@') {
            return core::make_error(core::Errc::invalid_config,
                                    "account name may contain only letters, digits and -_.@");
        }
    }
    return {};
}

core::Status check_password(const Secret& password, std::string_view account,
                            const config::PasswordPolicy& policy) {
    const std::string_view pw = password.reveal();
    if (pw.size() < policy.min_length) {
        return refused("password must be at least " + std::to_string(policy.min_length) +
                       " characters");
    }
    if (pw.size() > config::kMaxPasswordLength) {
        return refused("password must be at most " + std::to_string(config::kMaxPasswordLength) +
                       " characters");
    }
    for (unsigned char c : pw) {
        if (c < 0x20 || c == 0x7f) return refused("password must not contain control characters");
    }
    if (pw == account) return refused("password must differ from the account name");
    if (policy.strength_check) {
        auto any = [&](auto pred) { return std::any_of(pw.begin(), pw.end(), pred); };
        if (policy.require_digit && !any([](unsigned char c) { return std::isdigit(c) != 0; })) {
            return refused("password must contain at least one digit");
        }
        if (policy.require_mixed_case &&
            !(any([](unsigned char c) { return std::isupper(c) != 0; }) &&
              any([](unsigned char c) { return std::islower(c) != 0; }))) {
            return refused("password must contain upper and lower case letters");
        }
        if (policy.require_special &&
            !any([](char c) { return kSpecialCharacters.find(c) != std::string_view::npos; })) {
            return refused("password must contain at least one of " +
                           std::string(kSpecialCharacters));
        }
    }
    return {};
}

core::Result<std::string> hash_password(const Secret& password) {
    if (sodium_init() < 0)
        return core::make_error(core::Errc::unsupported, "libsodium init failed");
    char out[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str_alg(out, password.reveal().data(), password.reveal().size(),
                              crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE,
                              crypto_pwhash_ALG_ARGON2ID13) != 0) {
        return core::make_error(core::Errc::unsupported, "password hashing ran out of memory");
    }
    return std::string(out);
}

bool verify_password(std::string_view hash, const Secret& password) {
    if (sodium_init() < 0) return false;
    std::string h(hash);
    return crypto_pwhash_str_verify(h.c_str(), password.reveal().data(),
                                    password.reveal().size()) == 0;
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
    auto hash = hash_password(password);  // before the transaction: it is slow
    if (!hash) return hash.error();
    return store_.transaction([&](sqlite3* db) -> core::Status {
        store::Statement c(db, "SELECT count(*) FROM accounts");
        if (!c.step()) return c.status();
        if (c.integer(0) != 0) {
            return refused(
                "an account already exists: the first administrator is set up only once");
        }
        const auto now = core::now_utc_us();
        store::Statement ins(db,
                             "INSERT INTO accounts (name, group_name, password_hash, active, "
                             "created_at, password_changed_at) VALUES (?, ?, ?, 1, ?, ?)");
        ins.bind(1, name).bind(2, kAdministrator).bind(3, *hash).bind(4, now).bind(5, now);
        ins.step();
        return ins.status();
    });
}

}  // namespace sg::security::accounts
