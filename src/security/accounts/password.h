// password.h: account-name and password rules (device ref. §7, PW-2..PW-4), NFKC normalisation
// (PW-2), the blocklist (PW-3, with cracklib) and Argon2id hashing (ST-1). Thread-safe; hashing
// costs ~0.2 s of CPU and 64 MiB and the blocklist reads the cracklib dictionary: keep them off the
// data plane (STYLE.md §3.10). No function returns, logs or puts a password into an error message.
#pragma once

#include <chrono>
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

/// PW-2: `password` in Unicode Normalization Form KC (libunistring's u8_normalize), so that the
/// composed and decomposed spellings of a letter (U+00E9 or "e" + U+0301) and the full-width and
/// ASCII forms are one password. check_password, hash_password and verify_password all go through
/// it. ASCII text is returned byte for byte (NFKC leaves it unchanged), so hashes made before
/// normalisation existed still verify. Errc::refused when `password` is not valid UTF-8.
core::Result<Secret> normalize_password(const Secret& password);

/// PW-3: the cracklib dictionary that check_password uses: GetDefaultCracklibDict(), on Debian
/// /var/cache/cracklib/cracklib_dict (.pwd/.pwi/.hwm, built by cracklib-runtime).
std::string default_blocklist_dictionary();

/// true when the files of cracklib's `dictionary` can be read. When they cannot (cracklib-runtime
/// removed, dictionary not built), check_password skips cracklib and every built-in rule still
/// applies: a device without the dictionary accepts more passwords, it never refuses them all.
/// Cheap (two access() calls); the app logs the answer at start-up so the gap is visible.
bool blocklist_dictionary_available(const std::string& dictionary = default_blocklist_dictionary());

/// Every rule in force, on the NFKC form of `password` (PW-2), in this order; Errc::refused with a
/// message naming the first rule that failed (never the password, the account or the hostname):
///  1. valid UTF-8 without control characters;
///  2. config::kMaxPasswordLength >= length >= policy.min_length, in code points after NFKC;
///  3. PW-3 blocklist, built-in: let core(s) be s without the ASCII digits, punctuation and spaces
///     at either end, ASCII letters lower-cased. Refused when the password equals the account name
///     in any case, or core(password) is non-empty and equals core(w) for w = the account name, a
///     product name (serialgate, moxa, nport), a few of the commonest passwords (so `Password1`
///     is refused even without the dictionary), the hostname or its first label (gethostname(),
///     read at each call). So `Moxa2024!` and `admin123` (account admin) are refused;
///  4. PW-3 runs and sequences, judged on the whole password with ASCII letters lower-cased: all
///     code points equal (`aaaaaaaa`), or each code point one above the previous (`abcdefgh`,
///     `12345678`) or each one below (`87654321`), where `0` counts as following `9` (the digit
///     row of a keyboard: `1234567890`, `0987654321`);
///  5. PW-3 cracklib (FascistCheckUser with the account as user, serialised by a mutex: cracklib
///     is not documented thread-safe) when the dictionary is available: dictionary words and
///     their manglings, reversed words, too few different characters, too systematic;
///  6. PW-4 strength classes when policy.strength_check is on.
core::Status check_password(const Secret& password, std::string_view account,
                            const config::PasswordPolicy& policy);
/// The same with the cracklib dictionary at `dictionary` (path without the .pwd/.pwi suffix)
/// instead of the default: for tests of a missing or different dictionary.
core::Status check_password(const Secret& password, std::string_view account,
                            const config::PasswordPolicy& policy, const std::string& dictionary);

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

/// NE-5: Argon2id runs allowed at once in this process: by default min(2, cores − 1), at least
/// 1; set_argon2_parallelism() changes it.
std::size_t argon2_parallelism();
/// https.dos.argon2_parallel: `n` runs at once (0 = the default above). Thread-safe, live: a larger
/// count frees waiters at once, a smaller one applies as runs end (none is cut short).
void set_argon2_parallelism(std::size_t n);

/// NE-5: how long a request may wait for an Argon2id slot before it is answered 503 overloaded
/// (the default; the API takes https.dos.argon2_max_wait_ms).
inline constexpr std::chrono::seconds kArgon2MaxWait{2};
static_assert(config::DosSettings{}.argon2_max_wait_ms ==
              std::chrono::milliseconds(kArgon2MaxWait).count());

/// NE-5: the right to run Argon2id on this thread, waited for at most `wait`. While it is held,
/// hash_password and verify_password on this thread run in it instead of waiting for a slot of
/// their own, so a caller reserves once for everything one request does (a login may make the
/// dummy hash, verify and rehash). Without one they wait for a slot as long as it takes (the
/// CLI). Scoped to the thread that made it: neither copied nor moved. A thread that already holds
/// one gets another at once (nested).
class Argon2Slot {
public:
    explicit Argon2Slot(std::chrono::milliseconds wait);
    ~Argon2Slot();
    Argon2Slot(const Argon2Slot&) = delete;
    Argon2Slot& operator=(const Argon2Slot&) = delete;
    /// False when no slot came free within `wait`: the caller must not start the work (503).
    bool acquired() const { return acquired_; }

private:
    bool acquired_ = false;
};

/// Argon2id PHC string (libsodium crypto_pwhash_str_alg, 16-byte random salt, 32-byte tag) of the
/// NFKC form of `password`. Bytes that are not valid UTF-8 (never a password: check_password
/// refuses them) are hashed as they are: Accounts' dummy hash is made of random bytes (IA-5).
core::Result<std::string> hash_password(const Secret& password, const HashCost& cost = {});
/// true when the NFKC form of `password` matches `hash` (any Argon2 parameters libsodium
/// understands). Invalid UTF-8 is verified as it is, at the same cost (IA-5).
bool verify_password(std::string_view hash, const Secret& password);
/// true when `hash` was not made with exactly `cost` (ST-1: rehash at the next successful login).
bool needs_rehash(std::string_view hash, const HashCost& cost = {});

}  // namespace sg::security::accounts
