// udp_ranges.cpp: parsing and matching of UDP destination ranges. Called on the port strand by
// udp_mode.cpp at start (parse, endpoints) and per received datagram (contains).
#include "modes/udp/udp_ranges.h"

namespace sg::modes::udp {

namespace {

constexpr std::uint32_t kMaxRangeSize = 256;  // config/mode_yaml.cpp enforces the same bound

core::Result<std::uint32_t> parse_v4(const std::string& text, const char* what) {
    boost::system::error_code ec;
    auto a = asio::ip::make_address_v4(text, ec);
    if (ec) {
        return core::make_error(core::Errc::invalid_config,
                                std::string(what) + " '" + text + "' is not an IPv4 address");
    }
    return a.to_uint();
}

}  // namespace

core::Result<Ranges> Ranges::parse(const std::vector<config::UdpDestination>& destinations) {
    Ranges out;
    for (const auto& d : destinations) {
        auto first = parse_v4(d.begin, "begin");
        if (!first) return first.error();
        auto last = parse_v4(d.end.empty() ? d.begin : d.end, "end");
        if (!last) return last.error();
        if (*last < *first || *last - *first >= kMaxRangeSize) {
            return core::make_error(
                core::Errc::invalid_config,
                "range " + d.begin + " - " + d.end + " is empty or holds more than 256 addresses");
        }
        if (d.port == 0) return core::make_error(core::Errc::invalid_config, "port 0");
        out.ranges_.push_back({*first, *last, d.port});
    }
    return out;
}

bool Ranges::contains(const asio::ip::address& source) const {
    std::uint32_t v4 = 0;
    if (source.is_v4()) {
        v4 = source.to_v4().to_uint();
    } else if (source.to_v6().is_v4_mapped()) {
        v4 = asio::ip::make_address_v4(asio::ip::v4_mapped, source.to_v6()).to_uint();
    } else {
        return false;  // the ranges are IPv4 only
    }
    for (const auto& r : ranges_) {
        if (v4 >= r.first && v4 <= r.last) return true;
    }
    return false;
}

std::vector<asio::ip::udp::endpoint> Ranges::endpoints(bool v6) const {
    std::vector<asio::ip::udp::endpoint> out;
    for (const auto& r : ranges_) {
        for (std::uint64_t a = r.first; a <= r.last; ++a) {
            const asio::ip::address_v4 v4(static_cast<std::uint32_t>(a));
            if (v6) {
                out.emplace_back(asio::ip::make_address_v6(asio::ip::v4_mapped, v4), r.port);
            } else {
                out.emplace_back(v4, r.port);
            }
        }
    }
    return out;
}

}  // namespace sg::modes::udp
