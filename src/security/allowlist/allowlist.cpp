// allowlist.cpp: the mask rule, Allowlist and the Gate (allowlist.h). matches()
// and Gate::allows() run on every accept path (port strands, HTTPS accept strand) and for every
// UDP datagram: no allocation, no lock. set() runs on the io thread when a configuration is
// applied; refused() on whichever strand refused.
#include "security/allowlist/allowlist.h"

#include <fmt/format.h>

namespace sg::security::allowlist {

bool matches(const config::AllowRule& rule, const Address& source) {
    if (rule.all) return true;
    std::array<std::uint8_t, 16> src{};
    bool v6 = source.is_v6();
    if (v6 && source.to_v6().is_v4_mapped()) {
        // A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d: IPv4 entries govern them.
        const auto b = source.to_v6().to_bytes();
        std::copy(b.begin() + 12, b.end(), src.begin());
        v6 = false;
    } else if (v6) {
        const auto b = source.to_v6().to_bytes();
        std::copy(b.begin(), b.end(), src.begin());
    } else {
        const auto b = source.to_v4().to_bytes();
        std::copy(b.begin(), b.end(), src.begin());
    }
    if (v6 != rule.v6) return false;
    for (std::size_t i = 0; i < src.size(); ++i) {
        if ((src[i] & rule.mask[i]) != (rule.address[i] & rule.mask[i])) return false;
    }
    return true;
}

Allowlist::Allowlist(const config::AllowlistSettings& settings) : enabled_(settings.enabled) {
    for (const std::string& e : settings.entries) {
        auto r = config::parse_allow_entry(e);
        if (auto* rule = std::get_if<config::AllowRule>(&r)) rules_.push_back(*rule);
    }
}

bool Allowlist::allows(const Address& source) const {
    if (!enabled_) return true;  // NE-2: off = all allowed
    for (const auto& r : rules_) {
        if (matches(r, source)) return true;
    }
    return false;
}

// ---------------------------------------------------------------- Gate

Gate::Gate(events::Log& log) : current_(std::make_shared<const Allowlist>()), log_(log) {}

bool Gate::set(const config::AllowlistSettings& settings) {
    const std::lock_guard lock(mu_);
    if (settings == settings_) return false;
    settings_ = settings;
    current_.store(std::make_shared<const Allowlist>(settings));
    return true;
}

void Gate::refused(const Address& source, std::string_view listener) {
    // One window per host, however the socket spelled it (::ffff:a.b.c.d is a.b.c.d).
    const bool mapped = source.is_v6() && source.to_v6().is_v4_mapped();
    const std::string key =
        mapped ? boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, source.to_v6())
                     .to_string()
               : source.to_string();
    log_.emit_limited(events::types::kAllowlistRefused, {.source = key},
                      fmt::format("refused on {}", listener), kRefusalLimit);
}

}  // namespace sg::security::allowlist
