// sockets.cpp: this process's bound sockets from /proc (sockets.h). Called by serve for GET
// /api/v1/services on the HTTP handler pool; reads a few small files, no lock.
#include "core/sockets.h"

#include <arpa/inet.h>

#include <array>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace sg::core {

namespace {

constexpr std::string_view kListen = "0A";  // TCP_LISTEN in /proc/net/tcp's st column

bool hex_u32(std::string_view s, std::uint32_t& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 16);
    return ec == std::errc() && p == s.data() + s.size();
}

/// "0100007F:0FA1" (IPv4) or 32 hex digits ":" port (IPv6): the kernel prints each 32-bit word of
/// the address in host byte order.
bool parse_endpoint(std::string_view s, bool v6, std::string& address, std::uint16_t& port) {
    const auto colon = s.find(':');
    if (colon == std::string_view::npos) return false;
    std::uint32_t p = 0;
    if (!hex_u32(s.substr(colon + 1), p) || p > 0xffff) return false;
    port = static_cast<std::uint16_t>(p);
    const std::string_view hex = s.substr(0, colon);
    const std::size_t words = v6 ? 4 : 1;
    if (hex.size() != words * 8) return false;
    std::array<std::uint32_t, 4> raw{};
    for (std::size_t i = 0; i < words; ++i) {
        if (!hex_u32(hex.substr(i * 8, 8), raw.at(i))) return false;
    }
    std::array<char, INET6_ADDRSTRLEN> buf{};
    if (::inet_ntop(v6 ? AF_INET6 : AF_INET, raw.data(), buf.data(), buf.size()) == nullptr) {
        return false;
    }
    address = buf.data();
    return true;
}

std::string read_all(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

std::vector<BoundSocket> parse_proc_net(std::string_view text, bool udp, bool v6,
                                        const std::set<std::uint64_t>& inodes) {
    std::vector<BoundSocket> out;
    std::size_t pos = text.find('\n');  // the header line
    while (pos != std::string_view::npos && pos + 1 < text.size()) {
        const std::size_t end = text.find('\n', pos + 1);
        const std::string_view line = text.substr(
            pos + 1, end == std::string_view::npos ? std::string_view::npos : end - pos - 1);
        pos = end;
        // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
        std::array<std::string_view, 10> f{};
        std::size_t n = 0;
        std::size_t i = 0;
        while (n < f.size() && i < line.size()) {
            while (i < line.size() && line[i] == ' ') ++i;
            const std::size_t j = line.find(' ', i);
            if (i >= line.size()) break;
            f.at(n++) = line.substr(i, j == std::string_view::npos ? line.size() - i : j - i);
            i = j == std::string_view::npos ? line.size() : j;
        }
        if (n < f.size()) continue;
        if (!udp && f[3] != kListen) continue;
        BoundSocket s{.udp = udp};
        auto [p, ec] = std::from_chars(f[9].data(), f[9].data() + f[9].size(), s.inode);
        if (ec != std::errc() || p != f[9].data() + f[9].size()) continue;
        if (!inodes.empty() && !inodes.contains(s.inode)) continue;
        if (!parse_endpoint(f[1], v6, s.address, s.port)) continue;
        out.push_back(std::move(s));
    }
    return out;
}

std::vector<BoundSocket> own_bound_sockets() {
    std::set<std::uint64_t> inodes;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
        std::error_code lec;
        const std::string target = std::filesystem::read_symlink(e.path(), lec).string();
        // "socket:[12345]"
        if (lec || target.rfind("socket:[", 0) != 0 || target.back() != ']') continue;
        std::uint64_t inode = 0;
        const auto digits = std::string_view(target).substr(8, target.size() - 9);
        auto [p, cec] = std::from_chars(digits.data(), digits.data() + digits.size(), inode);
        if (cec == std::errc() && p == digits.data() + digits.size()) inodes.insert(inode);
    }
    std::vector<BoundSocket> out;
    if (inodes.empty()) return out;
    for (const auto& [file, udp, v6] :
         {std::tuple{"tcp", false, false}, std::tuple{"tcp6", false, true},
          std::tuple{"udp", true, false}, std::tuple{"udp6", true, true}}) {
        auto part = parse_proc_net(read_all(std::filesystem::path("/proc/self/net") / file), udp,
                                   v6, inodes);
        out.insert(out.end(), part.begin(), part.end());
    }
    return out;
}

}  // namespace sg::core
