// nftables.h: the kernel half of the DoS defense (guide §3.7; NE-7), as text for the administrator
// to install: `serialgate hardening-rules` prints an nftables ruleset for the TCP and UDP ports of
// a configuration — SYN rate per source (the rate of https.dos for the HTTPS ports, of serial_dos
// for the serial ports), invalid TCP flag combinations dropped (the scans device ref. §8 lists:
// NULL, Xmas, SYN/FIN, SYN/RST, FIN without ACK), new UDP datagrams per source, and an ICMP echo
// rate. SerialGate itself never changes the host's firewall. Pure: configuration in, text out.
#pragma once

#include <string>
#include <string_view>

#include "config/settings.h"

namespace sg::security::dos {

/// The table the ruleset defines; installing the output again replaces it (and only it).
inline constexpr std::string_view kNftTable = "serialgate_hardening";
/// ICMP/ICMPv6 echo requests accepted per second (burst twice that), all sources together.
inline constexpr unsigned kIcmpPerSecond = 10;

/// The ruleset for `c`, for `nft -f`. `source` names where the configuration came from (a file,
/// a data directory), written in the header comment.
std::string nftables_rules(const config::Config& c, std::string_view source);

}  // namespace sg::security::dos
