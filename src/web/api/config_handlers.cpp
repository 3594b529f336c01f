// config_handlers.cpp: reading and changing the configuration (issue 4 §3): sections (system,
// password policy, login settings, HTTPS, event-log settings), serial ports with their modes, and
// the whole document. A change is validated whole by the schema (config_json.h), committed in one
// transaction and applied by the device; a refused change leaves everything as it was. Also the
// read-only monitors beside them: port status, time, the DoS counters. Run on the HTTP handler
// pool.
#include <fmt/format.h>

#include "config/allowlist.h"
#include "config/services.h"
#include "events/audit.h"
#include "security/allowlist/allowlist.h"
#include "security/certs/certificate.h"
#include "web/api/api.h"
#include "web/api/call.h"
#include "web/api/config_json.h"
#include "web/api/handlers.h"
#include "web/http/counters.h"

namespace sg::web::api {

namespace {

/// The configuration section a path names, and the event that records a change of it.
struct Section {
    std::string_view path;
    std::string_view key;
    const events::Type* changed;
};

constexpr Section kSections[] = {
    {"/api/v1/system", "system", &events::types::kConfigChanged},
    {"/api/v1/password-policy", "password_policy", &events::types::kPolicyChanged},
    {"/api/v1/login-settings", "login", &events::types::kPolicyChanged},
    {"/api/v1/https", "https", &events::types::kPolicyChanged},
    {"/api/v1/event-log/settings", "event_log", &events::types::kConfigChanged},
    {"/api/v1/allowlist", "allowlist", &events::types::kAllowlistChanged},
    {"/api/v1/serial-dos", "serial_dos", &events::types::kPolicyChanged},
};

const Section* section_of(std::string_view path) {
    for (const auto& s : kSections) {
        if (s.path == path) return &s;
    }
    return nullptr;
}

/// A setting whose change needs more than the privilege of the route that carries it, whatever that
/// route is: a section PUT, a port PUT or the whole document all end in Api::commit(), which
/// checks this table. docs/openapi.yaml names them in `x-sg-guarded` (tests/check_openapi.py).
struct Guarded {
    std::string_view key;  // as in YAML and JSON
    bool (*changed)(const config::Config& before, const config::Config& after);
    security::accounts::Area area;  // needs read_write on it, and a recent password proof (AZ-3)
};

constexpr Guarded kGuarded[] = {
    // Issue 14 item 12: the list decides which files serve opens as root. The System area (which
    // the Operator has) carries the section; widening the list is the Administrator's alone.
    {"system.allowed_devices",
     [](const config::Config& a, const config::Config& b) {
         return a.system.allowed_devices != b.system.allowed_devices;
     },
     security::accounts::Area::Security},
    // Issue 14 item 7 (AU-3): whether the administrators' actions are recorded (the Security
    // types of severity Notice and above) is a Security setting, whichever route carries it —
    // event-log settings with Diagnostics write, the whole document. events/audit.h says why not
    // "always recorded". commit() also logs such a change first, as security.policy_changed.
    {"event_log.types",
     [](const config::Config& a, const config::Config& b) {
         return !events::audit_changes(a.event_log, b.event_log).empty();
     },
     security::accounts::Area::Security},
};

/// "old -> new" for each changed scalar of two JSON trees (AU-2: old and new of non-secret values).
void diff(const nlohmann::json& a, const nlohmann::json& b, const std::string& at,
          std::vector<std::string>& out) {
    if (out.size() > 20) return;
    if (a.is_object() && b.is_object()) {
        for (const auto& [k, v] : b.items()) {
            diff(a.contains(k) ? a[k] : nlohmann::json(), v,
                 at.empty() ? k : fmt::format("{}.{}", at, k), out);
        }
        for (const auto& [k, v] : a.items()) {
            if (!b.contains(k))
                out.push_back(at.empty() ? k + " removed" : fmt::format("{}.{} removed", at, k));
        }
        return;
    }
    if (a != b) out.push_back(fmt::format("{}: {} -> {}", at, a.dump(), b.dump()));
}

std::string describe_change(const nlohmann::json& before, const nlohmann::json& after) {
    std::vector<std::string> changes;
    diff(before, after, "", changes);
    std::string s;
    for (const auto& c : changes) s += (s.empty() ? "" : "; ") + c.substr(0, 200);
    return s.empty() ? "no change" : s;
}

/// NE-3: an enabled allowlist with no entries is refused as a lockout (409), not as a bad value.
bool empty_allowlist(const std::vector<config::Problem>& problems) {
    for (const auto& p : problems) {
        if (p.path == "allowlist" && p.message == config::kEmptyAllowlistMessage) return true;
    }
    return false;
}

}  // namespace

http::Response Api::refused_config(Call& call, const std::vector<config::Problem>& problems) {
    if (empty_allowlist(problems)) {
        log_.emit(events::types::kConfigRejected, call.who(),
                  "allowlist: enabled with no entries (would_lock_out)");
        return error(call, bhttp::status::conflict, "would_lock_out",
                     "an enabled allowlist with no entries would refuse every client, this one "
                     "included (NE-3); nothing changed");
    }
    return json_response(call, bhttp::status::bad_request, problems_json(problems));
}

http::Response Api::commit(Call& call, config::Config next, std::string_view what) {
    const auto current = device_.config();
    if (next == *current) return json_response(call, bhttp::status::ok, {{"changed", false}});
    for (const Guarded& g : kGuarded) {
        if (!g.changed(*current, next)) continue;
        if (!allowed(call, g.area, true)) {
            return error(call, bhttp::status::forbidden, "forbidden",
                         fmt::format("changing {} needs read_write on {}", g.key,
                                     security::accounts::to_string(g.area)));
        }
        if (!call.session || !sessions_.recently_authenticated(*call.session)) {
            return error(call, bhttp::status::unauthorized, "reauth_required",
                         fmt::format("changing {} needs your password confirmed with POST "
                                     "/api/v1/session/reauth",
                                     g.key));
        }
    }
    if (!(next.allowlist == current->allowlist) &&
        !security::allowlist::Allowlist(next.allowlist).allows(call.peer.address)) {
        // NE-3, CF-4: whatever the route (the allowlist itself, or a whole imported document),
        // a list that would refuse the administrator making the change is not applied.
        log_.emit(events::types::kConfigRejected, call.who(),
                  fmt::format("{}: the allowlist would refuse this client ({})", what,
                              call.peer.address.to_string()));
        return error(call, bhttp::status::conflict, "would_lock_out",
                     fmt::format("the new allowlist does not allow this client's address {}: "
                                 "applying it would lock you out (NE-3); add an entry that "
                                 "covers it. Nothing changed",
                                 call.peer.address.to_string()));
    }
    if (current->https.enabled && !next.https.enabled) {
        // Guide §3.1 (services on/off): this request came through the HTTPS API, the only network
        // management path; switching it off from here would leave none (the local CLI is not a
        // network path). Refused like an allowlist that excludes the caller (NE-3).
        log_.emit(events::types::kConfigRejected, call.who(),
                  fmt::format("{}: https.enabled false would leave no management path "
                              "(would_lock_out)",
                              what));
        return error(call, bhttp::status::conflict, "would_lock_out",
                     "switching off HTTPS from the HTTPS API would leave no network management "
                     "path: you would lock yourself out. Switch it off on the device itself "
                     "(`serialgate config import`). Nothing changed");
    }
    // Recorded while the old settings are in force, so switching off security.policy_changed
    // itself is still recorded (a failed commit follows it with system.config_rejected). The
    // kGuarded check above has allowed it (event_log.types).
    if (const auto audit = events::audit_changes(current->event_log, next.event_log);
        !audit.empty()) {
        log_.emit(events::types::kPolicyChanged, call.who(),
                  fmt::format("event_log.types: {}",
                              events::describe_audit_changes(audit, next.event_log)));
    }
    // The Remote Device Certificate list is described by subject and fingerprint in its own
    // event below, not as PEM text in this one.
    auto before_json = config_to_json(*current);
    auto after_json = config_to_json(next);
    before_json.erase("remote_certificates");
    after_json.erase("remote_certificates");
    const auto change = describe_change(before_json, after_json);
    const auto remote_changes =
        security::certs::remote_ca_changes(current->remote_certificates, next.remote_certificates);
    // Only what serve takes at its next start (the dos keys the API reads at each request apply at
    // once: config::https_restart_required), and system.io_threads (the data plane's threads).
    const bool https_changed = config::https_restart_required(current->https, next.https) ||
                               current->system.io_threads != next.system.io_threads;
    const bool allowlist_changed = !(next.allowlist == current->allowlist);
    const auto services_changed = config::service_changes(*current, next);  // AU-2
    const auto dos_changed = config::dos_changes(*current, next);
    const std::string allowlist_after =
        allowlist_changed ? config_to_json(next)["allowlist"].dump() : std::string();
    auto rev = device_.commit(std::move(next), call.who());
    if (!rev) {
        log_.emit(events::types::kConfigRejected, call.who(),
                  fmt::format("{}: {}", what, rev.error().message));
        return error(call, bhttp::status::conflict, "not_applied", rev.error().message);
    }
    const auto* section = section_of(call.path);
    if (change != "no change" || remote_changes.empty()) {
        log_.emit(section ? *section->changed : events::types::kConfigChanged, call.who(),
                  fmt::format("{} (revision {}): {}", what, *rev, change));
    }
    for (const auto& c : remote_changes) {
        // CE-5, AU-2: each certificate added or removed, with account and source.
        log_.emit(events::types::kRemoteCaChanged, call.who(),
                  fmt::format("{} (revision {}): {}", what, *rev, c));
    }
    if (allowlist_changed &&
        (section == nullptr || section->changed != &events::types::kAllowlistChanged)) {
        // Every allowlist change has its own Security event (AU-2), whatever route made it.
        log_.emit(events::types::kAllowlistChanged, call.who(),
                  fmt::format("{} (revision {}): allowlist now {}", what, *rev, allowlist_after));
    }
    auto join = [](const std::vector<std::string>& parts) {
        std::string s;
        for (const auto& p : parts) s += (s.empty() ? "" : "; ") + p;
        return s;
    };
    if (!services_changed.empty()) {
        // AU-2: every service switched or moved has its own Security event, whatever route.
        log_.emit(events::types::kServicesChanged, call.who(),
                  fmt::format("{} (revision {}): {}", what, *rev, join(services_changed)));
    }
    if (!dos_changed.empty() &&
        (section == nullptr || section->changed != &events::types::kPolicyChanged)) {
        // AU-2: a DoS bound changed through a route whose own event is not a Security one.
        log_.emit(events::types::kPolicyChanged, call.who(),
                  fmt::format("{} (revision {}): {}", what, *rev, join(dos_changed)));
    }
    nlohmann::json out{{"changed", true}, {"revision", *rev}};
    // The listener of the plane that carries this very request is not torn down under it: HTTPS
    // settings apply at the next start of serve (docs/configuration.md).
    if (https_changed) out["restart_required"] = true;
    return json_response(call, bhttp::status::ok, out);
}

http::Response Api::get_section(Call& call) {
    const auto* s = section_of(call.path);
    SG_ASSERT(s);
    auto doc = config_to_json(*device_.config());
    return json_response(call, bhttp::status::ok, doc[std::string(s->key)]);
}

http::Response Api::put_section(Call& call) {
    const auto* s = section_of(call.path);
    SG_ASSERT(s);
    http::Response err;
    auto body = call.body(err);
    if (!body) return err;
    auto doc = config_to_json(*device_.config());
    doc[std::string(s->key)] = std::move(*body);
    auto parsed = config_from_json(doc, device_.parse_options());
    if (auto* problems = std::get_if<std::vector<config::Problem>>(&parsed)) {
        return refused_config(call, *problems);
    }
    return commit(call, std::move(std::get<config::Config>(parsed)), s->key);
}

http::Response Api::get_config(Call& call) {
    // The document holds the Security sections (password policy, login, HTTPS): reading or
    // writing it whole needs the Security privilege as well as Maintenance (AZ-1).
    if (!allowed(call, security::accounts::Area::Security, false)) {
        return error(call, bhttp::status::forbidden, "forbidden");
    }
    if (call.req.method() == bhttp::verb::get) {
        log_.emit(events::types::kConfigExported, call.who(), "through the API");
    }
    return json_response(call, bhttp::status::ok, config_to_json(*device_.config()));
}

http::Response Api::put_config(Call& call) {
    if (!allowed(call, security::accounts::Area::Security, true)) {
        return error(call, bhttp::status::forbidden, "forbidden");
    }
    http::Response err;
    auto body = call.body(err);
    if (!body) return err;
    auto parsed = config_from_json(*body, device_.parse_options());
    if (auto* problems = std::get_if<std::vector<config::Problem>>(&parsed)) {
        return refused_config(call, *problems);
    }
    auto res = commit(call, std::move(std::get<config::Config>(parsed)), "configuration");
    if (res.result() == bhttp::status::ok) {
        log_.emit(events::types::kConfigImported, call.who(), "whole document through the API");
    }
    return res;
}

http::Response Api::list_ports(Call& call) {
    auto doc = config_to_json(*device_.config());
    return json_response(call, bhttp::status::ok,
                         doc.contains("ports") ? doc["ports"] : nlohmann::json::array());
}

http::Response Api::get_port(Call& call) {
    auto n = port_number(call.params[0]);
    if (!n) return error(call, bhttp::status::not_found, "not_found");
    auto doc = config_to_json(*device_.config());
    for (const auto& p : doc.value("ports", nlohmann::json::array())) {
        if (p.value("port", 0u) == *n) return json_response(call, bhttp::status::ok, p);
    }
    return error(call, bhttp::status::not_found, "not_found");
}

http::Response Api::put_port(Call& call) {
    auto n = port_number(call.params[0]);
    if (!n) return error(call, bhttp::status::bad_request, "invalid_field", "port number 1..4096");
    http::Response err;
    auto body = call.body(err);
    if (!body) return err;
    (*body)["port"] = *n;  // the path names the port
    auto doc = config_to_json(*device_.config());
    auto& ports = doc["ports"];
    if (!ports.is_array()) ports = nlohmann::json::array();
    bool replaced = false;
    for (auto& p : ports) {
        if (p.value("port", 0u) == *n) {
            p = *body;
            replaced = true;
        }
    }
    if (!replaced) ports.push_back(*body);
    auto parsed = config_from_json(doc, device_.parse_options());
    if (auto* problems = std::get_if<std::vector<config::Problem>>(&parsed)) {
        return refused_config(call, *problems);
    }
    auto& cfg = std::get<config::Config>(parsed);
    std::sort(cfg.ports.begin(), cfg.ports.end(),
              [](const auto& a, const auto& b) { return a.number < b.number; });
    return commit(call, std::move(cfg), fmt::format("port {}", *n));
}

http::Response Api::delete_port(Call& call) {
    auto n = port_number(call.params[0]);
    if (!n) return error(call, bhttp::status::not_found, "not_found");
    config::Config next = *device_.config();
    const auto before = next.ports.size();
    std::erase_if(next.ports, [&](const auto& p) { return p.number == *n; });
    if (next.ports.size() == before) return error(call, bhttp::status::not_found, "not_found");
    auto res = commit(call, std::move(next), fmt::format("port {} removed", *n));
    return res.result() == bhttp::status::ok ? no_content(call) : res;
}

http::Response Api::status(Call& call) {
    auto s = device_.status();
    if (s.contains("error")) return error(call, bhttp::status::service_unavailable, "busy");
    return json_response(call, bhttp::status::ok, s);
}

http::Response Api::port_status(Call& call) {
    auto n = port_number(call.params[0]);
    if (!n) return error(call, bhttp::status::not_found, "not_found");
    auto all = device_.status();
    if (all.contains("error")) return error(call, bhttp::status::service_unavailable, "busy");
    for (const auto& p : all.value("ports", nlohmann::json::array())) {
        if (p.value("number", 0u) == *n) return json_response(call, bhttp::status::ok, p);
    }
    return error(call, bhttp::status::not_found, "not_found");
}

http::Response Api::time(Call& call) {
    // SerialGate runs on a host: its clock is the host's (kept by the host's NTP client); SNTP of
    // its own comes with the services issue.
    return json_response(
        call, bhttp::status::ok,
        {{"utc", core::format_utc(now_())}, {"time_zone", "UTC"}, {"source", "host"}});
}

namespace {

/// GET /api/v1/system/dos (guide §3.7; NE-5 "excess closed/dropped and counted", NE-8 "after the
/// flood all counters are reported"): the counters of the server that accepted this very request
/// (Peer::counters), so nothing from the app is needed. Security area, read.
nlohmann::json counters_json(const http::CountersSnapshot& c) {
    return {
        {"connections",
         {{"accepted", c.connections},
          {"active", c.active},
          {"handshake_failures", c.handshake_failures},
          {"refused",
           {{"global_cap", c.refused_global_cap},
            {"source_cap", c.refused_source_cap},
            {"connection_rate", c.refused_connection_rate},
            {"handshake_rate", c.refused_handshake_rate},
            {"allowlist", c.refused_allowlist}}},
          {"evicted", c.evicted}}},
        {"requests",
         {{"read", c.requests},
          {"too_many_requests",
           {{"source", c.too_many_requests_source}, {"session", c.too_many_requests_session}}},
          {"overloaded", {{"queue", c.overloaded_queue}, {"argon2", c.overloaded_argon2}}},
          {"header_too_large", c.header_too_large},
          {"body_too_large", c.body_too_large}}},
        {"timeouts",
         {{"handshake", c.timeout_handshake},
          {"header", c.timeout_header},
          {"body", c.timeout_body},
          {"write", c.timeout_write},
          {"idle", c.timeout_idle}}},
    };
}

}  // namespace

http::Response Api::services(Call& call) {
    // Guide §3.1: the configuration's services joined with the process's live sockets.
    return json_response(call, bhttp::status::ok, device_.services());
}

http::Response Api::dos_counters(Call& call) {
    // A Peer made without a server (unit tests of the API alone) has no counters: all zero.
    const http::CountersSnapshot c =
        call.peer.counters != nullptr ? call.peer.counters->snapshot() : http::CountersSnapshot{};
    return json_response(call, bhttp::status::ok, counters_json(c));
}

}  // namespace sg::web::api
