// accounts.h: accounts and passwords (guide §3, §3.4). This foundation holds what the offline
// first-account setup needs: the password policy check, Argon2id hashing (libsodium), and the
// atomic "create the first administrator only while no account exists". The management plane
// (issue 4) grows it into full account management.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "config/settings.h"
#include "core/result.h"
#include "security/secret.h"
#include "store/store.h"

namespace sg::security::accounts {

inline constexpr std::string_view kAdministrator = "Administrator";
inline constexpr std::string_view kOperator = "Operator";
/// Special characters of the strength check (device ref. §7).
inline constexpr std::string_view kSpecialCharacters = "~!@#$%^&*-_|;:,.<>[]{}()";

/// 1-32 characters of letters, digits and -_.@ (device ref. §7).
core::Status check_account_name(std::string_view name);

/// Every rule of the policy in force, plus: not longer than config::kMaxPasswordLength, not equal
/// to the account name. The error message names the first rule that failed (never the password).
core::Status check_password(const Secret& password, std::string_view account,
                            const config::PasswordPolicy& policy);

/// Argon2id (libsodium crypto_pwhash_str, interactive limits). Costs ~0.1 s of CPU: keep it off the
/// data plane (STYLE.md §3.10).
core::Result<std::string> hash_password(const Secret& password);
bool verify_password(std::string_view hash, const Secret& password);

class Accounts {
public:
    explicit Accounts(store::Store& store) : store_(store) {}

    core::Result<std::int64_t> count();
    /// Creates `name` in the Administrator group, atomically refused (Errc::refused) when any
    /// account exists — also when two processes race.
    core::Status create_first_admin(std::string_view name, const Secret& password,
                                    const config::PasswordPolicy& policy);

private:
    store::Store& store_;
};

}  // namespace sg::security::accounts
