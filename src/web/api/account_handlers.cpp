// account_handlers.cpp: Account Management (guide §3.4; PW-1, PW-5, AZ-2, AZ-4, AZ-5): accounts,
// groups and web sessions. Every change is logged with the acting account and source (AU-2).
// Run on the HTTP handler pool.
#include <fmt/format.h>

#include "web/api/api.h"
#include "web/api/call.h"
#include "web/api/handlers.h"

namespace sg::web::api {

using security::Secret;
namespace acc = security::accounts;

http::Response refusal(const Call& call, const acc::Refused& r) {
    static const std::map<std::string_view, bhttp::status> kStatus = {
        {"not_found", bhttp::status::not_found},
        {"exists", bhttp::status::conflict},
        {"invalid_name", bhttp::status::bad_request},
        {"invalid_group", bhttp::status::bad_request},
        {"weak_password", bhttp::status::bad_request},
        {"same_password", bhttp::status::bad_request},
        {"wrong_password", bhttp::status::forbidden},
        {"last_admin", bhttp::status::conflict},
        {"builtin_group", bhttp::status::conflict},
        {"group_in_use", bhttp::status::conflict},
        {"escalation", bhttp::status::forbidden},
        {"store_error", bhttp::status::internal_server_error},
    };
    auto it = kStatus.find(r.code);
    return error(call, it == kStatus.end() ? bhttp::status::bad_request : it->second, r.code,
                 r.message);
}

nlohmann::json account_json(const acc::Account& a, const acc::Accounts::LockState& lock) {
    nlohmann::json j{{"name", a.name},
                     {"group", a.group},
                     {"active", a.active},
                     {"must_change_password", a.must_change_password},
                     {"created", core::format_utc(a.created_at_us)},
                     {"password_changed", core::format_utc(a.password_changed_at_us)},
                     {"locked", lock.locked}};
    if (lock.locked) j["locked_until"] = core::format_utc(lock.locked_until_us);
    return j;
}

http::Response Api::list_accounts(Call& call) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& a : accounts_.list())
        list.push_back(account_json(a, accounts_.lock_state(a.name)));
    return json_response(call, bhttp::status::ok, list);
}

http::Response Api::get_account(Call& call) {
    auto a = accounts_.get(call.params[0]);
    if (!a) return error(call, bhttp::status::not_found, "not_found");
    return json_response(call, bhttp::status::ok, account_json(*a, accounts_.lock_state(a->name)));
}

Api::Argon2Step Api::create_account(Call& call) {
    http::Response err;
    auto body = call.body(err);
    if (!body) return err;
    auto name = string_field(*body, "name");
    auto group = string_field(*body, "group");
    auto password = secret_field(*body, "password");
    if (!name || !group || !password) {
        return error(call, bhttp::status::bad_request, "invalid_field",
                     "name, group and password are required strings");
    }
    auto flag = [&](const char* key, bool def) -> std::optional<bool> {
        auto it = body->find(key);
        if (it == body->end()) return def;
        if (!it->is_boolean()) return std::nullopt;
        return it->get<bool>();
    };
    const auto active = flag("active", true);
    // PW-5: a password set by an administrator is changed at first login.
    const auto must_change = flag("must_change_password", true);
    if (!active || !must_change) {
        return error(call, bhttp::status::bad_request, "invalid_field",
                     "active and must_change_password are booleans");
    }
    for (const auto& [key, _] : body->items()) {
        if (key != "name" && key != "group" && key != "password" && key != "active" &&
            key != "must_change_password") {
            return error(call, bhttp::status::bad_request, "invalid_field", key.substr(0, 32));
        }
    }
    acc::Account a{
        .name = *name, .group = *group, .active = *active, .must_change_password = *must_change};
    // In an Argon2id slot (NE-5): the hash of the password.
    return [this, &call, a = std::move(a),
            secret = std::make_shared<const Secret>(std::move(*password))] {
        if (auto refused = accounts_.create(a, *secret, device_.config()->password_policy)) {
            return refusal(call, *refused);
        }
        log_.emit(events::types::kAccountCreated, call.who(),
                  fmt::format("account {} in group {}{}", a.name, a.group,
                              a.active ? "" : " (inactive)"));
        auto created = accounts_.get(a.name);
        if (!created) return error(call, bhttp::status::internal_server_error, "internal_error");
        return json_response(call, bhttp::status::created,
                             account_json(*created, accounts_.lock_state(a.name)));
    };
}

http::Response Api::update_account(Call& call) {
    http::Response err;
    auto body = call.body(err);
    if (!body) return err;
    if (body->empty()) {
        return error(call, bhttp::status::bad_request, "invalid_field", "nothing to change");
    }
    for (const auto& [key, _] : body->items()) {
        if (key != "group" && key != "active") {
            // A password is reset with PUT /accounts/{name}/password, never here.
            (void)secret_field(*body, "password");  // wiped before the body is freed (ST-4)
            return error(call, bhttp::status::bad_request, "invalid_field", key.substr(0, 32));
        }
    }
    std::optional<std::string> group;
    std::optional<bool> active;
    if (auto it = body->find("group"); it != body->end()) {
        if (!it->is_string())
            return error(call, bhttp::status::bad_request, "invalid_field", "group");
        group = it->get<std::string>();
    }
    if (auto it = body->find("active"); it != body->end()) {
        if (!it->is_boolean())
            return error(call, bhttp::status::bad_request, "invalid_field", "active");
        active = it->get<bool>();
    }
    const std::string& name = call.params[0];
    auto before = accounts_.get(name);
    if (!before) return error(call, bhttp::status::not_found, "not_found");
    if (auto refused = accounts_.update(name, group, active)) return refusal(call, *refused);
    std::string what;
    if (group && *group != before->group)
        what += fmt::format(" group {} -> {}", before->group, *group);
    if (active && *active != before->active) what += *active ? " enabled" : " disabled";
    // AZ-4: a disabled account, or one whose privileges changed, loses its web sessions at once.
    std::size_t ended = 0;
    if (active && !*active) {
        ended = sessions_.end_account(name, {}, "account disabled");
    } else if (group && *group != before->group) {
        ended = sessions_.end_account(name, {}, fmt::format("account moved to group {}", *group));
    }
    log_.emit(events::types::kAccountChanged, call.who(),
              fmt::format("account {}:{}{}", name, what.empty() ? " unchanged" : what,
                          ended ? fmt::format("; {} session(s) ended", ended) : ""));
    auto after = accounts_.get(name);
    return json_response(call, bhttp::status::ok, account_json(*after, accounts_.lock_state(name)));
}

http::Response Api::delete_account(Call& call) {
    const std::string& name = call.params[0];
    if (auto refused = accounts_.remove(name)) return refusal(call, *refused);
    const auto ended = sessions_.end_account(name, {}, "account deleted");
    log_.emit(events::types::kAccountDeleted, call.who(),
              fmt::format("account {}; {} session(s) ended", name, ended));
    return no_content(call);
}

Api::Argon2Step Api::reset_password(Call& call) {
    http::Response err;
    auto body = call.body(err);
    if (!body) return err;
    auto password = secret_field(*body, "password");
    if (!password) return error(call, bhttp::status::bad_request, "invalid_field", "password");
    if (call.params[0] == call.account()) {
        // One's own password goes through PUT /session/password, which asks for the current one.
        return error(call, bhttp::status::conflict, "use_session_password",
                     "change your own password with PUT /api/v1/session/password");
    }
    // In an Argon2id slot (NE-5): the hash of the new password.
    return [this, &call, secret = std::make_shared<const Secret>(std::move(*password))] {
        const std::string& name = call.params[0];
        if (auto refused =
                accounts_.reset_password(name, *secret, device_.config()->password_policy)) {
            return refusal(call, *refused);
        }
        const auto ended = sessions_.end_account(name, {}, "password reset by an administrator");
        log_.emit(events::types::kPasswordChanged, call.who(),
                  fmt::format("password of {} reset by an administrator; {} session(s) ended", name,
                              ended));
        return no_content(call);
    };
}

http::Response Api::unlock_account(Call& call) {
    const std::string& name = call.params[0];
    if (auto refused = accounts_.unlock(name)) return refusal(call, *refused);
    log_.emit(events::types::kAccountUnlocked, call.who(), fmt::format("account {}", name));
    return no_content(call);
}

namespace {

nlohmann::json group_json(const acc::Group& g) {
    return {{"name", g.name}, {"builtin", g.builtin}, {"privileges", privileges_json(g)}};
}

}  // namespace

http::Response Api::list_groups(Call& call) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& g : accounts_.groups()) list.push_back(group_json(g));
    return json_response(call, bhttp::status::ok, list);
}

http::Response Api::put_group(Call& call) {
    http::Response err;
    auto body = call.body(err);
    if (!body) return err;
    auto privs = body->find("privileges");
    if (privs == body->end() || !privs->is_object()) {
        return error(call, bhttp::status::bad_request, "invalid_field",
                     "privileges: an object of menu area -> hidden|read_only|read_write");
    }
    acc::Group g{.name = call.params[0], .builtin = false, .privileges = {}};
    for (auto area : acc::all_areas()) g.privileges[area] = acc::Access::Hidden;
    for (const auto& [key, value] : privs->items()) {
        auto area = acc::parse_area(key);
        auto access =
            value.is_string() ? acc::parse_access(value.get<std::string>()) : std::nullopt;
        if (!area || !access) {
            return error(call, bhttp::status::bad_request, "invalid_field",
                         fmt::format("privileges.{}", key.substr(0, 32)));
        }
        g.privileges[*area] = *access;
    }
    const bool existed = accounts_.group(g.name).has_value();
    if (auto refused = accounts_.save_group(g)) return refusal(call, *refused);
    // Issue 13: an open serial monitor needs Diagnostics read for as long as it is open. The
    // group's sessions go on (their next request meets the new privileges); their monitors end.
    if (!g.allows(acc::Area::Diagnostics, false)) {
        (void)sessions_.revoke_monitors([&](const SessionView& s) { return s.group == g.name; },
                                        fmt::format("group {} lost Diagnostics", g.name));
    }
    log_.emit(events::types::kGroupChanged, call.who(),
              fmt::format("group {} {}: {}", g.name, existed ? "changed" : "created",
                          privileges_json(g).dump()));
    return json_response(call, existed ? bhttp::status::ok : bhttp::status::created, group_json(g));
}

http::Response Api::delete_group(Call& call) {
    if (auto refused = accounts_.remove_group(call.params[0])) return refusal(call, *refused);
    log_.emit(events::types::kGroupChanged, call.who(),
              fmt::format("group {} deleted", call.params[0]));
    return no_content(call);
}

http::Response Api::list_sessions(Call& call) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& s : sessions_.list(device_.config()->login)) {
        list.push_back({{"id", s.public_id},
                        {"account", s.account},
                        {"group", s.group},
                        {"source", s.source},
                        {"created", core::format_utc(s.created_us)},
                        {"last_used", core::format_utc(s.last_used_us)},
                        {"current", s.public_id == call.session->public_id}});
    }
    return json_response(call, bhttp::status::ok, list);
}

http::Response Api::end_session(Call& call) {
    auto ended = sessions_.end(call.params[0], "ended by an administrator");
    if (!ended) return error(call, bhttp::status::not_found, "not_found");
    log_.emit(
        events::types::kSessionEnded, call.who(),
        fmt::format("session {} of {} from {}", ended->public_id, ended->account, ended->source));
    return no_content(call);
}

}  // namespace sg::web::api
