// api_test.cpp: the API's request pipeline without a network — routing, setup, authentication,
// CSRF, forced password change, privileges, accounts and config validation — against a real store
// and a fake device (fixture: api_test_fixture.h). Re-authentication (AZ-3) is tested in
// api_reauth_test.cpp, request limits and Argon2id slots (NE-5/NE-6) in api_dos_test.cpp. The
// HTTPS path is covered by tests/system/web/.
#include "web/api/api.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>

#include "web/api/api_test_fixture.h"
#include "web/api/config_json.h"

namespace sg::web::api {
namespace {

namespace bhttp = boost::beast::http;
using security::accounts::FakeClock;
using testing::ApiTest;
using testing::Client;

TEST(Routes, EachMethodAndPatternOnce) {
    std::set<std::pair<int, std::string_view>> seen;
    for (const auto& r : Api::routes()) {
        EXPECT_TRUE(seen.emplace(static_cast<int>(r.method), r.pattern).second) << r.pattern;
        EXPECT_EQ(r.pattern.substr(0, 8), "/api/v1/");
    }
}

TEST_F(ApiTest, BeforeSetupOnlyPublicRoutesAnswer) {
    for (const auto& r : Api::routes()) {
        if (r.auth == Api::Route::Auth::Public) continue;
        std::string target(r.pattern);
        if (auto p = target.find("{}"); p != std::string::npos) target.replace(p, 2, "1");
        auto res = call(r.method, target);
        EXPECT_EQ(res.result(), bhttp::status::unauthorized) << target;
        EXPECT_EQ(json(res)["error"], "unauthenticated");
    }
    auto id = call(bhttp::verb::get, "/api/v1/identity");
    EXPECT_EQ(id.result(), bhttp::status::ok);
    EXPECT_EQ(json(id)["setup_required"], true);
    for (auto [name, pw] :
         {std::pair{"admin", "admin"}, {"admin", "moxa"}, {"root", "root"}, {"admin", ""}}) {
        auto res = call(bhttp::verb::post, "/api/v1/login", {{"account", name}, {"password", pw}});
        EXPECT_EQ(res.result(), bhttp::status::unauthorized) << name << "/" << pw;
    }
}

TEST_F(ApiTest, SetupOnceThenConflict) {
    auto weak =
        call(bhttp::verb::post, "/api/v1/setup", {{"account", "admin"}, {"password", "short"}});
    EXPECT_EQ(weak.result(), bhttp::status::bad_request);
    EXPECT_EQ(json(weak)["error"], "weak_password");
    setup_admin();
    EXPECT_EQ(device_.account_changes, 1);
    auto again = call(bhttp::verb::post, "/api/v1/setup",
                      {{"account", "other"}, {"password", "other-password-1"}});
    EXPECT_EQ(again.result(), bhttp::status::conflict);
    auto admin = login("admin", "admin-password-1");
    auto list = json(call(bhttp::verb::get, "/api/v1/accounts", nullptr, &admin));
    ASSERT_TRUE(list.is_array());
    EXPECT_EQ(list.size(), 1u);
}

TEST_F(ApiTest, CsrfTokenAndOriginGuardWrites) {
    setup_admin();
    auto admin = login("admin", "admin-password-1");
    Client no_token{admin.cookie, ""};
    auto r = call(bhttp::verb::put, "/api/v1/system", {{"device_name", "x"}}, &no_token);
    EXPECT_EQ(r.result(), bhttp::status::forbidden);
    EXPECT_EQ(json(r)["error"], "csrf");
    Client wrong{admin.cookie, admin.csrf + "x"};
    EXPECT_EQ(call(bhttp::verb::put, "/api/v1/system", {{"device_name", "x"}}, &wrong).result(),
              bhttp::status::forbidden);
    EXPECT_EQ(device_.commits, 0);
    auto ok = call(bhttp::verb::put, "/api/v1/system", {{"device_name", "plc-gw"}}, &admin);
    EXPECT_EQ(ok.result(), bhttp::status::ok) << ok.body();
    EXPECT_EQ(device_.cfg->system.device_name, "plc-gw");
    // A foreign Origin is refused even with the right token.
    http::Request req{bhttp::verb::put, "/api/v1/system", 11};
    req.set(bhttp::field::host, "127.0.0.1:8443");
    req.set(bhttp::field::origin, "https://evil.example");
    req.set(bhttp::field::cookie, std::string(kCookieName) + "=" + admin.cookie);
    req.set("X-CSRF-Token", admin.csrf);
    req.set(bhttp::field::content_type, "application/json");
    req.body() = R"({"device_name":"evil"})";
    auto evil = api_->handle(std::move(req), {boost::asio::ip::make_address("127.0.0.1"), 1});
    EXPECT_EQ(evil.result(), bhttp::status::forbidden);
    EXPECT_EQ(device_.cfg->system.device_name, "plc-gw");
}

TEST_F(ApiTest, OperatorMustChangePasswordThenIsKeptOutOfSecurityAndAccounts) {
    setup_admin();
    auto admin = login("admin", "admin-password-1");
    auto created =
        call(bhttp::verb::post, "/api/v1/accounts",
             {{"name", "op"}, {"group", "Operator"}, {"password", "operator-pass-1"}}, &admin);
    ASSERT_EQ(created.result(), bhttp::status::created) << created.body();
    auto op = login("op", "operator-pass-1");
    auto blocked = call(bhttp::verb::get, "/api/v1/ports", nullptr, &op);
    EXPECT_EQ(blocked.result(), bhttp::status::forbidden);
    EXPECT_EQ(json(blocked)["error"], "password_change_required");
    auto same =
        call(bhttp::verb::put, "/api/v1/session/password",
             {{"current_password", "operator-pass-1"}, {"new_password", "operator-pass-1"}}, &op);
    EXPECT_EQ(same.result(), bhttp::status::bad_request);
    auto changed =
        call(bhttp::verb::put, "/api/v1/session/password",
             {{"current_password", "operator-pass-1"}, {"new_password", "operator-pass-2"}}, &op);
    ASSERT_EQ(changed.result(), bhttp::status::no_content) << changed.body();
    EXPECT_EQ(call(bhttp::verb::get, "/api/v1/ports", nullptr, &op).result(), bhttp::status::ok);
    EXPECT_EQ(call(bhttp::verb::get, "/api/v1/system", nullptr, &op).result(), bhttp::status::ok);
    for (const auto& r : Api::routes()) {
        if (r.area != security::accounts::Area::Security &&
            r.area != security::accounts::Area::Accounts) {
            continue;
        }
        std::string target(r.pattern);
        if (auto p = target.find("{}"); p != std::string::npos) target.replace(p, 2, "admin");
        nlohmann::json body = r.write ? nlohmann::json::object() : nlohmann::json();
        EXPECT_EQ(call(r.method, target, body, &op).result(), bhttp::status::forbidden) << target;
    }
}

TEST_F(ApiTest, LastAdministratorStays) {
    setup_admin();
    auto admin = login("admin", "admin-password-1");
    EXPECT_EQ(call(bhttp::verb::delete_, "/api/v1/accounts/admin", nullptr, &admin).result(),
              bhttp::status::conflict);
    auto demote =
        call(bhttp::verb::patch, "/api/v1/accounts/admin", {{"group", "Operator"}}, &admin);
    EXPECT_EQ(demote.result(), bhttp::status::conflict);
    EXPECT_EQ(json(demote)["error"], "last_admin");
    EXPECT_EQ(
        call(bhttp::verb::patch, "/api/v1/accounts/admin", {{"active", false}}, &admin).result(),
        bhttp::status::conflict);
}

TEST_F(ApiTest, LockoutAnswers423EvenWithTheRightPassword) {
    setup_admin();
    config::Config c;
    c.login.retry_failure_threshold = 2;
    device_.cfg = std::make_shared<const config::Config>(c);
    for (int i = 0; i < 2; ++i) {
        auto r = call(bhttp::verb::post, "/api/v1/login",
                      {{"account", "admin"}, {"password", "wrong-password"}});
        EXPECT_EQ(r.result(), bhttp::status::unauthorized);
    }
    auto locked = call(bhttp::verb::post, "/api/v1/login",
                       {{"account", "admin"}, {"password", "admin-password-1"}});
    EXPECT_EQ(locked.result(), bhttp::status::locked);
    EXPECT_FALSE(locked[bhttp::field::retry_after].empty());
    clock_.advance(6 * FakeClock::kMinute);
    login("admin", "admin-password-1");
}

TEST_F(ApiTest, SameAnswerForUnknownAccountAndWrongPassword) {
    setup_admin();
    auto unknown = call(bhttp::verb::post, "/api/v1/login",
                        {{"account", "ghost"}, {"password", "whatever-1"}});
    auto wrong = call(bhttp::verb::post, "/api/v1/login",
                      {{"account", "admin"}, {"password", "whatever-1"}});
    EXPECT_EQ(unknown.result(), wrong.result());
    EXPECT_EQ(unknown.body(), wrong.body());
}

TEST_F(ApiTest, InvalidPortSettingIsRefusedAndChangesNothing) {
    setup_admin();
    auto admin = login("admin", "admin-password-1");
    auto ok = call(
        bhttp::verb::put, "/api/v1/ports/1",
        {{"device", "sim:echo"}, {"mode", {{"type", "tcp_server"}, {"local_port", 4001}}}}, &admin);
    ASSERT_EQ(ok.result(), bhttp::status::ok) << ok.body();
    const auto commits = device_.commits;
    auto bad =
        call(bhttp::verb::put, "/api/v1/ports/1",
             {{"device", "sim:echo"},
              {"mode", {{"type", "tcp_server"}, {"local_port", 4001}, {"max_connections", 9}}}},
             &admin);
    EXPECT_EQ(bad.result(), bhttp::status::bad_request);
    auto problems = json(bad)["problems"];
    ASSERT_TRUE(problems.is_array() && !problems.empty()) << bad.body();
    EXPECT_EQ(problems[0]["path"], "ports[0].mode.max_connections");
    EXPECT_EQ(device_.commits, commits);
    auto port = json(call(bhttp::verb::get, "/api/v1/ports/1", nullptr, &admin));
    EXPECT_EQ(port["mode"]["max_connections"], 1);
}

TEST_F(ApiTest, ConfigRoundTripsThroughJson) {
    auto doc = config_to_json(config::Config{});
    auto back = config_from_json(doc, {});
    ASSERT_TRUE(std::holds_alternative<config::Config>(back));
    EXPECT_EQ(std::get<config::Config>(back), config::Config{});
}

TEST_F(ApiTest, StringsThatLookLikeNumbersStayStrings) {
    setup_admin();
    auto admin = login("admin", "admin-password-1");
    auto r = call(bhttp::verb::put, "/api/v1/system", {{"device_name", "007"}}, &admin);
    ASSERT_EQ(r.result(), bhttp::status::ok) << r.body();
    r = call(bhttp::verb::put, "/api/v1/login-settings", {{"login_message", "true"}}, &admin);
    ASSERT_EQ(r.result(), bhttp::status::ok) << r.body();
    EXPECT_EQ(json(call(bhttp::verb::get, "/api/v1/system", nullptr, &admin))["device_name"],
              "007");
    EXPECT_EQ(
        json(call(bhttp::verb::get, "/api/v1/login-settings", nullptr, &admin))["login_message"],
        "true");
}

TEST_F(ApiTest, WholeConfigNeedsSecurityTooAndMandatoryEventsStayOn) {
    setup_admin();
    auto admin = login("admin", "admin-password-1");
    auto op = add_operator(admin);
    ASSERT_FALSE(HasFailure());
    // Operator has Maintenance but not Security: the whole document holds Security sections.
    EXPECT_EQ(call(bhttp::verb::get, "/api/v1/config", nullptr, &op).result(),
              bhttp::status::forbidden);
    EXPECT_EQ(call(bhttp::verb::get, "/api/v1/config", nullptr, &admin).result(),
              bhttp::status::ok);
    // AU-3: a Security Warning event cannot be switched off; Informational ones can.
    auto off = call(bhttp::verb::put, "/api/v1/event-log/settings",
                    {{"types", {{"security.login_failed", false}}}}, &admin);
    EXPECT_EQ(off.result(), bhttp::status::bad_request) << off.body();
    auto info_off = call(bhttp::verb::put, "/api/v1/event-log/settings",
                         {{"types", {{"security.login_succeeded", false}}}}, &admin);
    EXPECT_EQ(info_off.result(), bhttp::status::ok) << info_off.body();
}

TEST_F(ApiTest, BadTypesAreFieldErrorsNot500) {
    setup_admin();
    auto admin = login("admin", "admin-password-1");
    auto r = call(
        bhttp::verb::post, "/api/v1/accounts",
        {{"name", "x"}, {"group", "Operator"}, {"password", "operator-pass-1"}, {"active", "yes"}},
        &admin);
    EXPECT_EQ(r.result(), bhttp::status::bad_request);
    EXPECT_EQ(json(r)["error"], "invalid_field");
    r = call(bhttp::verb::patch, "/api/v1/accounts/admin", {{"password", "x"}}, &admin);
    EXPECT_EQ(r.result(), bhttp::status::bad_request);
}

TEST_F(ApiTest, UnknownPathWithoutSessionIs401AndWrongMethodNamesAllow) {
    EXPECT_EQ(call(bhttp::verb::get, "/api/v1/nope").result(), bhttp::status::unauthorized);
    setup_admin();
    auto admin = login("admin", "admin-password-1");
    EXPECT_EQ(call(bhttp::verb::get, "/api/v1/nope", nullptr, &admin).result(),
              bhttp::status::not_found);
    auto r = call(bhttp::verb::post, "/api/v1/ports", nlohmann::json::object(), &admin);
    EXPECT_EQ(r.result(), bhttp::status::method_not_allowed);
    EXPECT_EQ(r[bhttp::field::allow], "GET, HEAD");
}

TEST_F(ApiTest, LogoutEndsTheSession) {
    setup_admin();
    auto admin = login("admin", "admin-password-1");
    EXPECT_EQ(call(bhttp::verb::post, "/api/v1/logout", nullptr, &admin).result(),
              bhttp::status::no_content);
    EXPECT_EQ(call(bhttp::verb::get, "/api/v1/session", nullptr, &admin).result(),
              bhttp::status::unauthorized);
}

TEST_F(ApiTest, MalformedBodiesAreRefusedPlainly) {
    setup_admin();
    http::Request req{bhttp::verb::post, "/api/v1/login", 11};
    req.set(bhttp::field::content_type, "application/json");
    req.body() = std::string(100, '[');
    auto r = api_->handle(std::move(req), {boost::asio::ip::make_address("127.0.0.1"), 1});
    EXPECT_EQ(r.result(), bhttp::status::bad_request);
    http::Request req2{bhttp::verb::post, "/api/v1/login", 11};
    req2.set(bhttp::field::content_type, "text/plain");
    req2.body() = "{}";
    EXPECT_EQ(
        api_->handle(std::move(req2), {boost::asio::ip::make_address("127.0.0.1"), 1}).result(),
        bhttp::status::unsupported_media_type);
}

TEST_F(ApiTest, AllowlistChangesAreRefusedWhenTheyWouldLockOutTheCaller) {
    setup_admin();
    const Client admin = login("admin", "admin-password-1");
    const auto before = device_.commits;
    auto put = [&](const nlohmann::json& body) {
        return call(bhttp::verb::put, "/api/v1/allowlist", body, &admin);
    };
    // NE-3: a list without the caller's address (127.0.0.1), or enabled and empty: 409.
    auto r = put({{"enabled", true}, {"entries", nlohmann::json::array({"127.0.0.9/32"})}});
    EXPECT_EQ(r.result(), bhttp::status::conflict) << r.body();
    EXPECT_EQ(json(r)["error"], "would_lock_out");
    EXPECT_NE(json(r)["message"].get<std::string>().find("127.0.0.1"), std::string::npos);
    r = put({{"enabled", true}, {"entries", nlohmann::json::array()}});
    EXPECT_EQ(json(r)["error"], "would_lock_out") << r.body();
    // CF-4: the whole document obeys the same rule.
    nlohmann::json doc = json(call(bhttp::verb::get, "/api/v1/config", nullptr, &admin));
    doc["allowlist"] = {{"enabled", true}, {"entries", nlohmann::json::array({"10.0.0.0/8"})}};
    r = call(bhttp::verb::put, "/api/v1/config", doc, &admin);
    EXPECT_EQ(json(r)["error"], "would_lock_out") << r.body();
    // A bad entry: 400 naming it.
    r = put({{"enabled", true}, {"entries", nlohmann::json::array({"127.0.0.1", "1.2.3.4/99"})}});
    EXPECT_EQ(r.result(), bhttp::status::bad_request) << r.body();
    EXPECT_EQ(json(r)["problems"][0]["path"], "allowlist.entries[1]");
    EXPECT_EQ(device_.commits, before);  // nothing was committed
    // A list that covers the caller is committed.
    r = put({{"enabled", true}, {"entries", nlohmann::json::array({"127.0.0.0/255.0.0.0"})}});
    EXPECT_EQ(r.result(), bhttp::status::ok) << r.body();
    EXPECT_TRUE(device_.cfg->allowlist.enabled);
    // NE-4: a web session whose login address the list no longer allows ends.
    api_->end_sessions_outside(security::allowlist::Allowlist(
        config::AllowlistSettings{.enabled = true, .entries = {"10.0.0.0/8"}}));
    EXPECT_EQ(call(bhttp::verb::get, "/api/v1/session", nullptr, &admin).result(),
              bhttp::status::unauthorized);
}

TEST_F(ApiTest, HttpsCannotBeSwitchedOffThroughItselfAndServiceChangesAreAudited) {
    setup_admin();
    const Client admin = login("admin", "admin-password-1");
    const auto before = device_.commits;
    // Guide §3.1: the HTTPS API is the only network management path; switching it off from
    // there is a lockout (409), by its section and by the whole document.
    auto https = json(call(bhttp::verb::get, "/api/v1/https", nullptr, &admin));
    https["enabled"] = false;
    auto r = call(bhttp::verb::put, "/api/v1/https", https, &admin);
    EXPECT_EQ(r.result(), bhttp::status::conflict) << r.body();
    EXPECT_EQ(json(r)["error"], "would_lock_out");
    nlohmann::json doc = json(call(bhttp::verb::get, "/api/v1/config", nullptr, &admin));
    doc["https"]["enabled"] = false;
    r = call(bhttp::verb::put, "/api/v1/config", doc, &admin);
    EXPECT_EQ(json(r)["error"], "would_lock_out") << r.body();
    EXPECT_EQ(device_.commits, before);
    // The redirect is a service of its own: switched on, audited as security.services_changed
    // with the account.
    https["enabled"] = true;
    https["http_redirect"] = true;
    r = call(bhttp::verb::put, "/api/v1/https", https, &admin);
    EXPECT_EQ(r.result(), bhttp::status::ok) << r.body();
    log_->flush();
    events::Query q;
    q.type = "security.services_changed";
    auto list = events::read(*store_, q);
    ASSERT_TRUE(list.ok());
    ASSERT_EQ(list->size(), 1u);
    EXPECT_EQ(list->front().account, "admin");
    EXPECT_NE(list->front().message.find("http_redirect: off -> on tcp/80"), std::string::npos)
        << list->front().message;
    // GET /api/v1/services is the device's answer (serve joins it with the live sockets).
    r = call(bhttp::verb::get, "/api/v1/services", nullptr, &admin);
    EXPECT_EQ(r.result(), bhttp::status::ok) << r.body();
    EXPECT_EQ(json(r)["services"][0]["name"], "https");
}

TEST_F(ApiTest, SerialDosIsASecuritySectionWithRangesAndAudit) {
    setup_admin();
    const Client admin = login("admin", "admin-password-1");
    auto r = call(bhttp::verb::get, "/api/v1/serial-dos", nullptr, &admin);
    ASSERT_EQ(r.result(), bhttp::status::ok) << r.body();
    auto dos = json(r);
    EXPECT_EQ(dos["enabled"], true);
    EXPECT_EQ(dos["max_connections_per_source"], 16);
    dos["max_connections_per_source"] = 0;
    r = call(bhttp::verb::put, "/api/v1/serial-dos", dos, &admin);
    EXPECT_EQ(r.result(), bhttp::status::bad_request) << r.body();
    EXPECT_EQ(json(r)["problems"][0]["path"], "serial_dos.max_connections_per_source");
    dos["max_connections_per_source"] = 4;
    r = call(bhttp::verb::put, "/api/v1/serial-dos", dos, &admin);
    EXPECT_EQ(r.result(), bhttp::status::ok) << r.body();
    EXPECT_EQ(device_.cfg->serial_dos.max_connections_per_source, 4u);
    EXPECT_FALSE(json(r).contains("restart_required"));  // live
    log_->flush();
    events::Query q;
    q.type = "security.policy_changed";
    auto list = events::read(*store_, q);
    ASSERT_TRUE(list.ok());
    ASSERT_FALSE(list->empty());
    EXPECT_EQ(list->back().account, "admin");
    EXPECT_NE(list->back().message.find("max_connections_per_source"), std::string::npos)
        << list->back().message;
}

}  // namespace
}  // namespace sg::web::api
