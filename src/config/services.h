// services.h: the network services a configuration asks for (guide §3.1; device ref. §6), as one
// list: the HTTPS console/API, the HTTP→HTTPS redirect, and each serial port's listeners as its
// operation mode defines them (data and command ports, UDP). Pure: what the configuration says,
// not what is bound (serve compares this with the live sockets for GET /api/v1/services), and
// the port list `serialgate hardening-rules` writes its nftables rules for.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/settings.h"

namespace sg::config {

/// One service of the configuration.
struct Service {
    std::string name;  // "https", "http_redirect", "serial"
    bool udp = false;  // transport: UDP, else TCP
    bool enabled = false;
    std::uint16_t port = 0;         // configured port number (0: none, e.g. a disabled port)
    std::uint32_t serial_port = 0;  // serial services: the 1-based port number, else 0
    std::string mode;               // serial services: mode type ("tcp_server"), else empty
    std::string listener;           // serial services: the mode's key ("local_port"), else empty
    std::string listen_address;     // configured address it binds
};

/// Every service, in a stable order: https, http_redirect, then each serial port's listeners in
/// port order. A serial port whose mode listens on nothing (disabled, TCP Client, Pair master)
/// is one entry with port 0 (enabled false for disabled; its connections are outgoing otherwise).
std::vector<Service> services(const Config& c);

/// The services whose switch or port differ between `a` and `b`, one "name: old -> new" line
/// each (AU-2: service changes are audited); empty when none did.
std::vector<std::string> service_changes(const Config& a, const Config& b);

/// The DoS bounds (https.dos, serial_dos) that differ between `a` and `b`, one
/// "serial_dos.key: old -> new" line each (AU-2: DoS-setting changes are audited).
std::vector<std::string> dos_changes(const Config& a, const Config& b);

}  // namespace sg::config
