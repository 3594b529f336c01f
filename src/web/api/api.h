// api.h: the REST API under /api/v1 (issue 4, docs/openapi.yaml). One route table maps method and
// path to a handler, the session it needs and the privilege (menu area, read or write) it checks
// (AZ-1); authentication, CSRF (WS-4), the forced password change (PW-5) and the re-authentication
// of sensitive actions (AZ-3) are enforced here, once, before any handler runs. `handle` is the
// http::Handler: it runs on the HTTP server's handler pool, may block on SQLite and Argon2id, and
// is thread-safe.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "events/log.h"
#include "security/accounts/accounts.h"
#include "security/allowlist/allowlist.h"
#include "store/store.h"
#include "web/api/device.h"
#include "web/api/sessions.h"
#include "web/http/server.h"

namespace sg::web::api {

struct Call;

class Api {
public:
    /// `cost` is ST-1's Argon2id cost; only unit tests pass a cheaper one.
    Api(Device& device, store::Store& store, events::Log& log,
        std::function<std::int64_t()> now_utc_us = core::now_utc_us,
        security::accounts::HashCost cost = {});

    http::Response handle(http::Request&& req, const http::Peer& peer);

    /// Ends expired sessions and logs them (AU-2); the app calls it every few seconds.
    void purge_sessions();
    /// NE-4: ends every web session whose login source `allowlist` no longer allows, and logs
    /// each (security.session_ended). The app calls it when the allowlist in force changed.
    void end_sessions_outside(const security::allowlist::Allowlist& allowlist);

    Sessions& sessions() { return sessions_; }
    /// The accounts behind the API (tests read their Argon2id work counters).
    security::accounts::Accounts& accounts() { return accounts_; }

    /// NE-5: the part of a handler that runs Argon2id. dispatch calls it holding an Argon2id slot,
    /// on the request's thread, before it returns (so it may refer to the Call).
    using InArgon2Slot = std::function<http::Response()>;
    /// What the handler of an Argon2id route returns: the answer itself when the request is
    /// settled before any Argon2id run (400 invalid_field, 409 setup_done, ...: as fast as any
    /// other request, and never waiting for a slot), or the rest of its work.
    using Argon2Step = std::variant<http::Response, InArgon2Slot>;

    /// One row of the route table (public for the OpenAPI coverage test).
    struct Route {
        boost::beast::http::verb method;
        std::string_view pattern;  // "/api/v1/accounts/{}": {} matches one path segment
        enum class Auth { Public, Session, SessionDuringForcedChange } auth;
        security::accounts::Area area;
        bool write;
        /// AZ-3: Required answers 401 reauth_required unless the session proved its password
        /// within kReauthWindowUs (login, POST /api/v1/session/reauth, own password change).
        enum class Reauth { No, Required } reauth;
        /// Runs the whole request.
        using Handler = http::Response (Api::*)(Call&);
        /// NE-5: a route whose handler hashes or verifies a password has one of these. dispatch
        /// runs what it returns holding an Argon2id slot, for that part's whole run; no slot within
        /// https.dos.argon2_max_wait_ms answers 503 overloaded (argon2_busy). The property is the
        /// handler's type, not a column: a route cannot have it without a handler split at the slot
        /// (nor the reverse), and the table keeps the row shape that tests/check_openapi.py reads.
        using Argon2Handler = Argon2Step (Api::*)(Call&);
        std::variant<Handler, Argon2Handler> handler;

        bool needs_argon2_slot() const { return std::holds_alternative<Argon2Handler>(handler); }
    };
    static const std::vector<Route>& routes();

private:
    friend struct Call;
    http::Response dispatch(http::Request& req, const http::Peer& peer);
    /// The route's handler; for an Argon2id route with the Argon2id slot taken between its check
    /// and its work (NE-5).
    http::Response run_handler(const Route& route, Call& call);
    // auth_handlers.cpp
    http::Response identity(Call&);
    http::Response login_message(Call&);
    Argon2Step setup(Call&);
    Argon2Step login(Call&);
    /// login's work in its Argon2id slot; `cfg` as the request found it.
    http::Response login_in_slot(Call& call, const config::Config& cfg, const std::string& name,
                                 const security::Secret& secret);
    http::Response logout(Call&);
    http::Response session_info(Call&);
    Argon2Step change_own_password(Call&);
    Argon2Step reauthenticate(Call&);
    // account_handlers.cpp
    http::Response list_accounts(Call&);
    Argon2Step create_account(Call&);
    http::Response get_account(Call&);
    http::Response update_account(Call&);
    http::Response delete_account(Call&);
    Argon2Step reset_password(Call&);
    http::Response unlock_account(Call&);
    http::Response list_groups(Call&);
    http::Response put_group(Call&);
    http::Response delete_group(Call&);
    http::Response list_sessions(Call&);
    http::Response end_session(Call&);
    // config_handlers.cpp
    http::Response get_section(Call&);
    http::Response put_section(Call&);
    http::Response get_config(Call&);
    http::Response put_config(Call&);
    http::Response list_ports(Call&);
    http::Response get_port(Call&);
    http::Response put_port(Call&);
    http::Response delete_port(Call&);
    http::Response status(Call&);
    http::Response port_status(Call&);
    http::Response time(Call&);
    http::Response dos_counters(Call&);
    http::Response services(Call&);
    // event_handlers.cpp
    http::Response list_events(Call&);
    http::Response export_events(Call&);
    http::Response event_types(Call&);
    http::Response event_log_status(Call&);
    // monitor_handlers.cpp (issue 13 item 4)
    http::Response monitor(Call&);
    // cert_handlers.cpp
    http::Response get_certificate(Call&);
    http::Response download_certificate(Call&);
    http::Response import_certificate(Call&);
    http::Response regenerate_certificate(Call&);
    // remote_ca_handlers.cpp
    http::Response list_remote_certificates(Call&);
    http::Response add_remote_certificates(Call&);
    http::Response delete_remote_certificate(Call&);

    /// AZ-3, IA-6, IA-7: the session's owner proves its password again. Runs the login path of
    /// Accounts (one Argon2id verification), so a wrong password counts towards the account's
    /// lockout and the source's throttle exactly as a failed login does. When the password is
    /// right, the account as that login read it (what Accounts::change_own_password_verified
    /// takes); otherwise the answer: 429 throttled, 423 locked, or `wrong_status` `wrong_code`.
    /// The session whose failure locks the account ends (a stolen session stops guessing there).
    std::variant<security::accounts::Account, http::Response> prove_password(
        Call& call, const security::Secret& password, std::string_view what,
        boost::beast::http::status wrong_status, std::string_view wrong_code);
    /// IA-7: 429 throttled + Retry-After for a source over its failed-login rate (login and
    /// prove_password alike); the audit event at most once per source and minute, with a count
    /// (events::Log::emit_limited).
    http::Response login_throttled(const Call& call, std::int64_t retry_after_s);
    http::Response commit(Call& call, config::Config next, std::string_view what);
    /// A document the schema refused: 400 invalid_config with every problem, except an enabled
    /// allowlist with no entries: 409 would_lock_out (NE-3).
    http::Response refused_config(Call& call, const std::vector<config::Problem>& problems);
    /// NE-5: 503 overloaded + Retry-After for a request that found no Argon2id slot within
    /// https.dos.argon2_max_wait_ms; counted (Peer::counters).
    http::Response argon2_busy(const Call& call);
    /// NE-5: takes a token of the session's request bucket (sized by `dos`, the configuration the
    /// request found); the 429 answer (counted) when empty.
    std::optional<http::Response> session_rate_limited(const Call& call, const SessionView& s,
                                                       const config::DosSettings& dos);
    /// Whether the caller's group has `area` (for handlers that span two areas).
    bool allowed(const Call& call, security::accounts::Area area, bool write);
    /// Issue 13: `account` was just locked; the open serial monitors of its sessions end (the
    /// sessions go on, IA-6: a guesser must not be able to log the account's user out).
    void revoke_monitors_locked(std::string_view account);

    Device& device_;
    store::Store& store_;
    events::Log& log_;
    std::function<std::int64_t()> now_;
    security::accounts::Accounts accounts_;
    Sessions sessions_;
};

}  // namespace sg::web::api
