// nftables.cpp: the nftables ruleset of `serialgate hardening-rules` (nftables.h). Called once by
// that command; no I/O. The output is checked with `nft -c -f` by
// tests/system/test_hardening_rules.py.
#include "security/dos/nftables.h"

#include <fmt/format.h>

#include <set>

#include "config/services.h"

namespace sg::security::dos {

namespace {

std::string port_set(const std::set<std::uint16_t>& ports) {
    std::string out;
    for (auto p : ports) out += (out.empty() ? "" : ", ") + std::to_string(p);
    return "{ " + out + " }";
}

/// A per-source rate rule for IPv4 and IPv6: packets matched by `match` from one source beyond
/// `rate`/s (burst `burst`) are dropped; the source is remembered in a dynamic set `set`_v4/_v6.
void per_source(std::string& out, std::string_view set, std::string_view match, unsigned rate,
                unsigned burst) {
    for (const char* family : {"v4", "v6"}) {
        out += fmt::format(
            "        {} update @{}_{} {{ {} saddr limit rate over {}/second burst {} packets }} "
            "counter drop\n",
            match, set, family, family[1] == '4' ? "ip" : "ip6", rate, burst);
    }
}

void dynamic_sets(std::string& out, std::string_view set) {
    out += fmt::format(
        "    set {0}_v4 {{ type ipv4_addr; flags dynamic; timeout 60s; size 65536; }}\n"
        "    set {0}_v6 {{ type ipv6_addr; flags dynamic; timeout 60s; size 65536; }}\n",
        set);
}

}  // namespace

std::string nftables_rules(const config::Config& c, std::string_view source) {
    std::set<std::uint16_t> https_tcp;
    std::set<std::uint16_t> serial_tcp;
    std::set<std::uint16_t> serial_udp;
    for (const auto& s : config::services(c)) {
        if (!s.enabled || s.port == 0) continue;
        if (s.serial_port == 0) {
            https_tcp.insert(s.port);
        } else {
            (s.udp ? serial_udp : serial_tcp).insert(s.port);
        }
    }
    const auto& h = c.https.dos;
    const auto& d = c.serial_dos;
    std::string out = fmt::format(
        "#!/usr/sbin/nft -f\n"
        "# serialgate hardening-rules, from {}: the kernel half of SerialGate's DoS defense\n"
        "# (guide 3.7; NE-7). Install as root: nft -f FILE. Replaces only table inet {}.\n"
        "# SYN cookies: keep net.ipv4.tcp_syncookies = 1 (SerialGate warns at start when 0).\n"
        "table inet {}\n"
        "delete table inet {}\n"
        "table inet {} {{\n",
        source, kNftTable, kNftTable, kNftTable, kNftTable);
    if (!https_tcp.empty()) dynamic_sets(out, "syn_https");
    if (!serial_tcp.empty()) dynamic_sets(out, "syn_serial");
    if (!serial_udp.empty()) dynamic_sets(out, "udp_serial");
    out +=
        "    chain input {\n"
        "        type filter hook input priority filter - 10; policy accept;\n"
        "        # Invalid TCP flag combinations (NULL, Xmas, SYN/FIN, SYN/RST, FIN without ACK)\n"
        "        tcp flags & (fin|syn|rst|psh|ack|urg) == 0x0 counter drop\n"
        "        tcp flags & (fin|syn|rst|psh|ack|urg) == fin|psh|urg counter drop\n"
        "        tcp flags & (syn|fin) == syn|fin counter drop\n"
        "        tcp flags & (syn|rst) == syn|rst counter drop\n"
        "        tcp flags & (fin|ack) == fin counter drop\n"
        "        ct state invalid counter drop\n";
    constexpr const char* kSyn = "tcp flags & (fin|syn|rst|ack) == syn";
    if (!https_tcp.empty()) {
        out += fmt::format("        # SYN rate per source, HTTPS (https.dos: {}/s, burst {})\n",
                           h.connections_per_second_per_source, h.connection_burst_per_source);
        per_source(out, "syn_https", fmt::format("tcp dport {} {}", port_set(https_tcp), kSyn),
                   h.connections_per_second_per_source, h.connection_burst_per_source);
    }
    if (!serial_tcp.empty()) {
        out += fmt::format(
            "        # SYN rate per source, serial ports (serial_dos: {}/s, burst {})\n",
            d.connections_per_second_per_source, d.connection_burst_per_source);
        per_source(out, "syn_serial", fmt::format("tcp dport {} {}", port_set(serial_tcp), kSyn),
                   d.connections_per_second_per_source, d.connection_burst_per_source);
    }
    if (!serial_udp.empty()) {
        out += fmt::format(
            "        # Datagram rate per source, UDP mode (serial_dos: {}/s, burst {})\n",
            d.datagrams_per_second_per_source, d.datagram_burst_per_source);
        per_source(out, "udp_serial", fmt::format("udp dport {}", port_set(serial_udp)),
                   d.datagrams_per_second_per_source, d.datagram_burst_per_source);
    }
    out += fmt::format(
        "        # ICMP echo (ping flood): {0}/s, burst {1}, all sources\n"
        "        icmp type echo-request limit rate over {0}/second burst {1} packets counter drop\n"
        "        icmpv6 type echo-request limit rate over {0}/second burst {1} packets counter "
        "drop\n"
        "    }}\n"
        "}}\n",
        kIcmpPerSecond, 2 * kIcmpPerSecond);
    return out;
}

}  // namespace sg::security::dos
