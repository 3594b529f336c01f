// allowlist.cpp: the mask rule, Allowlist, the refusal log and the Gate (allowlist.h). matches()
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

// ---------------------------------------------------------------- RefusalLog

std::string RefusalLog::folded(const Window& w) {
    return fmt::format(
        "{} more refusal{} from this address in the minute after the last event "
        "(latest on {})",
        w.more, w.more == 1 ? "" : "s", w.last_listener);
}

void RefusalLog::refused(const std::string& source, std::string_view listener, SteadyTime now) {
    std::vector<std::pair<std::string, std::string>> out;
    {
        const std::lock_guard lock(mu_);
        std::string key = source;
        if (!windows_.contains(key) && windows_.size() >= kMaxSources) {
            // Prune ended windows (their counts go out); if still full, share one window.
            for (auto it = windows_.begin(); it != windows_.end();) {
                if (now - it->second.start >= kWindow) {
                    if (it->second.more > 0) out.emplace_back(it->first, folded(it->second));
                    it = windows_.erase(it);
                } else {
                    ++it;
                }
            }
            if (windows_.size() >= kMaxSources) key = "(other sources)";
        }
        auto it = windows_.find(key);
        if (it != windows_.end() && now - it->second.start < kWindow) {
            ++it->second.more;  // folded into the window's count
            it->second.last_listener = std::string(listener);
        } else {
            if (it != windows_.end() && it->second.more > 0) {
                out.emplace_back(key, folded(it->second));
            }
            windows_[key] = Window{now, 0, std::string(listener)};
            out.emplace_back(key, fmt::format("refused on {}", listener));
        }
    }
    for (const auto& [src, message] : out) emit_(src, message);
}

void RefusalLog::flush(SteadyTime now) {
    std::vector<std::pair<std::string, std::string>> out;
    {
        const std::lock_guard lock(mu_);
        for (auto it = windows_.begin(); it != windows_.end();) {
            if (now - it->second.start >= kWindow) {
                if (it->second.more > 0) out.emplace_back(it->first, folded(it->second));
                it = windows_.erase(it);
            } else {
                ++it;
            }
        }
    }
    for (const auto& [src, message] : out) emit_(src, message);
}

// ---------------------------------------------------------------- Gate

Gate::Gate(events::Log& log)
    : current_(std::make_shared<const Allowlist>()),
      refusals_([&log](const std::string& source, const std::string& message) {
          log.emit(events::types::kAllowlistRefused, {.source = source}, message);
      }) {}

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
    refusals_.refused(key, listener, std::chrono::steady_clock::now());
}

void Gate::flush() {
    refusals_.flush(std::chrono::steady_clock::now());
}

}  // namespace sg::security::allowlist
