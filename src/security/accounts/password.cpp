// password.cpp: account-name and password rules (device ref. §7, PW-2..PW-4), NFKC through
// libunistring (PW-2), the blocklist with Debian's libcrack2 (PW-3, docs/adr/0005) and Argon2id
// through libsodium (ST-1). Called by Accounts and the setup handler (API handler threads, CLI
// setup); thread-safe. libsodium's sodium_init() is idempotent and thread-safe, so every entry
// point calls it; cracklib is not documented thread-safe, so one mutex serialises it.
#include "security/accounts/password.h"

// clang-format off
#include <cstddef>  // first: crack.h uses size_t without including a header for it
#include <crack.h>
// clang-format on
#include <sodium.h>
#include <uninorm.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <climits>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
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

// ---------------------------------------------------------------- PW-2: NFKC

core::Result<Secret> normalize_password(const Secret& password) {
    const std::string_view pw = password.reveal();
    if (!utf8_length(pw)) return refused("password must be valid UTF-8 text");
    // ASCII is invariant under every normalisation form: no libunistring call, and the bytes that
    // were hashed before PW-2 existed are exactly the bytes hashed now.
    if (std::all_of(pw.begin(), pw.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
        return Secret(std::string(pw));
    }
    std::size_t n = 0;
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): UTF-8 bytes, C interface
    const auto* in = reinterpret_cast<const std::uint8_t*>(pw.data());
    std::uint8_t* out = u8_normalize(UNINORM_NFKC, in, pw.size(), nullptr, &n);
    if (out == nullptr) {  // ENOMEM; the input was checked above
        return core::make_error(core::Errc::unsupported, "password normalisation failed");
    }
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast)
    Secret normalized(std::string(reinterpret_cast<const char*>(out), n));
    sodium_memzero(out, n);  // libunistring's own scratch buffers are not wiped: a known limit
    std::free(out);          // NOLINT(cppcoreguidelines-no-malloc): u8_normalize malloc()ed it
    return normalized;
}

// ---------------------------------------------------------------- PW-3: blocklist

namespace {

/// Product names (PW-3) and a few of the commonest passwords, compared by core() below. The common
/// words make the spec's `Password1` a refusal even on a device without the cracklib dictionary;
/// cracklib's dictionary is the real list.
constexpr std::array<std::string_view, 3> kProductWords = {"serialgate", "moxa", "nport"};
constexpr std::array<std::string_view, 14> kCommonWords = {
    "password", "passw0rd", "passwort", "qwerty",   "qwertz",  "letmein", "welcome",
    "iloveyou", "admin",    "root",     "changeme", "default", "secret",  "login"};

/// ASCII digits, space and punctuation (!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~), whatever the locale.
bool is_end_junk(unsigned char c) {
    return (c >= ' ' && c <= '@') || (c >= '[' && c <= '`') || (c >= '{' && c <= '~');
}

/// `s` without is_end_junk() characters at either end, ASCII letters lower-cased: "Moxa2024!" ->
/// "moxa", "gate-01" -> "gate". Empty when `s` is nothing but those.
std::string core_of(std::string_view s) {
    std::size_t b = 0;
    std::size_t e = s.size();
    while (b < e && is_end_junk(static_cast<unsigned char>(s[b]))) ++b;
    while (e > b && is_end_junk(static_cast<unsigned char>(s[e - 1]))) --e;
    std::string out(s.substr(b, e - b));
    for (char& c : out) c = static_cast<char>(ascii_lower(static_cast<unsigned char>(c)));
    return out;
}

/// true when `word`'s core is non-empty and equals `pw_core` (already a core).
bool based_on(std::string_view pw_core, std::string_view word) {
    const std::string w = core_of(word);
    return !w.empty() && w == pw_core;
}

std::string hostname() {
    std::array<char, HOST_NAME_MAX + 1> buf{};
    if (::gethostname(buf.data(), buf.size() - 1) != 0) return {};
    return std::string(buf.data());
}

/// Next code point of valid UTF-8 (checked by the caller) at `i`; advances `i`.
char32_t next_code_point(std::string_view s, std::size_t& i) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t extra = c < 0x80 ? 0 : c < 0xe0 ? 1 : c < 0xf0 ? 2 : 3;
    char32_t cp = extra == 0 ? c : c & (0x3fU >> extra);
    for (std::size_t k = 1; k <= extra; ++k) {
        cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3fU);
    }
    i += extra + 1;
    return cp;
}

enum class Pattern { none, run, sequence };

/// Runs and sequences judged on the whole password (see check_password in password.h).
Pattern whole_pattern(std::string_view pw) {
    const auto fold = [](char32_t c) { return c >= U'A' && c <= U'Z' ? c - U'A' + U'a' : c; };
    std::size_t i = 0;
    if (pw.empty()) return Pattern::none;
    char32_t prev = fold(next_code_point(pw, i));
    bool run = true;
    bool up = true;
    bool down = true;
    while (i < pw.size()) {
        const char32_t c = fold(next_code_point(pw, i));
        run = run && c == prev;
        up = up && (c == prev + 1 || (prev == U'9' && c == U'0'));
        down = down && (c + 1 == prev || (prev == U'0' && c == U'9'));
        prev = c;
    }
    if (run) return Pattern::run;
    return up || down ? Pattern::sequence : Pattern::none;
}

bool dictionary_readable(const std::string& dictionary) {
    // PWOpen needs .pwd and .pwi (.hwm is optional); without them it perror()s and fails.
    return !dictionary.empty() && ::access((dictionary + ".pwd").c_str(), R_OK) == 0 &&
           ::access((dictionary + ".pwi").c_str(), R_OK) == 0;
}

/// cracklib's verdict: nullopt when it has nothing against `pw` (NUL-terminated) or cannot run.
std::optional<std::string> cracklib_reason(const char* pw, std::string_view account,
                                           const std::string& dictionary) {
    if (!dictionary_readable(dictionary)) return std::nullopt;  // documented: skip, see header
    static std::mutex cracklib_mutex;  // not documented thread-safe; it keeps static buffers
    const std::string user(account);
    const std::lock_guard lock(cracklib_mutex);
    // FascistCheckUser, not FascistCheck: the latter looks up the daemon's own uid in the password
    // file (and refuses everything when it is missing, e.g. in a container); ours is the account.
    const char* why = FascistCheckUser(pw, dictionary.c_str(), user.c_str(), nullptr);
    if (why == nullptr) return std::nullopt;
    // The files vanished between the access() above and PWOpen: the dictionary is unavailable.
    if (std::strcmp(why, "error loading dictionary") == 0) return std::nullopt;
    return std::string(why);
}

/// `password` is the NFKC form (a Secret's std::string: NUL-terminated for cracklib).
core::Status check_blocklist(const Secret& password, std::string_view account,
                             const std::string& dictionary) {
    const std::string_view pw = password.reveal();
    if (equal_ignoring_ascii_case(pw, account)) {
        return refused("password must differ from the account name");
    }
    const Secret core(core_of(pw));  // wiped like the password it was cut from
    const std::string_view pw_core = core.reveal();
    if (based_on(pw_core, account)) {
        return refused("password must not be based on the account name");
    }
    for (auto w : kProductWords) {
        if (based_on(pw_core, w)) {
            return refused(
                "password must not be based on a product name (SerialGate, Moxa, NPort)");
        }
    }
    const std::string host = hostname();
    if (based_on(pw_core, host) || based_on(pw_core, host.substr(0, host.find('.')))) {
        return refused("password must not be based on the device's hostname");
    }
    for (auto w : kCommonWords) {
        if (based_on(pw_core, w)) {
            return refused("password is too common or based on a dictionary word");
        }
    }
    switch (whole_pattern(pw)) {
        case Pattern::run: return refused("password must not be one character repeated");
        case Pattern::sequence:
            return refused("password must not be an ascending or descending sequence");
        case Pattern::none: break;
    }
    if (auto why = cracklib_reason(pw.data(), account, dictionary)) {
        return refused("password is too common or based on a dictionary word (cracklib: " + *why +
                       ")");
    }
    return {};
}

}  // namespace

std::string default_blocklist_dictionary() {
    return GetDefaultCracklibDict();
}

bool blocklist_dictionary_available(const std::string& dictionary) {
    return dictionary_readable(dictionary);
}

// ---------------------------------------------------------------- all rules

core::Status check_password(const Secret& password, std::string_view account,
                            const config::PasswordPolicy& policy) {
    static const std::string dictionary = default_blocklist_dictionary();
    return check_password(password, account, policy, dictionary);
}

core::Status check_password(const Secret& password, std::string_view account,
                            const config::PasswordPolicy& policy, const std::string& dictionary) {
    auto normalized = normalize_password(password);  // PW-2; refuses invalid UTF-8
    if (!normalized) return normalized.error();
    const std::string_view pw = normalized->reveal();
    const std::size_t length = *utf8_length(pw);  // NFKC of valid UTF-8 is valid UTF-8
    if (has_control_character(pw)) return refused("password must not contain control characters");
    if (length < policy.min_length) {  // PW-2: code points after NFKC, not bytes
        return refused("password must be at least " + std::to_string(policy.min_length) +
                       " characters");
    }
    if (length > config::kMaxPasswordLength) {
        return refused("password must be at most " + std::to_string(config::kMaxPasswordLength) +
                       " characters");
    }
    if (auto st = check_blocklist(*normalized, account, dictionary); !st) return st;  // PW-3
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

/// normalize_password failed because its input is not UTF-8 (not for lack of memory). Such bytes
/// are hashed and verified as they are: never a password (check_password refuses them), but
/// Accounts' dummy hash (IA-5) is made of 32 random bytes.
bool invalid_utf8(const core::Result<Secret>& normalized) {
    return !normalized && normalized.error().code == core::make_error_code(core::Errc::refused);
}

/// NE-5: by default at most min(2, cores - 1) Argon2id runs at once, at least one: a login flood
/// can take neither the core the serial data plane needs nor more than two cores, and each run
/// holds 64 MiB (ST-1), so this bounds memory too (NE-8). https.dos.argon2_parallel sets another
/// count (1..cores, set_argon2_parallelism).
std::size_t default_slot_count() {
    return std::clamp<unsigned>(std::thread::hardware_concurrency(), 2, 3) - 1;
}

/// The slots: a counter under a mutex rather than a std::counting_semaphore, whose maximum is a
/// compile-time constant and whose count cannot be changed. A smaller limit takes effect as runs
/// end (none is interrupted); a larger one at once.
class Slots {
public:
    void set_limit(std::size_t n) {
        {
            std::lock_guard lock(mu_);
            limit_ = std::max<std::size_t>(1, n);
        }
        cv_.notify_all();
    }
    std::size_t limit() {
        std::lock_guard lock(mu_);
        return limit_;
    }
    void acquire() {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return in_use_ < limit_; });
        ++in_use_;
    }
    bool try_acquire_for(std::chrono::milliseconds wait) {
        std::unique_lock lock(mu_);
        if (!cv_.wait_for(lock, wait, [this] { return in_use_ < limit_; })) return false;
        ++in_use_;
        return true;
    }
    void release() {
        {
            std::lock_guard lock(mu_);
            --in_use_;
        }
        cv_.notify_one();
    }

private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::size_t limit_ = default_slot_count();
    std::size_t in_use_ = 0;
};

Slots& argon2_slots() {
    static Slots slots;
    return slots;
}

/// Slots held by this thread through Argon2Slot (0 or 1; nested Argon2Slots count up).
thread_local int held_by_this_thread = 0;

/// One Argon2id run: uses this thread's Argon2Slot when it holds one, else waits for a slot as
/// long as it takes (the CLI, and any caller that did not reserve).
struct RunSlot {
    RunSlot() : own_(held_by_this_thread == 0) {
        if (own_) argon2_slots().acquire();
    }
    ~RunSlot() {
        if (own_) argon2_slots().release();
    }
    RunSlot(const RunSlot&) = delete;
    RunSlot& operator=(const RunSlot&) = delete;
    bool own_;
};

}  // namespace

std::size_t argon2_parallelism() {
    return argon2_slots().limit();
}

void set_argon2_parallelism(std::size_t n) {
    // More slots than cores only queue the runs in the kernel instead of here (and each holds
    // 64 MiB): a configured count is capped at the host's cores.
    const std::size_t cores = std::max(1U, std::thread::hardware_concurrency());
    argon2_slots().set_limit(n == 0 ? default_slot_count() : std::min(n, cores));
}

Argon2Slot::Argon2Slot(std::chrono::milliseconds wait) {
    if (held_by_this_thread > 0 || argon2_slots().try_acquire_for(wait)) {
        acquired_ = true;
        ++held_by_this_thread;
    }
}

Argon2Slot::~Argon2Slot() {
    if (!acquired_) return;
    if (--held_by_this_thread == 0) argon2_slots().release();
}

core::Result<std::string> hash_password(const Secret& password, const HashCost& cost) {
    if (!init_sodium()) return core::make_error(core::Errc::unsupported, "libsodium init failed");
    auto normalized = normalize_password(password);  // PW-2
    if (!normalized && !invalid_utf8(normalized)) return normalized.error();
    const RunSlot slot;
    char out[crypto_pwhash_STRBYTES];
    const std::string_view pw = normalized ? normalized->reveal() : password.reveal();
    if (crypto_pwhash_str_alg(out, pw.data(), pw.size(), cost.opslimit(), cost.memlimit(),
                              crypto_pwhash_ALG_ARGON2ID13) != 0) {
        return core::make_error(core::Errc::unsupported, "password hashing ran out of memory");
    }
    return std::string(out);
}

bool verify_password(std::string_view hash, const Secret& password) {
    if (!init_sodium()) return false;
    const std::string h(hash);                       // libsodium wants a NUL-terminated string
    auto normalized = normalize_password(password);  // PW-2: composed or decomposed, one password
    if (!normalized && !invalid_utf8(normalized)) return false;
    // Invalid UTF-8 is verified as it is: it matches no real password, but costs the same Argon2id
    // run as any other attempt (IA-5: no fast answer to tell anything apart).
    const std::string_view pw = normalized ? normalized->reveal() : password.reveal();
    const RunSlot slot;
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
