// password.h: account-name and password rules (device ref. §7, PW-2..PW-4) and Argon2id hashing
// (ST-1). Pure functions, thread-safe; hashing costs ~0.2 s of CPU and 64 MiB: keep it off the data
// plane (STYLE.md §3.10). No function returns, logs or puts a password into an error message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/settings.h"
#include "core/result.h"
#include "security/secret.h"

namespace sg::security::accounts {

/// Special characters of the strength check (device ref. §7).
inline constexpr std::string_view kSpecialCharacters = "~!@#$%^&*-_|;:,.<>[]{}()";

/// 1-32 characters of letters, digits and -_.@ (device ref. §7). Also the rule for group names.
core::Status check_account_name(std::string_view name);

/// Number of code points when `s` is valid UTF-8 (no overlong forms, no surrogates, nothing above
/// U+10FFFF); nullopt otherwise.
std::optional<std::size_t> utf8_length(std::string_view s);

/// Every rule of the policy in force, plus: valid UTF-8 without control characters, at most
/// config::kMaxPasswordLength code points, not equal to the account name in any letter case (PW-3,
/// partial). Lengths count code points (PW-2). Errc::refused; the message names the first rule that
/// failed (never the password).
core::Status check_password(const Secret& password, std::string_view account,
                            const config::PasswordPolicy& policy);

/// Argon2id cost. The default is ST-1's (v1.3, t=3, m=64 MiB, p=1: PHC prefix
/// `$argon2id$v=19$m=65536,t=3,p=1$`). The only way to a cheaper cost is `HashCostForTests`, which
/// is defined in accounts/testing.h and compiles only in test executables (SG_ACCOUNTS_TESTING):
/// production code cannot select it.
class HashCost {
public:
    HashCost() = default;
    std::uint64_t opslimit() const { return ops_; }
    std::size_t memlimit() const { return mem_; }

private:
    friend struct HashCostForTests;
    HashCost(std::uint64_t ops, std::size_t mem) : ops_(ops), mem_(mem) {}
    std::uint64_t ops_ = 3;
    std::size_t mem_ = std::size_t{64} << 20;
};

/// Argon2id PHC string (libsodium crypto_pwhash_str_alg, 16-byte random salt, 32-byte tag).
core::Result<std::string> hash_password(const Secret& password, const HashCost& cost = {});
/// true when `password` matches `hash` (any Argon2 parameters libsodium understands).
bool verify_password(std::string_view hash, const Secret& password);
/// true when `hash` was not made with exactly `cost` (ST-1: rehash at the next successful login).
bool needs_rehash(std::string_view hash, const HashCost& cost = {});

}  // namespace sg::security::accounts
