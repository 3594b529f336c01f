// allowlist.cpp: parse_allow_entry() (allowlist.h). Called by the YAML reader at start, SIGHUP,
// import and API commits, and by security::allowlist when a new list is applied; never per peer.
#include "config/allowlist.h"

#include <fmt/format.h>

#include <boost/asio/ip/address.hpp>
#include <charconv>
#include <optional>

namespace sg::config {

namespace {

std::array<std::uint8_t, 16> prefix_mask(unsigned bits) {
    std::array<std::uint8_t, 16> m{};
    for (unsigned i = 0; i < 16 && bits > 0; ++i) {
        const unsigned take = bits >= 8 ? 8 : bits;
        m[i] = static_cast<std::uint8_t>(0xFF00U >> take);
        bits -= take;
    }
    return m;
}

std::optional<unsigned> parse_prefix(std::string_view s, unsigned max) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || s.size() > 3 || ec != std::errc() || p != s.data() + s.size() || v > max) {
        return std::nullopt;
    }
    return v;
}

}  // namespace

std::variant<AllowRule, std::string> parse_allow_entry(std::string_view text) {
    if (text == "all") return AllowRule{.all = true};
    const auto slash = text.find('/');
    const std::string addr_text(text.substr(0, slash));
    boost::system::error_code ec;
    const auto addr = boost::asio::ip::make_address(addr_text, ec);
    if (ec || addr_text.find('%') != std::string::npos) {
        return fmt::format("'{}' is not 'all', an IP address, address/prefix or address/netmask",
                           text);
    }
    AllowRule r;
    r.v6 = addr.is_v6();
    if (r.v6) {
        const auto b = addr.to_v6().to_bytes();
        std::copy(b.begin(), b.end(), r.address.begin());
    } else {
        const auto b = addr.to_v4().to_bytes();
        std::copy(b.begin(), b.end(), r.address.begin());
    }
    const unsigned max_bits = r.v6 ? 128 : 32;
    if (slash == std::string_view::npos) {
        r.mask = prefix_mask(max_bits);  // one host
        return r;
    }
    const std::string_view mask_text = text.substr(slash + 1);
    if (auto bits = parse_prefix(mask_text, max_bits)) {
        r.mask = prefix_mask(*bits);
        return r;
    }
    if (!r.v6) {
        const auto m = boost::asio::ip::make_address_v4(std::string(mask_text), ec);
        if (!ec) {
            const std::uint32_t v = m.to_uint();
            // Contiguous: the inverted mask plus one is a power of two (or zero for /32).
            const std::uint32_t inv = ~v;
            if ((inv & (inv + 1)) != 0) {
                return fmt::format("'{}': netmask {} is not ones followed by zeros", text,
                                   mask_text);
            }
            const auto b = m.to_bytes();
            std::copy(b.begin(), b.end(), r.mask.begin());
            return r;
        }
    }
    return fmt::format("'{}': '{}' is not a prefix length 0..{}{}", text, mask_text, max_bits,
                       r.v6 ? "" : " or a dotted netmask");
}

}  // namespace sg::config
