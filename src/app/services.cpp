// services.cpp: GET /api/v1/services and the audit of local service changes (services.h). Called
// by serve: services_json() on the HTTP handler pool (pure), audit_local_change() on the io thread;
// audit_local_change() also by the CLI commands that write the configuration.
#include "app/services.h"

#include <fmt/format.h>

#include <set>

#include "config/services.h"
#include "security/certs/certificate.h"

namespace sg::app {

namespace {

std::string endpoint(const core::BoundSocket& s) {
    return s.address.find(':') != std::string::npos ? fmt::format("[{}]:{}", s.address, s.port)
                                                    : fmt::format("{}:{}", s.address, s.port);
}

std::string join(const std::vector<std::string>& parts) {
    std::string out;
    for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
    return out;
}

}  // namespace

nlohmann::json services_json(const config::Config& c, const std::vector<core::BoundSocket>& bound,
                             std::uint16_t https_port, std::uint16_t redirect_port,
                             const std::string& control_socket) {
    auto list = nlohmann::json::array();
    std::set<std::uint64_t> claimed;  // socket inodes some service holds
    for (const auto& s : config::services(c)) {
        std::uint16_t port = s.port;
        if (s.name == "https" && https_port != 0) port = https_port;
        if (s.name == "http_redirect" && redirect_port != 0) port = redirect_port;
        auto addresses = nlohmann::json::array();
        if (port != 0) {
            for (const auto& b : bound) {
                if (b.udp != s.udp || b.port != port) continue;
                addresses.push_back(endpoint(b));
                claimed.insert(b.inode);
            }
        }
        std::string state;
        if (!addresses.empty()) {
            state = "on";
        } else if (!s.enabled) {
            state = "off";
        } else if (port == 0) {
            state = "outgoing";  // TCP Client, Pair master: nothing listens
        } else {
            state = "not listening";  // no account yet, port in use, device missing...
        }
        nlohmann::json j{
            {"name", s.name},    {"transport", s.udp ? "udp" : "tcp"}, {"enabled", s.enabled},
            {"port", port},      {"listen_address", s.listen_address}, {"state", state},
            {"bound", addresses}};
        if (s.serial_port != 0) {
            j["serial_port"] = s.serial_port;
            j["mode"] = s.mode;
            j["listener"] = s.listener;
        }
        list.push_back(std::move(j));
    }
    auto unexpected = nlohmann::json::array();
    for (const auto& b : bound) {
        if (!claimed.contains(b.inode)) {
            unexpected.push_back({{"transport", b.udp ? "udp" : "tcp"}, {"bound", endpoint(b)}});
        }
    }
    return {{"services", list},
            {"unexpected", unexpected},
            {"local", nlohmann::json::array({{{"name", "control_socket"},
                                              {"path", control_socket},
                                              {"network", false},
                                              {"note",
                                               "Unix socket for `serialgate status`; no network "
                                               "access, not subject to the allowlist"}}})}};
}

void audit_local_change(events::Log& log, const config::Config& before, const config::Config& after,
                        const std::string& source, std::int64_t revision) {
    if (!(after.allowlist == before.allowlist)) {
        // Not subject to the lockout check (NE-3: a local change), but audited like the API's.
        log.emit(events::types::kAllowlistChanged, {.source = source},
                 fmt::format("revision {}: enabled {}, {} entries", revision,
                             after.allowlist.enabled, after.allowlist.entries.size()));
    }
    if (const auto changes = config::service_changes(before, after); !changes.empty()) {
        log.emit(events::types::kServicesChanged, {.source = source},
                 fmt::format("revision {}: {}", revision, join(changes)));
    }
    if (const auto changes = config::dos_changes(before, after); !changes.empty()) {
        log.emit(events::types::kPolicyChanged, {.source = source},
                 fmt::format("revision {}: {}", revision, join(changes)));
    }
    for (const auto& change : security::certs::remote_ca_changes(before.remote_certificates,
                                                                 after.remote_certificates)) {
        log.emit(events::types::kRemoteCaChanged, {.source = source},
                 fmt::format("revision {}: {}", revision, change));  // CE-5
    }
}

}  // namespace sg::app
