// auth_handlers.cpp: identity, login message, first-account setup, login, logout and the caller's
// own session, re-authentication and password (issue 4 §3-§9; IA-1, IA-2, IA-5..IA-8, PW-6, AZ-3,
// WS-1..WS-3, WS-7). Run on the HTTP handler pool: login costs one Argon2id verification there,
// never on the io thread.
#include <fmt/format.h>

#include <set>

#include "web/api/api.h"
#include "web/api/call.h"
#include "web/api/handlers.h"

namespace sg::web::api {

using security::Secret;
using security::accounts::Accounts;

namespace {

// Issue 14 item 6: anyone may POST /setup, and after setup each is refused with this Security
// Warning. Once per source address and minute, the rest counted into a summary of the same type
// (events/rate_limit.h), so a stranger's flood leaves two rows a minute per address, not one row
// per request, and the count is kept.
constexpr events::Limit kSetupRefusedLimit{.burst = 1, .period = std::chrono::seconds(60)};
// IA-7 / AU-2: the throttle's own event, likewise once per source address and minute.
constexpr events::Limit kLoginThrottledLimit{.burst = 1, .period = std::chrono::seconds(60)};

constexpr std::string_view kGenericFailure = "Login failed: wrong account name or password.";

std::string session_cookie(std::string_view value) {
    // WS-3: exactly these attributes; no Domain, no Expires (a browser-session cookie).
    return fmt::format("{}={}; Path=/; Secure; HttpOnly; SameSite=Strict", kCookieName, value);
}

std::string cleared_cookie() {
    return fmt::format("{}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0", kCookieName);
}

/// 429 throttled / 423 locked carry Retry-After (at least 1 s).
http::Response with_retry_after(http::Response res, std::int64_t seconds) {
    res.set(bhttp::field::retry_after, std::to_string(std::max<std::int64_t>(1, seconds)));
    return res;
}

/// {"account","password"}: the body of setup and login; 400 invalid_field otherwise.
struct Credentials {
    std::string account;
    Secret password;
};

std::optional<Credentials> credentials(const Call& call, http::Response& err) {
    auto body = call.body(err);
    if (!body) return std::nullopt;
    auto name = string_field(*body, "account");
    auto password = secret_field(*body, "password");
    if (!name || !password) {
        err = error(call, bhttp::status::bad_request, "invalid_field",
                    "account and password are required strings");
        return std::nullopt;
    }
    return Credentials{std::move(*name), std::move(*password)};
}

}  // namespace

nlohmann::json privileges_json(const security::accounts::Group& g) {
    nlohmann::json p = nlohmann::json::object();
    for (auto area : security::accounts::all_areas()) {
        auto it = g.privileges.find(area);
        p[security::accounts::to_string(area)] = security::accounts::to_string(
            it == g.privileges.end() ? security::accounts::Access::Hidden : it->second);
    }
    return p;
}

http::Response Api::identity(Call& call) {
    // IA-1: model, name and version only — nothing an attacker could use to choose an exploit
    // beyond what the device announces anyway.
    const auto cfg = device_.config();
    auto n = accounts_.count();
    return json_response(call, bhttp::status::ok,
                         {{"model", "SerialGate"},
                          {"device_name", cfg->system.device_name},
                          {"version", device_.version()},
                          {"setup_required", n && *n == 0}});
}

http::Response Api::login_message(Call& call) {
    // IA-8: plain text, never HTML, so a message with markup cannot run in the console.
    return text_response(call, bhttp::status::ok, device_.config()->login.login_message);
}

Api::Argon2Step Api::setup(Call& call) {
    http::Response err;
    auto cred = credentials(call, err);
    if (!cred) return err;
    if (auto n = accounts_.count(); n && *n > 0) {
        log_.emit_limited(events::types::kSetupRefused, call.who(), "an account exists already",
                          kSetupRefusedLimit);
        return error(call, bhttp::status::conflict, "setup_done");
    }
    auto cfg = device_.config();
    if (auto st = security::accounts::check_account_name(cred->account); !st) {
        return error(call, bhttp::status::bad_request, "invalid_name", st.error().message);
    }
    if (auto st =
            security::accounts::check_password(cred->password, cred->account, cfg->password_policy);
        !st) {
        return error(call, bhttp::status::bad_request, "weak_password", st.error().message);
    }
    // In an Argon2id slot (NE-5): the hash of the first password.
    return [this, &call, cfg = std::move(cfg),
            cred = std::make_shared<const Credentials>(std::move(*cred))] {
        const std::string& name = cred->account;
        if (auto st = accounts_.create_first_admin(name, cred->password, cfg->password_policy);
            !st) {
            if (st.error().code == core::make_error_code(core::Errc::refused)) {
                // Lost a race with another setup (API or CLI): the account exists now.
                log_.emit_limited(events::types::kSetupRefused, call.who(),
                                  "an account exists already", kSetupRefusedLimit);
                return error(call, bhttp::status::conflict, "setup_done");
            }
            return error(call, bhttp::status::internal_server_error, "internal_error");
        }
        log_.emit(events::types::kAccountCreated,
                  {.account = name, .source = call.peer.to_string()},
                  "first administrator (setup)");
        device_.accounts_changed();
        return json_response(call, bhttp::status::created,
                             {{"account", name}, {"group", "Administrator"}});
    };
}

Api::Argon2Step Api::login(Call& call) {
    http::Response err;
    auto cred = credentials(call, err);
    if (!cred) return err;
    // In an Argon2id slot (NE-5), taken before Accounts::login checks the source's throttle:
    // the verification (of the dummy hash for an unknown name, IA-5) and maybe a rehash (ST-1).
    return [this, &call, cfg = device_.config(),
            cred = std::make_shared<const Credentials>(std::move(*cred))] {
        return login_in_slot(call, *cfg, cred->account, cred->password);
    };
}

http::Response Api::login_in_slot(Call& call, const config::Config& cfg, const std::string& name,
                                  const Secret& secret) {
    const std::string source = call.peer.address.to_string();
    auto r = accounts_.login(name, secret, source, cfg.login, cfg.password_policy);
    using Outcome = Accounts::LoginResult::Outcome;
    const std::string shown_name = name.substr(0, 64);
    switch (r.outcome) {
        case Outcome::Throttled: return login_throttled(call, r.retry_after_s);
        case Outcome::Locked: {
            log_.emit(events::types::kLoginFailed,
                      {.account = shown_name, .source = call.peer.to_string()}, "account locked");
            return with_retry_after(error(call, bhttp::status::locked, "locked"), r.retry_after_s);
        }
        case Outcome::Failed: {
            log_.emit(events::types::kLoginFailed,
                      {.account = shown_name, .source = call.peer.to_string()});
            if (r.just_locked) {
                log_.emit(events::types::kAccountLocked,
                          {.account = shown_name, .source = call.peer.to_string()},
                          fmt::format("{} failures; locked for {} min",
                                      int{cfg.login.retry_failure_threshold},
                                      int{cfg.login.lockout_duration_min}));
                revoke_monitors_locked(name);
            }
            // IA-5: the same status and body whether the account exists, is disabled or the
            // password is wrong.
            const std::string& custom = cfg.login.login_failure_message;
            return error(call, bhttp::status::unauthorized, "invalid_credentials",
                         custom.empty() ? kGenericFailure : std::string_view(custom));
        }
        case Outcome::Ok: break;
    }
    SG_ASSERT(r.account && r.group);
    // A session the caller already holds ends: one login, one session (WS-1).
    if (auto old = call.req[bhttp::field::cookie]; !old.empty()) {
        (void)sessions_.end_by_cookie(cookie_of(call.req), "a new login from its browser");
    }
    purge_sessions();  // sessions that expired are logged before they free a place (AU-2)
    // WS-7, issue 14 item 10: at the device-wide cap, a login of a group that may end sessions
    // (Account Management write: DELETE /api/v1/sessions/{id}) ends the oldest session of a group
    // that may not, instead of answering 429: Operators' and viewers' sessions cannot lock the
    // administrators out. It does at login what the administrator could do right after, and is
    // logged the same way. The groups are looked up here, outside the session table's lock.
    Sessions::MayEnd may_end;
    std::set<std::string, std::less<>> managers;
    if (r.group->allows(security::accounts::Area::Accounts, true)) {
        for (const auto& s : sessions_.list(cfg.login)) {
            if (managers.contains(s.group)) continue;
            const auto g = accounts_.group(s.group);
            if (g && g->allows(security::accounts::Area::Accounts, true)) managers.insert(s.group);
        }
        may_end = [&managers](const SessionView& s) { return !managers.contains(s.group); };
    }
    auto created = sessions_.create(r.account->name, r.account->group, call.peer.to_string(),
                                    r.account->must_change_password, cfg.login, may_end);
    if (auto* refused = std::get_if<std::string>(&created)) {
        log_.emit(
            events::types::kSessionRefused,
            {.account = r.account->name, .source = call.peer.to_string()},
            fmt::format("{} web sessions at most, {} per account", int{cfg.login.max_web_sessions},
                        int{cfg.login.max_sessions_per_account}));
        return error(call, bhttp::status::too_many_requests, *refused);
    }
    auto& c = std::get<Sessions::Created>(created);
    if (c.ended) {
        log_.emit(events::types::kSessionEnded,
                  {.account = r.account->name, .source = call.peer.to_string()},
                  fmt::format("session {} of {} from {}: all {} web sessions were in use at this "
                              "administrator's login",
                              c.ended->public_id, c.ended->account, c.ended->source,
                              int{cfg.login.max_web_sessions}));
    }
    log_.emit(events::types::kLoginSucceeded,
              {.account = r.account->name, .source = call.peer.to_string()},
              fmt::format("session {}", c.view.public_id));
    nlohmann::json out{{"account", r.account->name},
                       {"group", r.account->group},
                       {"csrf_token", c.view.csrf_token},
                       {"must_change_password", r.account->must_change_password},
                       {"password_expired", r.password_expired},
                       {"privileges", privileges_json(*r.group)}};
    if (r.expires_in_days) out["password_expires_in_days"] = *r.expires_in_days;
    auto res = json_response(call, bhttp::status::ok, out);
    res.set(bhttp::field::set_cookie, session_cookie(c.cookie_value));
    return res;
}

http::Response Api::logout(Call& call) {
    (void)sessions_.end_by_cookie(cookie_of(call.req), "logged out");
    log_.emit(events::types::kLogout, call.who(),
              fmt::format("session {}", call.session->public_id));
    auto res = no_content(call);
    res.set(bhttp::field::set_cookie, cleared_cookie());
    return res;
}

http::Response Api::session_info(Call& call) {
    const auto& s = *call.session;
    auto group = accounts_.group(s.group);
    return json_response(
        call, bhttp::status::ok,
        {{"account", s.account},
         {"group", s.group},
         {"session", s.public_id},
         {"csrf_token", s.csrf_token},
         {"must_change_password", s.must_change_password},
         {"created", core::format_utc(s.created_us)},
         {"privileges", group ? privileges_json(*group) : nlohmann::json::object()}});
}

Api::Argon2Step Api::change_own_password(Call& call) {
    http::Response err;
    auto body = call.body(err);
    if (!body) return err;
    auto current = secret_field(*body, "current_password");
    auto next = secret_field(*body, "new_password");
    if (!current || !next) {
        return error(call, bhttp::status::bad_request, "invalid_field",
                     "current_password and new_password are required strings");
    }
    // In an Argon2id slot (NE-5): two runs, the verification in prove_password and the hash of
    // the new password.
    return [this, &call, cur = std::make_shared<const Secret>(std::move(*current)),
            nxt = std::make_shared<const Secret>(std::move(*next))] {
        // IA-6, IA-7: a wrong current password counts towards the lockout and the source's
        // throttle like a failed login, so a stolen session cannot guess the password here
        // without limit.
        auto proved = prove_password(call, *cur, "a password change", bhttp::status::forbidden,
                                     "wrong_password");
        if (auto* refused = std::get_if<http::Response>(&proved)) return std::move(*refused);
        const auto& account = std::get<security::accounts::Account>(proved);
        const auto cfg = device_.config();
        // `cur` was verified just now: not a second time.
        if (auto refused =
                accounts_.change_own_password_verified(account, *cur, *nxt, cfg->password_policy)) {
            if (refused->code == "wrong_password") {  // changed by someone else meanwhile
                log_.emit(events::types::kLoginFailed, call.who(),
                          "wrong current password on a password change");
            }
            return refusal(call, *refused);
        }
        // PW-6: every other session of this account ends; this one goes on, freshly
        // authenticated (AZ-3: the current password was just proved).
        const auto ended = sessions_.end_account(call.account(), call.session->public_id,
                                                 "the password was changed in another session");
        sessions_.set_must_change(call.session->public_id, false);
        sessions_.set_reauthenticated(call.session->public_id);
        log_.emit(events::types::kPasswordChanged, call.who(),
                  fmt::format("own password; {} other session(s) ended", ended));
        return no_content(call);
    };
}

Api::Argon2Step Api::reauthenticate(Call& call) {
    http::Response err;
    auto body = call.body(err);
    if (!body) return err;
    auto password = secret_field(*body, "password");
    if (!password) {
        return error(call, bhttp::status::bad_request, "invalid_field",
                     "password is a required string");
    }
    // In an Argon2id slot (NE-5): the verification in prove_password.
    return [this, &call, password = std::make_shared<const Secret>(std::move(*password))] {
        auto proved = prove_password(call, *password, "re-authentication",
                                     bhttp::status::unauthorized, "invalid_credentials");
        if (auto* refused = std::get_if<http::Response>(&proved)) return std::move(*refused);
        sessions_.set_reauthenticated(call.session->public_id);
        log_.emit(events::types::kLoginSucceeded, call.who(),
                  fmt::format("re-authentication; session {}", call.session->public_id));
        return no_content(call);
    };
}

http::Response Api::login_throttled(const Call& call, std::int64_t retry_after_s) {
    log_.emit_limited(events::types::kLoginThrottled, {.source = call.peer.to_string()},
                      "more than 10 failed logins in a minute from this address",
                      kLoginThrottledLimit);
    return with_retry_after(error(call, bhttp::status::too_many_requests, "throttled"),
                            retry_after_s);
}

std::variant<security::accounts::Account, http::Response> Api::prove_password(
    Call& call, const Secret& password, std::string_view what, bhttp::status wrong_status,
    std::string_view wrong_code) {
    const auto cfg = device_.config();
    const std::string source = call.peer.address.to_string();
    // The login path itself (IA-5..IA-7): throttle before Argon2id, lock checked, failure counted
    // and persisted, success clears the count. Its session-free result is all we use.
    auto r = accounts_.login(call.account(), password, source, cfg->login, cfg->password_policy);
    using Outcome = Accounts::LoginResult::Outcome;
    switch (r.outcome) {
        case Outcome::Ok: {
            SG_ASSERT(r.account);  // login sets it on Ok
            return std::move(*r.account);
        }
        case Outcome::Throttled: return login_throttled(call, r.retry_after_s);
        case Outcome::Locked:
            log_.emit(events::types::kLoginFailed, call.who(),
                      fmt::format("account locked; {} refused", what));
            return with_retry_after(error(call, bhttp::status::locked, "locked"), r.retry_after_s);
        case Outcome::Failed: break;
    }
    // A stolen session guessing the password shows in the audit trail.
    log_.emit(events::types::kLoginFailed, call.who(), fmt::format("wrong password on {}", what));
    auto res = error(call, wrong_status, wrong_code, "the password is not correct");
    if (r.just_locked) {
        // The session that guessed the account into its lock ends with it; the account's other
        // sessions go on (they answer 423 here until the lock ends).
        (void)sessions_.end(call.session->public_id, "account locked");
        revoke_monitors_locked(call.account());
        log_.emit(events::types::kAccountLocked, call.who(),
                  fmt::format("{} failures; locked for {} min; session {} ended",
                              int{cfg->login.retry_failure_threshold},
                              int{cfg->login.lockout_duration_min}, call.session->public_id));
        res.set(bhttp::field::set_cookie, cleared_cookie());
    }
    return res;
}

}  // namespace sg::web::api
