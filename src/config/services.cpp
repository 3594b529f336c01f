// services.cpp: the services a configuration asks for (services.h). Called by serve (GET
// /api/v1/services, audit of local changes), the API (audit) and `hardening-rules`. Pure.
#include "config/services.h"

#include <fmt/format.h>

#include <map>

#include "config/mode_yaml.h"

namespace sg::config {

std::vector<Service> services(const Config& c) {
    std::vector<Service> out;
    out.push_back({.name = "https",
                   .enabled = c.https.enabled,
                   .port = c.https.port,
                   .listen_address = c.https.listen_address});
    // The redirect is served by the HTTPS server: it runs only when HTTPS does.
    out.push_back({.name = "http_redirect",
                   .enabled = c.https.enabled && c.https.http_redirect,
                   .port = c.https.http_port,
                   .listen_address = c.https.listen_address});
    for (const auto& p : c.ports) {
        const auto claims = detail::listening(p.mode);
        const std::string mode = mode_type_name(p.mode);
        if (claims.empty()) {
            out.push_back({.name = "serial",
                           .enabled = !std::holds_alternative<DisabledSettings>(p.mode),
                           .serial_port = p.number,
                           .mode = mode,
                           .listen_address = c.system.listen_address});
            continue;
        }
        for (const auto& claim : claims) {
            out.push_back({.name = "serial",
                           .udp = claim.udp,
                           .enabled = true,
                           .port = claim.port,
                           .serial_port = p.number,
                           .mode = mode,
                           .listener = claim.field,
                           .listen_address = c.system.listen_address});
        }
    }
    return out;
}

namespace {

std::string label(const Service& s) {
    if (s.serial_port == 0) return s.name;
    return s.listener.empty() ? fmt::format("port {}", s.serial_port)
                              : fmt::format("port {} {}", s.serial_port, s.listener);
}

std::string state(const Service& s) {
    if (!s.enabled) return "off";
    if (s.port == 0) return fmt::format("{} (outgoing)", s.mode);
    return fmt::format("{} {}/{} on {}", s.mode.empty() ? "on" : s.mode, s.udp ? "udp" : "tcp",
                       s.port, s.listen_address);
}

}  // namespace

std::vector<std::string> service_changes(const Config& a, const Config& b) {
    std::map<std::string, std::string> before;
    std::map<std::string, std::string> after;
    for (const auto& s : services(a)) before[label(s)] = state(s);
    for (const auto& s : services(b)) after[label(s)] = state(s);
    std::vector<std::string> out;
    for (const auto& [k, v] : after) {
        auto it = before.find(k);
        const std::string was = it == before.end() ? "none" : it->second;
        if (was != v) out.push_back(fmt::format("{}: {} -> {}", k, was, v));
    }
    for (const auto& [k, v] : before) {
        if (!after.contains(k)) out.push_back(fmt::format("{}: {} -> none", k, v));
    }
    return out;
}

std::vector<std::string> dos_changes(const Config& a, const Config& b) {
    std::vector<std::string> out;
    for (const DosKey& k : dos_keys()) {
        std::visit(
            [&](auto field) {
                if (a.https.dos.*field != b.https.dos.*field) {
                    out.push_back(fmt::format("https.dos.{}: {} -> {}", k.key, a.https.dos.*field,
                                              b.https.dos.*field));
                }
            },
            k.field);
    }
    if (a.serial_dos.enabled != b.serial_dos.enabled) {
        out.push_back(fmt::format("serial_dos.enabled: {} -> {}", a.serial_dos.enabled,
                                  b.serial_dos.enabled));
    }
    for (const SerialDosKey& k : serial_dos_keys()) {
        if (a.serial_dos.*k.field != b.serial_dos.*k.field) {
            out.push_back(fmt::format("serial_dos.{}: {} -> {}", k.key, a.serial_dos.*k.field,
                                      b.serial_dos.*k.field));
        }
    }
    return out;
}

}  // namespace sg::config
