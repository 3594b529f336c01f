// sockets.h: the sockets this process has bound, read from the kernel (/proc/self/net/{tcp,tcp6,
// udp,udp6} joined with /proc/self/fd), not from any configuration: what GET /api/v1/services
// reports as a service's bound addresses (guide §3.1: "a disabled service has no socket at all"
// is then checkable from inside as well as with nmap from outside). Linux only; no root needed.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace sg::core {

struct BoundSocket {
    bool udp = false;     // else TCP in LISTEN
    std::string address;  // "127.0.0.1", "::"
    std::uint16_t port = 0;
    std::uint64_t inode = 0;
    bool operator==(const BoundSocket&) const = default;
};

/// The TCP sockets in LISTEN and the UDP sockets of one /proc/net table (`text`), whose inode is in
/// `inodes` (empty set: every inode). `udp`/`v6` say which table it is. Malformed lines are
/// skipped.
std::vector<BoundSocket> parse_proc_net(std::string_view text, bool udp, bool v6,
                                        const std::set<std::uint64_t>& inodes);

/// This process's listening TCP and bound UDP sockets, every family. Empty when /proc is missing.
std::vector<BoundSocket> own_bound_sockets();

}  // namespace sg::core
