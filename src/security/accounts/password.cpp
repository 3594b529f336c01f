// password.cpp: account-name and password rules (device ref. §7, PW-2..PW-4) and Argon2id through
// libsodium (ST-1). Called by Accounts (API handler threads, CLI setup); pure and thread-safe.
// libsodium's sodium_init() is idempotent and thread-safe, so every entry point calls it.
#include "security/accounts/password.h"

#include <sodium.h>

#include <algorithm>
#include <cctype>
#include <semaphore>
#include <thread>

namespace sg::security::accounts {

namespace {
core::Error refused(std::string msg) {
    return core::make_error(core::Errc::refused, std::move(msg));
}

bool is_ascii_letter_or_digit(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

unsigned char ascii_lower(unsigned char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<unsigned char>(c - 'A' + 'a') : c;
}

bool equal_ignoring_ascii_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return ascii_lower(static_cast<unsigned char>(x)) ==
                      ascii_lower(static_cast<unsigned char>(y));
           });
}

// C0 controls, DEL and C1 controls (U+0080..U+009F, encoded C2 80..C2 9F): invisible, and some
// terminals and log viewers act on them. Called on valid UTF-8 only.
bool has_control_character(std::string_view s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == 0x7f) return true;
        if (c == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) <= 0x9f) {
            return true;
        }
    }
    return false;
}

bool init_sodium() {
    return sodium_init() >= 0;
}
}  // namespace

core::Status check_account_name(std::string_view name) {
    if (name.empty() || name.size() > 32) {
        return core::make_error(core::Errc::invalid_config,
                                "account name must be 1 to 32 characters");
    }
    for (unsigned char c : name) {
        if (!is_ascii_letter_or_digit(c) && c != '-' && c != '_' && c != '.' && c != '@') {
            return core::make_error(core::Errc::invalid_config,
                                    "account name may contain only letters, digits and -_.@");
        }
    }
    return {};
}

std::optional<std::size_t> utf8_length(std::string_view s) {
    std::size_t count = 0;
    std::size_t i = 0;
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    while (i < s.size()) {
        const unsigned char c = byte(i);
        std::size_t extra = 0;
        unsigned char lo = 0x80;  // allowed range of the first continuation byte: excludes
        unsigned char hi = 0xbf;  // overlong forms, surrogates and code points above U+10FFFF
        if (c < 0x80) {
            extra = 0;
        } else if (c >= 0xc2 && c <= 0xdf) {
            extra = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            extra = 2;
            if (c == 0xe0) lo = 0xa0;
            if (c == 0xed) hi = 0x9f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            extra = 3;
            if (c == 0xf0) lo = 0x90;
            if (c == 0xf4) hi = 0x8f;
        } else {
            return std::nullopt;  // continuation byte first, C0/C1 overlong lead, or F5..FF
        }
        if (s.size() - i - 1 < extra) return std::nullopt;
        for (std::size_t k = 1; k <= extra; ++k) {
            const unsigned char b = byte(i + k);
            if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xbf)) return std::nullopt;
        }
        i += extra + 1;
        ++count;
    }
    return count;
}

core::Status check_password(const Secret& password, std::string_view account,
                            const config::PasswordPolicy& policy) {
    const std::string_view pw = password.reveal();
    const auto length = utf8_length(pw);
    if (!length) return refused("password must be valid UTF-8 text");
    if (has_control_character(pw)) return refused("password must not contain control characters");
    if (*length < policy.min_length) {  // PW-2: code points, not bytes
        return refused("password must be at least " + std::to_string(policy.min_length) +
                       " characters");
    }
    if (*length > config::kMaxPasswordLength) {
        return refused("password must be at most " + std::to_string(config::kMaxPasswordLength) +
                       " characters");
    }
    if (equal_ignoring_ascii_case(pw, account)) {  // PW-3 (the rest of the blocklist: not yet)
        return refused("password must differ from the account name");
    }
    if (policy.strength_check) {  // PW-4: ASCII classes, as on the device
        auto any = [&](auto pred) {
            return std::any_of(pw.begin(), pw.end(),
                               [&](char c) { return pred(static_cast<unsigned char>(c)); });
        };
        if (policy.require_digit && !any([](unsigned char c) { return c >= '0' && c <= '9'; })) {
            return refused("password must contain at least one digit");
        }
        if (policy.require_mixed_case &&
            !(any([](unsigned char c) { return c >= 'A' && c <= 'Z'; }) &&
              any([](unsigned char c) { return c >= 'a' && c <= 'z'; }))) {
            return refused("password must contain upper and lower case letters");
        }
        if (policy.require_special && !any([](unsigned char c) {
                return kSpecialCharacters.find(static_cast<char>(c)) != std::string_view::npos;
            })) {
            return refused("password must contain at least one of " +
                           std::string(kSpecialCharacters));
        }
    }
    return {};
}

namespace {

/// At most (cores - 1) Argon2id runs at once, at least one: a login flood can take every core
/// but one, never the one the serial data plane needs (issue 4 benchmark: echo p99 under a brute
/// force). Each run also holds 64 MiB (ST-1), so this bounds memory too.
std::counting_semaphore<64>& argon2_slots() {
    static std::counting_semaphore<64> slots(static_cast<std::ptrdiff_t>(
        std::clamp<unsigned>(std::thread::hardware_concurrency(), 2, 65) - 1));
    return slots;
}

struct Argon2Slot {
    Argon2Slot() { argon2_slots().acquire(); }
    ~Argon2Slot() { argon2_slots().release(); }
    Argon2Slot(const Argon2Slot&) = delete;
    Argon2Slot& operator=(const Argon2Slot&) = delete;
};

}  // namespace

core::Result<std::string> hash_password(const Secret& password, const HashCost& cost) {
    if (!init_sodium()) return core::make_error(core::Errc::unsupported, "libsodium init failed");
    const Argon2Slot slot;
    char out[crypto_pwhash_STRBYTES];
    const std::string_view pw = password.reveal();
    if (crypto_pwhash_str_alg(out, pw.data(), pw.size(), cost.opslimit(), cost.memlimit(),
                              crypto_pwhash_ALG_ARGON2ID13) != 0) {
        return core::make_error(core::Errc::unsupported, "password hashing ran out of memory");
    }
    return std::string(out);
}

bool verify_password(std::string_view hash, const Secret& password) {
    if (!init_sodium()) return false;
    const std::string h(hash);  // libsodium wants a NUL-terminated string
    const std::string_view pw = password.reveal();
    const Argon2Slot slot;
    return crypto_pwhash_str_verify(h.c_str(), pw.data(), pw.size()) == 0;
}

bool needs_rehash(std::string_view hash, const HashCost& cost) {
    if (!init_sodium()) return false;
    const std::string h(hash);
    // 1: other parameters; -1: not an Argon2id string (e.g. an older argon2i hash): both rehash.
    // The generic crypto_pwhash_str_needs_rehash would keep an argon2i hash of the same cost.
    return crypto_pwhash_argon2id_str_needs_rehash(h.c_str(), cost.opslimit(), cost.memlimit()) !=
           0;
}

}  // namespace sg::security::accounts
