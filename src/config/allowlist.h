// allowlist.h: the syntax of one allowlist entry (guide §3.5; NE-2), shared by the YAML reader
// (which refuses a bad entry naming its key) and security::allowlist (which matches peers against
// the parsed rules). Pure code, no I/O; in config because config sits left of security and must
// validate entries itself.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace sg::config {

/// NE-2: the device holds up to 16 entries (device ref. §7 *(assumed)*).
inline constexpr std::size_t kMaxAllowlistEntries = 16;

/// One parsed entry: a source matches when (src AND mask) == (address AND mask) (NE-2). IPv4
/// rules use the first 4 bytes; `all` matches every address of both families.
struct AllowRule {
    bool all = false;
    bool v6 = false;
    std::array<std::uint8_t, 16> address{};
    std::array<std::uint8_t, 16> mask{};
    bool operator==(const AllowRule&) const = default;
};

/// The problem an enabled allowlist with no entries gets (path "allowlist"); the API answers it
/// with 409 would_lock_out rather than 400 (NE-3).
inline constexpr std::string_view kEmptyAllowlistMessage =
    "enabled with no entries would refuse every client (NE-3): add entries or set enabled: false";

/// Parses "all", "192.0.2.7" (one host), "192.0.2.0/24", "192.0.2.0/255.255.255.0",
/// "2001:db8::1" or "2001:db8::/32". A netmask must be contiguous (ones then zeros); host bits set
/// in the address are allowed (the mask rule ignores them, as on the device). The error is a
/// sentence for "allowlist.entries[i]: ...".
std::variant<AllowRule, std::string> parse_allow_entry(std::string_view text);

}  // namespace sg::config
