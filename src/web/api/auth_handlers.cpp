// auth_handlers.cpp: identity, login message, first-account setup, login, logout and the caller's
// own session and password (issue 4 §3-§9; IA-1, IA-2, IA-5..IA-8, PW-6, WS-1..WS-3, WS-7). Run on
// the HTTP handler pool: login costs one Argon2id verification there, never on the io thread.
#include <fmt/format.h>

#include "web/api/api.h"
#include "web/api/call.h"
#include "web/api/handlers.h"

namespace sg::web::api {

using security::Secret;
using security::accounts::Accounts;

namespace {

constexpr std::string_view kGenericFailure = "Login failed: wrong account name or password.";

std::string session_cookie(std::string_view value) {
    // WS-3: exactly these attributes; no Domain, no Expires (a browser-session cookie).
    return fmt::format("{}={}; Path=/; Secure; HttpOnly; SameSite=Strict", kCookieName, value);
}

std::string cleared_cookie() {
    return fmt::format("{}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0", kCookieName);
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

http::Response Api::setup(Call& call) {
    http::Response err;
    auto cred = credentials(call, err);
    if (!cred) return err;
    const std::optional<std::string> name = std::move(cred->account);
    const Secret& secret = cred->password;
    if (auto n = accounts_.count(); n && *n > 0) {
        log_.emit(events::types::kSetupRefused, call.who(), "an account exists already");
        return error(call, bhttp::status::conflict, "setup_done");
    }
    const auto cfg = device_.config();
    if (auto st = security::accounts::check_account_name(*name); !st) {
        return error(call, bhttp::status::bad_request, "invalid_name", st.error().message);
    }
    if (auto st = security::accounts::check_password(secret, *name, cfg->password_policy); !st) {
        return error(call, bhttp::status::bad_request, "weak_password", st.error().message);
    }
    if (auto st = accounts_.create_first_admin(*name, secret, cfg->password_policy); !st) {
        if (st.error().code == core::make_error_code(core::Errc::refused)) {
            // Lost a race with another setup (API or CLI): the account exists now.
            log_.emit(events::types::kSetupRefused, call.who(), "an account exists already");
            return error(call, bhttp::status::conflict, "setup_done");
        }
        return error(call, bhttp::status::internal_server_error, "internal_error");
    }
    log_.emit(events::types::kAccountCreated, {.account = *name, .source = call.peer.to_string()},
              "first administrator (setup)");
    device_.accounts_changed();
    return json_response(call, bhttp::status::created,
                         {{"account", *name}, {"group", "Administrator"}});
}

http::Response Api::login(Call& call) {
    http::Response err;
    auto cred = credentials(call, err);
    if (!cred) return err;
    const std::optional<std::string> name = std::move(cred->account);
    const Secret& secret = cred->password;
    const auto cfg = device_.config();
    const std::string source = call.peer.address.to_string();
    auto r = accounts_.login(*name, secret, source, cfg->login, cfg->password_policy);
    using Outcome = Accounts::LoginResult::Outcome;
    const std::string shown_name = name->substr(0, 64);
    switch (r.outcome) {
        case Outcome::Throttled: {
            if (throttle_log_.should_log(source, now_())) {
                log_.emit(events::types::kLoginThrottled, {.source = call.peer.to_string()},
                          "more than 10 failed logins in a minute from this address");
            }
            auto res = error(call, bhttp::status::too_many_requests, "throttled");
            res.set(bhttp::field::retry_after,
                    std::to_string(std::max<std::int64_t>(1, r.retry_after_s)));
            return res;
        }
        case Outcome::Locked: {
            log_.emit(events::types::kLoginFailed,
                      {.account = shown_name, .source = call.peer.to_string()}, "account locked");
            auto res = error(call, bhttp::status::locked, "locked");
            res.set(bhttp::field::retry_after,
                    std::to_string(std::max<std::int64_t>(1, r.retry_after_s)));
            return res;
        }
        case Outcome::Failed: {
            log_.emit(events::types::kLoginFailed,
                      {.account = shown_name, .source = call.peer.to_string()});
            if (r.just_locked) {
                log_.emit(events::types::kAccountLocked,
                          {.account = shown_name, .source = call.peer.to_string()},
                          fmt::format("{} failures; locked for {} min",
                                      int{cfg->login.retry_failure_threshold},
                                      int{cfg->login.lockout_duration_min}));
            }
            // IA-5: the same status and body whether the account exists, is disabled or the
            // password is wrong.
            const std::string& custom = cfg->login.login_failure_message;
            return error(call, bhttp::status::unauthorized, "invalid_credentials",
                         custom.empty() ? kGenericFailure : std::string_view(custom));
        }
        case Outcome::Ok: break;
    }
    SG_ASSERT(r.account && r.group);
    // A session the caller already holds ends: one login, one session (WS-1).
    if (auto old = call.req[bhttp::field::cookie]; !old.empty()) {
        (void)sessions_.end_by_cookie(cookie_of(call.req));
    }
    purge_sessions();  // sessions that expired are logged before they free a place (AU-2)
    auto created = sessions_.create(r.account->name, r.account->group, call.peer.to_string(),
                                    r.account->must_change_password, cfg->login);
    if (auto* refused = std::get_if<std::string>(&created)) {
        log_.emit(
            events::types::kSessionRefused,
            {.account = r.account->name, .source = call.peer.to_string()},
            fmt::format("{} web sessions at most, {} per account", int{cfg->login.max_web_sessions},
                        int{cfg->login.max_sessions_per_account}));
        return error(call, bhttp::status::too_many_requests, *refused);
    }
    auto& c = std::get<Sessions::Created>(created);
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
    (void)sessions_.end_by_cookie(cookie_of(call.req));
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

http::Response Api::change_own_password(Call& call) {
    http::Response err;
    auto body = call.body(err);
    if (!body) return err;
    auto current = secret_field(*body, "current_password");
    auto next = secret_field(*body, "new_password");
    if (!current || !next) {
        return error(call, bhttp::status::bad_request, "invalid_field",
                     "current_password and new_password are required strings");
    }
    const Secret& cur = *current;
    const Secret& nxt = *next;
    const auto cfg = device_.config();
    if (auto refused =
            accounts_.change_own_password(call.account(), cur, nxt, cfg->password_policy)) {
        if (refused->code == "wrong_password") {
            // A stolen session guessing the password shows in the audit trail.
            log_.emit(events::types::kLoginFailed, call.who(),
                      "wrong current password on a password change");
        }
        return refusal(call, *refused);
    }
    // PW-6: every other session of this account ends; this one goes on.
    const auto ended = sessions_.end_account(call.account(), call.session->public_id);
    sessions_.set_must_change(call.session->public_id, false);
    log_.emit(events::types::kPasswordChanged, call.who(),
              fmt::format("own password; {} other session(s) ended", ended));
    return no_content(call);
}

}  // namespace sg::web::api
