// services.h: serve's side of services on/off (guide §3.1; device ref. §6): the GET
// /api/v1/services document (configuration joined with the live sockets) and the audit of
// service and DoS-setting changes that do not come through the API (SIGHUP, `config import`).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/settings.h"
#include "core/sockets.h"
#include "events/log.h"

namespace sg::app {

/// Each service of `c` with its switch and the addresses among `bound` it holds; `https_port` and
/// `redirect_port` are the ports the HTTPS server really listens on (0: not running; the
/// configured port is then matched). Sockets of no service are listed under "unexpected" (a
/// defect if ever seen); the control socket, local only, under "local".
nlohmann::json services_json(const config::Config& c, const std::vector<core::BoundSocket>& bound,
                             std::uint16_t https_port, std::uint16_t redirect_port,
                             const std::string& control_socket);

/// AU-2: what a local writer of the configuration changed (SIGHUP, provisioning with --config,
/// `config import`, `remote-ca`), recorded once by that writer, serve running or not: the
/// allowlist (security.allowlist_changed), a service switched or moved
/// (security.services_changed), a DoS bound (security.policy_changed), the Remote Device
/// Certificate list (security.remote_ca_changed, one event per CA). serve does not record again
/// what it adopts from the store: the process that wrote it has.
void audit_local_change(events::Log& log, const config::Config& before, const config::Config& after,
                        const std::string& source, std::int64_t revision);

}  // namespace sg::app
