// api.cpp: the route table and the checks every request passes before its handler (issue 4 §3),
// in this order: route lookup (401 for anything unmatched without a session, else 404/405), session
// from the cookie (401, WS-1..WS-3), CSRF token and Origin for state-changing requests (403,
// WS-4), forced password change (403, PW-5), privilege of the caller's group for the route's menu
// area (403, AZ-1), and for a sensitive route a recent proof of the password (401
// reauth_required, AZ-3). Right after the session is found, its request bucket (429
// too_many_requests, NE-5; the HTTP server has already applied the per-source one). A route whose
// handler runs Argon2id then has the handler check its request, and runs the rest holding an
// Argon2id slot (503 overloaded, NE-5). Runs on the HTTP handler pool.
#include "web/api/api.h"

#include <fmt/format.h>
#include <sodium.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>

#include "web/api/call.h"
#include "web/api/handlers.h"
#include "web/http/counters.h"

namespace sg::web::api {

using security::accounts::Area;
using Auth = Api::Route::Auth;
using Reauth = Api::Route::Reauth;
using bhttp::verb;

const std::vector<Api::Route>& Api::routes() {
    // clang-format off
    static const std::vector<Route> table = {
        // The rows marked Argon2id have handlers of type Route::Argon2Handler: dispatch holds an
        // Argon2id slot for their work (NE-5).
        // Before login (IA-1): identity, login message, setup, login.
        {verb::get,    "/api/v1/identity",               Auth::Public,  Area::Overview, false, Reauth::No,       &Api::identity},
        {verb::get,    "/api/v1/login-message",          Auth::Public,  Area::Overview, false, Reauth::No,       &Api::login_message},
        {verb::post,   "/api/v1/setup",                  Auth::Public,  Area::Overview, false, Reauth::No,       &Api::setup},  // Argon2id
        {verb::post,   "/api/v1/login",                  Auth::Public,  Area::Overview, false, Reauth::No,       &Api::login},  // Argon2id
        // The caller's own session and password: allowed during a forced password change.
        {verb::post,   "/api/v1/logout",                 Auth::SessionDuringForcedChange, Area::Overview, false, Reauth::No,       &Api::logout},
        {verb::get,    "/api/v1/session",                Auth::SessionDuringForcedChange, Area::Overview, false, Reauth::No,       &Api::session_info},
        {verb::put,    "/api/v1/session/password",       Auth::SessionDuringForcedChange, Area::Overview, false, Reauth::No,       &Api::change_own_password},  // Argon2id
        {verb::post,   "/api/v1/session/reauth",         Auth::SessionDuringForcedChange, Area::Overview, false, Reauth::No,       &Api::reauthenticate},  // Argon2id
        // Account Management (guide §3.4).
        {verb::get,    "/api/v1/accounts",               Auth::Session, Area::Accounts, false, Reauth::No,       &Api::list_accounts},
        {verb::post,   "/api/v1/accounts",               Auth::Session, Area::Accounts, true,  Reauth::Required, &Api::create_account},  // Argon2id
        {verb::get,    "/api/v1/accounts/{}",            Auth::Session, Area::Accounts, false, Reauth::No,       &Api::get_account},
        {verb::patch,  "/api/v1/accounts/{}",            Auth::Session, Area::Accounts, true,  Reauth::Required, &Api::update_account},
        {verb::delete_,"/api/v1/accounts/{}",            Auth::Session, Area::Accounts, true,  Reauth::Required, &Api::delete_account},
        {verb::put,    "/api/v1/accounts/{}/password",   Auth::Session, Area::Accounts, true,  Reauth::Required, &Api::reset_password},  // Argon2id
        {verb::post,   "/api/v1/accounts/{}/unlock",     Auth::Session, Area::Accounts, true,  Reauth::Required, &Api::unlock_account},
        {verb::get,    "/api/v1/groups",                 Auth::Session, Area::Accounts, false, Reauth::No,       &Api::list_groups},
        {verb::put,    "/api/v1/groups/{}",              Auth::Session, Area::Accounts, true,  Reauth::Required, &Api::put_group},
        {verb::delete_,"/api/v1/groups/{}",              Auth::Session, Area::Accounts, true,  Reauth::Required, &Api::delete_group},
        {verb::get,    "/api/v1/sessions",               Auth::Session, Area::Accounts, false, Reauth::No,       &Api::list_sessions},
        {verb::delete_,"/api/v1/sessions/{}",            Auth::Session, Area::Accounts, true,  Reauth::No,       &Api::end_session},
        // Security: password policy, login settings, HTTPS, certificate (guide §3.3, §3.4).
        {verb::get,    "/api/v1/password-policy",        Auth::Session, Area::Security, false, Reauth::No,       &Api::get_section},
        {verb::put,    "/api/v1/password-policy",        Auth::Session, Area::Security, true,  Reauth::Required, &Api::put_section},
        {verb::get,    "/api/v1/login-settings",         Auth::Session, Area::Security, false, Reauth::No,       &Api::get_section},
        {verb::put,    "/api/v1/login-settings",         Auth::Session, Area::Security, true,  Reauth::Required, &Api::put_section},
        {verb::get,    "/api/v1/https",                  Auth::Session, Area::Security, false, Reauth::No,       &Api::get_section},
        {verb::get,    "/api/v1/allowlist",              Auth::Session, Area::Security, false, Reauth::No,       &Api::get_section},
        {verb::put,    "/api/v1/allowlist",              Auth::Session, Area::Security, true,  Reauth::Required, &Api::put_section},
        {verb::get,    "/api/v1/system/dos",             Auth::Session, Area::Security, false, Reauth::No,       &Api::dos_counters},
        // Services on/off (guide §3.1) and the data plane's DoS bounds (guide §3.7).
        {verb::get,    "/api/v1/services",               Auth::Session, Area::Security, false, Reauth::No,       &Api::services},
        {verb::get,    "/api/v1/serial-dos",             Auth::Session, Area::Security, false, Reauth::No,       &Api::get_section},
        {verb::put,    "/api/v1/serial-dos",             Auth::Session, Area::Security, true,  Reauth::Required, &Api::put_section},
        {verb::put,    "/api/v1/https",                  Auth::Session, Area::Security, true,  Reauth::Required, &Api::put_section},
        {verb::get,    "/api/v1/certificate",            Auth::Session, Area::Security, false, Reauth::No,       &Api::get_certificate},
        {verb::get,    "/api/v1/certificate/pem",        Auth::Session, Area::Security, false, Reauth::No,       &Api::download_certificate},
        {verb::put,    "/api/v1/certificate",            Auth::Session, Area::Security, true,  Reauth::Required, &Api::import_certificate},
        {verb::post,   "/api/v1/certificate/regenerate", Auth::Session, Area::Security, true,  Reauth::Required, &Api::regenerate_certificate},
        {verb::get,    "/api/v1/remote-certificates",    Auth::Session, Area::Security, false, Reauth::No,       &Api::list_remote_certificates},
        {verb::post,   "/api/v1/remote-certificates",    Auth::Session, Area::Security, true,  Reauth::Required, &Api::add_remote_certificates},
        {verb::delete_,"/api/v1/remote-certificates/{}", Auth::Session, Area::Security, true,  Reauth::Required, &Api::delete_remote_certificate},
        // System settings: identity, date and time.
        {verb::get,    "/api/v1/system",                 Auth::Session, Area::System,   false, Reauth::No,       &Api::get_section},
        {verb::put,    "/api/v1/system",                 Auth::Session, Area::System,   true,  Reauth::No,       &Api::put_section},
        {verb::get,    "/api/v1/time",                   Auth::Session, Area::System,   false, Reauth::No,       &Api::time},
        // Serial ports and their operation modes.
        {verb::get,    "/api/v1/ports",                  Auth::Session, Area::Serial,   false, Reauth::No,       &Api::list_ports},
        {verb::get,    "/api/v1/ports/{}",               Auth::Session, Area::Serial,   false, Reauth::No,       &Api::get_port},
        {verb::put,    "/api/v1/ports/{}",               Auth::Session, Area::Serial,   true,  Reauth::No,       &Api::put_port},
        {verb::delete_,"/api/v1/ports/{}",               Auth::Session, Area::Serial,   true,  Reauth::No,       &Api::delete_port},
        // Overview: the port monitor.
        {verb::get,    "/api/v1/status",                 Auth::Session, Area::Overview, false, Reauth::No,       &Api::status},
        {verb::get,    "/api/v1/status/ports/{}",        Auth::Session, Area::Overview, false, Reauth::No,       &Api::port_status},
        // Diagnostics: the event log (guide §3.6).
        {verb::get,    "/api/v1/event-log/settings",     Auth::Session, Area::Diagnostics, false, Reauth::No,       &Api::get_section},
        {verb::put,    "/api/v1/event-log/settings",     Auth::Session, Area::Diagnostics, true,  Reauth::No,       &Api::put_section},
        {verb::get,    "/api/v1/event-log/types",        Auth::Session, Area::Diagnostics, false, Reauth::No,       &Api::event_types},
        {verb::get,    "/api/v1/event-log/status",       Auth::Session, Area::Diagnostics, false, Reauth::No,       &Api::event_log_status},
        {verb::get,    "/api/v1/events",                 Auth::Session, Area::Diagnostics, false, Reauth::No,       &Api::list_events},
        {verb::get,    "/api/v1/ports/{}/monitor/ws",    Auth::Session, Area::Diagnostics, false, Reauth::No,       &Api::monitor},
        {verb::get,    "/api/v1/events.csv",             Auth::Session, Area::Diagnostics, false, Reauth::No,       &Api::export_events},
        // Maintenance: the whole configuration (the same document as `config export/import`).
        {verb::get,    "/api/v1/config",                 Auth::Session, Area::Maintenance, false, Reauth::No,       &Api::get_config},
        {verb::put,    "/api/v1/config",                 Auth::Session, Area::Maintenance, true,  Reauth::Required, &Api::put_config},
    };
    // clang-format on
    return table;
}

namespace {

constexpr std::size_t kMaxSegments = 8;

std::vector<std::string_view> split_path(std::string_view path) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < path.size() && out.size() <= kMaxSegments) {
        if (path[i] == '/') {
            ++i;
            continue;
        }
        const std::size_t j = path.find('/', i);
        out.push_back(path.substr(i, j == std::string_view::npos ? path.size() - i : j - i));
        if (j == std::string_view::npos) break;
        i = j;
    }
    return out;
}

/// Percent-decoding of one path segment; nullopt on a malformed escape or a decoded '/' or NUL.
std::optional<std::string> decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out.push_back(s[i]);
            continue;
        }
        if (i + 2 >= s.size()) return std::nullopt;
        auto hex = [](char c) -> int {
            if (c >= '0' && c <= '9') return c - '0';
            if (c >= 'a' && c <= 'f') return c - 'a' + 10;
            if (c >= 'A' && c <= 'F') return c - 'A' + 10;
            return -1;
        };
        const int hi = hex(s[i + 1]);
        const int lo = hex(s[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        const char c = static_cast<char>(hi * 16 + lo);
        if (c == '/' || c == '\0') return std::nullopt;
        out.push_back(c);
        i += 2;
    }
    return out;
}

/// Matches a pattern; fills params.
bool match(std::string_view pattern, const std::vector<std::string_view>& segs,
           std::vector<std::string>& params) {
    const auto pat = split_path(pattern);
    if (pat.size() != segs.size()) return false;
    std::vector<std::string> got;
    for (std::size_t i = 0; i < pat.size(); ++i) {
        if (pat[i] == "{}") {
            auto d = decode(segs[i]);
            if (!d || d->empty()) return false;
            got.push_back(std::move(*d));
        } else if (pat[i] != segs[i]) {
            return false;
        }
    }
    params = std::move(got);
    return true;
}

std::string_view cookie_value_of(const http::Request& req, std::string_view name) {
    for (auto it = req.find(bhttp::field::cookie);
         it != req.end() && it->name() == bhttp::field::cookie; ++it) {
        std::string_view v = it->value();
        while (!v.empty()) {
            const std::size_t semi = v.find(';');
            std::string_view part = v.substr(0, semi);
            while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
            if (part.size() > name.size() && part.substr(0, name.size()) == name &&
                part[name.size()] == '=') {
                return part.substr(name.size() + 1);
            }
            if (semi == std::string_view::npos) break;
            v.remove_prefix(semi + 1);
        }
    }
    return {};
}

/// WS-4: an Origin (or, without one, a Referer) that is present must name this very host.
bool same_origin(const http::Request& req) {
    const auto host = req[bhttp::field::host];
    auto check = [&](std::string_view url) {
        constexpr std::string_view kScheme = "https://";
        if (url.substr(0, kScheme.size()) != kScheme) return false;
        url.remove_prefix(kScheme.size());
        const std::size_t slash = url.find('/');
        return !host.empty() && url.substr(0, slash) == host;
    };
    if (auto o = req[bhttp::field::origin]; !o.empty()) return check(o);
    if (auto r = req[bhttp::field::referer]; !r.empty()) return check(r);
    return true;  // non-browser clients (curl, scripts) send neither; the token still applies
}

}  // namespace

std::string_view cookie_of(const http::Request& req) {
    return cookie_value_of(req, kCookieName);
}

Api::Api(Device& device, store::Store& store, events::Log& log,
         std::function<std::int64_t()> now_utc_us, security::accounts::HashCost cost)
    : device_(device),
      store_(store),
      log_(log),
      now_(std::move(now_utc_us)),
      accounts_(store, now_, cost),
      sessions_(now_) {}

http::Response Api::handle(http::Request&& req, const http::Peer& peer) {
    // The handler threads yield to the data plane: a login flood's Argon2id runs compete with the
    // io thread for CPU only at a low priority (nice 10; Linux nice is per thread).
    thread_local const bool lowered = [] {
        (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);
        return true;
    }();
    (void)lowered;
    auto res = dispatch(req, peer);
    // ST-4: a body may hold a password or a private key; it does not outlive the request.
    if (!req.body().empty()) sodium_memzero(req.body().data(), req.body().size());
    return res;
}

http::Response Api::dispatch(http::Request& req, const http::Peer& peer) {
    const std::string_view target = req.target();
    const std::size_t q = target.find('?');
    Call call{
        .req = req,
        .peer = peer,
        .session = std::nullopt,
        .params = {},
        .path = std::string(target.substr(0, q)),
        .query = q == std::string_view::npos ? std::string() : std::string(target.substr(q + 1))};

    const auto segs = split_path(call.path);
    const Route* route = nullptr;
    bool path_known = false;
    for (const Route& r : routes()) {
        std::vector<std::string> params;
        if (!match(r.pattern, segs, params)) continue;
        path_known = true;
        const bool head_as_get = req.method() == verb::head && r.method == verb::get;
        if (r.method == req.method() || head_as_get) {
            route = &r;
            call.params = std::move(params);
            break;
        }
    }
    if (!route) {
        // IA-1/IA-4: without a session an unknown path says no more than a known one.
        const auto cfg = device_.config();
        const auto s = sessions_.touch(cookie_of(req), cfg->login);
        if (!s) return error(call, bhttp::status::unauthorized, "unauthenticated");
        if (auto limited = session_rate_limited(call, *s, cfg->https.dos)) {
            return std::move(*limited);
        }
        if (!path_known) return error(call, bhttp::status::not_found, "not_found");
        std::string allow;
        for (const Route& r : routes()) {
            std::vector<std::string> ignored;
            if (match(r.pattern, segs, ignored)) {
                allow += (allow.empty() ? "" : ", ") + std::string(bhttp::to_string(r.method));
                if (r.method == verb::get) allow += ", HEAD";
            }
        }
        auto res = error(call, bhttp::status::method_not_allowed, "method_not_allowed");
        res.set(bhttp::field::allow, allow);
        return res;
    }

    const bool writes = req.method() != verb::get && req.method() != verb::head;
    if (route->auth == Auth::Public) {
        if (writes && !same_origin(req)) return error(call, bhttp::status::forbidden, "csrf");
        return run_handler(*route, call);
    }

    const auto cfg = device_.config();
    call.session = sessions_.touch(cookie_of(req), cfg->login);
    if (!call.session) return error(call, bhttp::status::unauthorized, "unauthenticated");
    if (auto limited = session_rate_limited(call, *call.session, cfg->https.dos)) {
        return std::move(*limited);
    }
    if (writes) {
        const auto token = req["X-CSRF-Token"];
        if (!same_origin(req) || !tokens_equal(token, call.session->csrf_token)) {
            log_.emit(events::types::kAccessDenied, call.who(),
                      fmt::format("{} {}: CSRF token or origin refused",
                                  std::string_view(req.method_string()), call.path));
            return error(call, bhttp::status::forbidden, "csrf");
        }
    }
    if (call.session->must_change_password && route->auth != Auth::SessionDuringForcedChange) {
        return error(call, bhttp::status::forbidden, "password_change_required");
    }
    if (route->auth == Auth::Session) {
        const auto group = accounts_.group(call.session->group);
        if (!group || !group->allows(route->area, route->write)) {
            log_.emit(
                events::types::kAccessDenied, call.who(),
                fmt::format("{} {}: group {} lacks {} {}", std::string_view(req.method_string()),
                            call.path, call.session->group, route->write ? "write" : "read",
                            security::accounts::to_string(route->area)));
            return error(call, bhttp::status::forbidden, "forbidden");
        }
    }
    // AZ-3 (ASVS 3.7.1): a sensitive action needs the password proved within kReauthWindowUs, so a
    // session left open or stolen cannot change accounts, policy, certificates or the whole
    // configuration. Checked last: a caller without the privilege learns nothing from it.
    if (route->reauth == Reauth::Required && !sessions_.recently_authenticated(*call.session)) {
        return error(call, bhttp::status::unauthorized, "reauth_required",
                     "confirm your password with POST /api/v1/session/reauth");
    }
    return run_handler(*route, call);
}

http::Response Api::run_handler(const Route& route, Call& call) {
    if (const auto* plain = std::get_if<Route::Handler>(&route.handler)) {
        return (this->*(*plain))(call);
    }
    // NE-5: the handler checks the request first, so what needs no Argon2id (a malformed body,
    // setup done, ...) is answered as before, without waiting for a slot. Then its work runs in
    // one slot, every Argon2id run of it included (hash_password and verify_password use this
    // thread's slot); no slot within https.dos.argon2_max_wait_ms (default kArgon2MaxWait): 503
    // and no Argon2id, nothing counted against the account.
    auto step = (this->*std::get<Route::Argon2Handler>(route.handler))(call);
    if (auto* answer = std::get_if<http::Response>(&step)) return std::move(*answer);
    const std::chrono::milliseconds wait(device_.config()->https.dos.argon2_max_wait_ms);
    const security::accounts::Argon2Slot slot(wait);
    if (!slot.acquired()) return argon2_busy(call);
    return std::get<InArgon2Slot>(step)();
}

std::optional<http::Response> Api::session_rate_limited(const Call& call, const SessionView& s,
                                                        const config::DosSettings& dos) {
    const auto wait = sessions_.take_request_token(s.public_id, dos);
    if (!wait) return std::nullopt;
    if (call.peer.counters != nullptr) {
        http::Counters::bump(call.peer.counters->too_many_requests_session);
    }
    // AU-2: with the account whose session is over its rate, once per source and minute.
    log_.emit_limited(events::types::kDosRefused, call.who(), "https: session request rate (429)",
                      events::kRefusalLimit);
    // The same answer as the HTTP server's per-source 429 (precheck.h), made here with error():
    // the API files build without the server's (api_request_fuzz).
    auto res = error(call, bhttp::status::too_many_requests, "too_many_requests");
    res.set(bhttp::field::retry_after, std::to_string(std::max<std::int64_t>(1, wait->count())));
    return res;
}

http::Response Api::argon2_busy(const Call& call) {
    if (call.peer.counters != nullptr) http::Counters::bump(call.peer.counters->overloaded_argon2);
    log_.emit_limited(events::types::kDosRefused, call.who(),
                      "https: no password-hashing slot free (503)", events::kRefusalLimit);
    auto res = error(call, bhttp::status::service_unavailable, "overloaded");
    res.set(bhttp::field::retry_after, "1");
    return res;
}

bool Api::allowed(const Call& call, security::accounts::Area area, bool write) {
    if (!call.session) return false;
    const auto group = accounts_.group(call.session->group);
    if (group && group->allows(area, write)) return true;
    log_.emit(events::types::kAccessDenied, call.who(),
              fmt::format("{} {}: group {} lacks {} {}", std::string_view(call.req.method_string()),
                          call.path, call.session->group, write ? "write" : "read",
                          security::accounts::to_string(area)));
    return false;
}

void Api::purge_sessions() {
    const auto cfg = device_.config();
    for (const auto& s : sessions_.purge(cfg->login)) {
        log_.emit(events::types::kSessionExpired, {.account = s.account, .source = s.source},
                  fmt::format("session {}", s.public_id));
    }
}

void Api::revoke_monitors_locked(std::string_view account) {
    (void)sessions_.revoke_monitors([&](const SessionView& s) { return s.account == account; },
                                    "account locked");
}

void Api::end_sessions_outside(const security::allowlist::Allowlist& allowlist) {
    const auto outside = [&](const SessionView& s) {
        // The login source as http::Peer::to_string() wrote it: "a.b.c.d:port", "[v6]:port".
        std::string_view host = s.source;
        if (host.starts_with('[')) {
            host = host.substr(1, host.find(']') - 1);
        } else if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
            host = host.substr(0, colon);
        }
        boost::system::error_code ec;
        const auto address = boost::asio::ip::make_address(std::string(host), ec);
        return !ec && !allowlist.allows(address);
    };
    auto ended = sessions_.end_if(outside, "its source is no longer allowed");
    for (const auto& s : ended) {
        log_.emit(events::types::kSessionEnded, {.account = s.account, .source = s.source},
                  fmt::format("session {}: its source is no longer allowed by the allowlist (NE-4)",
                              s.public_id));
    }
}

// ---------------------------------------------------------------- Call and responses

std::optional<nlohmann::json> Call::body(http::Response& err) const {
    // The media type exactly (issue 14 item 11): "application/jsonp" or "application/json-seq"
    // is not JSON; "; charset=utf-8" and the letter case do not matter (RFC 9110 §8.3.1).
    if (!http::media_type_is(req[bhttp::field::content_type], "application/json")) {
        err = error(*this, bhttp::status::unsupported_media_type, "json_required");
        return std::nullopt;
    }
    // Nesting is bounded before parsing: our documents are at most a few levels deep.
    int depth = 0;
    bool in_string = false;
    bool escaped = false;
    for (char c : req.body()) {
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"')
            in_string = true;
        else if (c == '{' || c == '[') {
            if (++depth > 16) {
                err = error(*this, bhttp::status::bad_request, "bad_json", "nested too deeply");
                return std::nullopt;
            }
        } else if (c == '}' || c == ']') {
            --depth;
        }
    }
    auto j = nlohmann::json::parse(req.body(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        err =
            error(*this, bhttp::status::bad_request, "bad_json", "the body must be a JSON object");
        return std::nullopt;
    }
    return j;
}

events::Fields Call::who() const {
    return {.port = std::nullopt, .account = account(), .source = peer.to_string()};
}

std::optional<std::string> Call::query_param(std::string_view name) const {
    std::string_view q = query;
    while (!q.empty()) {
        const std::size_t amp = q.find('&');
        std::string_view kv = q.substr(0, amp);
        const std::size_t eq = kv.find('=');
        if (kv.substr(0, eq) == name) {
            std::string raw(eq == std::string_view::npos ? std::string_view() : kv.substr(eq + 1));
            for (char& c : raw) {
                if (c == '+') c = ' ';
            }
            return decode(raw);
        }
        if (amp == std::string_view::npos) break;
        q.remove_prefix(amp + 1);
    }
    return std::nullopt;
}

http::Response json_response(const Call& call, bhttp::status status, const nlohmann::json& body) {
    http::Response res{status, call.req.version()};
    res.set(bhttp::field::content_type, "application/json; charset=utf-8");
    res.keep_alive(call.req.keep_alive());
    res.body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    res.prepare_payload();
    return res;
}

http::Response no_content(const Call& call) {
    http::Response res{bhttp::status::no_content, call.req.version()};
    res.keep_alive(call.req.keep_alive());
    res.prepare_payload();
    return res;
}

http::Response error(const Call& call, bhttp::status status, std::string_view code,
                     std::string_view message) {
    nlohmann::json body{{"error", code}};
    if (!message.empty()) body["message"] = message;
    return json_response(call, status, body);
}

http::Response text_response(const Call& call, bhttp::status status, std::string body,
                             std::string_view content_type) {
    http::Response res{status, call.req.version()};
    res.set(bhttp::field::content_type, content_type);
    res.keep_alive(call.req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

std::optional<security::Secret> secret_field(nlohmann::json& body, const char* name) {
    auto it = body.find(name);
    if (it == body.end() || !it->is_string()) return std::nullopt;
    auto& s = it->get_ref<std::string&>();
    security::Secret out{std::string(s)};
    sodium_memzero(s.data(), s.size());
    return out;
}

std::optional<std::uint32_t> port_number(std::string_view s) {
    std::uint32_t n = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || p != s.data() + s.size() || n == 0 || n > 4096) return std::nullopt;
    return n;
}

std::optional<std::string> string_field(const nlohmann::json& body, const char* name) {
    auto it = body.find(name);
    if (it == body.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
}

}  // namespace sg::web::api
