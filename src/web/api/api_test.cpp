// api_test.cpp: the API's request pipeline without a network — routing, authentication, CSRF,
// forced password change, privileges and config validation — against a real store and a fake
// device. The HTTPS path is covered by tests/system/web/.
#include "web/api/api.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <regex>
#include <set>
#include <thread>
#include <tuple>

#include "security/accounts/testing.h"
#include "web/api/config_json.h"

namespace sg::web::api {
namespace {

namespace bhttp = boost::beast::http;
using security::accounts::FakeClock;
using security::accounts::HashCostForTests;

class FakeDevice : public Device {
public:
    std::shared_ptr<const config::Config> config() override { return cfg; }
    core::Result<std::int64_t> commit(config::Config next, const events::Fields&) override {
        cfg = std::make_shared<const config::Config>(std::move(next));
        return ++commits;
    }
    nlohmann::json status() override { return {{"ports", nlohmann::json::array()}}; }
    void accounts_changed() override { ++account_changes; }
    void certificate_changed() override {}
    config::ParseOptions parse_options() override {
        return {.is_event_type = [](std::string_view k) { return events::is_type(k); },
                .is_mandatory_event = [](std::string_view k) { return events::is_mandatory(k); }};
    }
    std::string version() override { return "test"; }

    std::shared_ptr<const config::Config> cfg = std::make_shared<const config::Config>();
    std::int64_t commits = 0;
    int account_changes = 0;
};

struct Client {
    std::string cookie;
    std::string csrf;
};

class ApiTest : public ::testing::Test {
protected:
    void SetUp() override {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        dir_ = std::filesystem::temp_directory_path() /
               ("sg_api_" + std::to_string(::getpid()) + "_" + info->name());
        std::filesystem::remove_all(dir_);
        auto s = store::Store::open(dir_);
        ASSERT_TRUE(s.ok()) << s.error().message;
        store_ = std::move(*s);
        log_ = std::make_unique<events::Log>(*store_);
        api_ = std::make_unique<Api>(device_, *store_, *log_, clock_.fn(),
                                     HashCostForTests::cheapest());
    }
    void TearDown() override {
        api_.reset();
        log_.reset();
        store_.reset();
        std::filesystem::remove_all(dir_);
    }

    http::Response call(bhttp::verb method, const std::string& target,
                        const nlohmann::json& body = nullptr, const Client* c = nullptr,
                        const std::string& source = "127.0.0.1") {
        http::Request req{method, target, 11};
        req.set(bhttp::field::host, "127.0.0.1:8443");
        if (!body.is_null()) {
            req.set(bhttp::field::content_type, "application/json");
            req.body() = body.dump();
            req.prepare_payload();
        }
        if (c) {
            req.set(bhttp::field::cookie, std::string(kCookieName) + "=" + c->cookie);
            req.set("X-CSRF-Token", c->csrf);
        }
        http::Peer peer{boost::asio::ip::make_address(source), 40000, &counters_};
        return api_->handle(std::move(req), peer);
    }
    static nlohmann::json json(const http::Response& r) {
        return nlohmann::json::parse(r.body(), nullptr, false);
    }
    void setup_admin() {
        auto r = call(bhttp::verb::post, "/api/v1/setup",
                      {{"account", "admin"}, {"password", "admin-password-1"}});
        ASSERT_EQ(r.result(), bhttp::status::created) << r.body();
    }
    Client login(const std::string& name, const std::string& password) {
        auto r =
            call(bhttp::verb::post, "/api/v1/login", {{"account", name}, {"password", password}});
        EXPECT_EQ(r.result(), bhttp::status::ok) << r.body();
        const std::string set_cookie(r[bhttp::field::set_cookie]);
        std::smatch m;
        const std::regex re(
            "^__Host-sg_session=([A-Za-z0-9_-]{43}); Path=/; Secure; HttpOnly; SameSite=Strict$");
        EXPECT_TRUE(std::regex_match(set_cookie, m, re)) << set_cookie;
        return Client{m.size() > 1 ? m[1].str() : "", json(r).value("csrf_token", "")};
    }

    http::Counters counters_;  // what the HTTP server would pass in Peer
    FakeClock clock_;
    FakeDevice device_;
    std::filesystem::path dir_;
    std::unique_ptr<store::Store> store_;
    std::unique_ptr<events::Log> log_;
    std::unique_ptr<Api> api_;
};

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
    ASSERT_EQ(call(bhttp::verb::post, "/api/v1/accounts",
                   {{"name", "op"},
                    {"group", "Operator"},
                    {"password", "operator-pass-1"},
                    {"must_change_password", false}},
                   &admin)
                  .result(),
              bhttp::status::created);
    auto op = login("op", "operator-pass-1");
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

// ---------------------------------------------------------------- AZ-3 re-authentication

TEST(Routes, SensitiveRoutesAreTheAz3ListOfSessionWrites) {
    const std::set<std::pair<bhttp::verb, std::string_view>> az3 = {
        {bhttp::verb::post, "/api/v1/accounts"},
        {bhttp::verb::patch, "/api/v1/accounts/{}"},
        {bhttp::verb::delete_, "/api/v1/accounts/{}"},
        {bhttp::verb::put, "/api/v1/accounts/{}/password"},
        {bhttp::verb::post, "/api/v1/accounts/{}/unlock"},
        {bhttp::verb::put, "/api/v1/groups/{}"},
        {bhttp::verb::delete_, "/api/v1/groups/{}"},
        {bhttp::verb::put, "/api/v1/password-policy"},
        {bhttp::verb::put, "/api/v1/login-settings"},
        {bhttp::verb::put, "/api/v1/https"},
        {bhttp::verb::put, "/api/v1/certificate"},
        {bhttp::verb::post, "/api/v1/certificate/regenerate"},
        {bhttp::verb::put, "/api/v1/config"},
    };
    std::set<std::pair<bhttp::verb, std::string_view>> marked;
    for (const auto& r : Api::routes()) {
        if (r.reauth != Api::Route::Reauth::Required) continue;
        marked.emplace(r.method, r.pattern);
        EXPECT_EQ(r.auth, Api::Route::Auth::Session) << r.pattern;
        EXPECT_TRUE(r.write) << r.pattern;
    }
    EXPECT_EQ(marked, az3);
}

class ReauthTest : public ApiTest {
protected:
    void SetUp() override {
        ApiTest::SetUp();
        // A long idle timeout: these tests let the reauth window pass on an active session.
        config::Config c;
        c.login.session_timeout_min = 60;
        c.login.retry_failure_threshold = 3;
        device_.cfg = std::make_shared<const config::Config>(c);
        setup_admin();
    }
    http::Response put_policy(const Client& c) {
        return call(bhttp::verb::put, "/api/v1/password-policy", {{"min_length", 10}}, &c);
    }
    http::Response reauth(const Client& c, const std::string& password) {
        return call(bhttp::verb::post, "/api/v1/session/reauth", {{"password", password}}, &c);
    }
};

TEST_F(ReauthTest, FreshAfterLoginStaleAfterFiveMinutesFreshAgainAfterReauth) {
    auto admin = login("admin", "admin-password-1");
    EXPECT_EQ(put_policy(admin).result(), bhttp::status::ok);
    clock_.advance(kReauthWindowUs);  // exactly 5 min: still fresh
    EXPECT_EQ(put_policy(admin).result(), bhttp::status::ok);
    clock_.advance(FakeClock::kSecond);
    const auto commits = device_.commits;
    auto stale = put_policy(admin);
    EXPECT_EQ(stale.result(), bhttp::status::unauthorized);
    EXPECT_EQ(json(stale)["error"], "reauth_required");
    EXPECT_EQ(device_.commits, commits);  // the handler did not run
    // Reads, non-sensitive writes and the session itself are unaffected.
    EXPECT_EQ(call(bhttp::verb::get, "/api/v1/password-policy", nullptr, &admin).result(),
              bhttp::status::ok);
    EXPECT_EQ(call(bhttp::verb::put, "/api/v1/system", {{"device_name", "gw"}}, &admin).result(),
              bhttp::status::ok);
    auto ok = reauth(admin, "admin-password-1");
    EXPECT_EQ(ok.result(), bhttp::status::no_content) << ok.body();
    EXPECT_EQ(put_policy(admin).result(), bhttp::status::ok);
}

TEST_F(ReauthTest, EverySensitiveRouteRefusesAStaleSessionAfterThePrivilegeCheck) {
    auto admin = login("admin", "admin-password-1");
    ASSERT_EQ(call(bhttp::verb::post, "/api/v1/accounts",
                   {{"name", "op"},
                    {"group", "Operator"},
                    {"password", "operator-pass-1"},
                    {"must_change_password", false}},
                   &admin)
                  .result(),
              bhttp::status::created);
    auto op = login("op", "operator-pass-1");
    clock_.advance(kReauthWindowUs + FakeClock::kSecond);
    for (const auto& r : Api::routes()) {
        if (r.reauth != Api::Route::Reauth::Required) continue;
        std::string target(r.pattern);
        if (auto p = target.find("{}"); p != std::string::npos) target.replace(p, 2, "op");
        auto res = call(r.method, target, nlohmann::json::object(), &admin);
        EXPECT_EQ(res.result(), bhttp::status::unauthorized) << target;
        EXPECT_EQ(json(res)["error"], "reauth_required") << target;
        // Without the route's privilege the answer stays 403: reauth is checked after it.
        if (r.area == security::accounts::Area::Accounts ||
            r.area == security::accounts::Area::Security) {
            auto denied = call(r.method, target, nlohmann::json::object(), &op);
            EXPECT_EQ(json(denied)["error"], "forbidden") << target;
        }
    }
    EXPECT_EQ(call(bhttp::verb::get, "/api/v1/accounts/op", nullptr, &admin).result(),
              bhttp::status::ok);  // DELETE did not run
}

TEST_F(ReauthTest, WrongPasswordCountsTowardsLockoutAndEndsTheGuessingSession) {
    auto admin = login("admin", "admin-password-1");
    auto other = login("admin", "admin-password-1");  // the owner's second session
    for (int i = 0; i < 2; ++i) {
        auto r = reauth(admin, "wrong-password");
        EXPECT_EQ(r.result(), bhttp::status::unauthorized);
        EXPECT_EQ(json(r)["error"], "invalid_credentials");
        EXPECT_TRUE(r[bhttp::field::set_cookie].empty());
    }
    EXPECT_EQ(call(bhttp::verb::get, "/api/v1/session", nullptr, &admin).result(),
              bhttp::status::ok);
    // The third failure reaches retry_failure_threshold: the account locks, this session ends.
    auto locking = reauth(admin, "wrong-password");
    EXPECT_EQ(locking.result(), bhttp::status::unauthorized);
    EXPECT_NE(std::string(locking[bhttp::field::set_cookie]).find("Max-Age=0"), std::string::npos);
    EXPECT_EQ(call(bhttp::verb::get, "/api/v1/session", nullptr, &admin).result(),
              bhttp::status::unauthorized);
    // Locked like after failed logins: login and the other session's reauth answer 423.
    auto login_locked = call(bhttp::verb::post, "/api/v1/login",
                             {{"account", "admin"}, {"password", "admin-password-1"}});
    EXPECT_EQ(login_locked.result(), bhttp::status::locked);
    auto reauth_locked = reauth(other, "admin-password-1");
    EXPECT_EQ(reauth_locked.result(), bhttp::status::locked);
    EXPECT_FALSE(reauth_locked[bhttp::field::retry_after].empty());
    EXPECT_EQ(call(bhttp::verb::get, "/api/v1/session", nullptr, &other).result(),
              bhttp::status::ok);
    clock_.advance(6 * FakeClock::kMinute);
    EXPECT_EQ(reauth(other, "admin-password-1").result(), bhttp::status::no_content);
}

TEST_F(ReauthTest, SuccessfulReauthClearsTheFailureCountLikeALogin) {
    auto admin = login("admin", "admin-password-1");
    for (int round = 0; round < 3; ++round) {  // 2 failures, then success: never 3 in a row
        EXPECT_EQ(reauth(admin, "wrong-password").result(), bhttp::status::unauthorized);
        EXPECT_EQ(reauth(admin, "wrong-password").result(), bhttp::status::unauthorized);
        EXPECT_EQ(reauth(admin, "admin-password-1").result(), bhttp::status::no_content);
    }
}

TEST_F(ReauthTest, WrongPasswordsFromOneSourceAreThrottled) {
    config::Config c = *device_.cfg;
    c.login.lockout_enabled = false;  // the per-source throttle alone (IA-7)
    device_.cfg = std::make_shared<const config::Config>(c);
    auto admin = login("admin", "admin-password-1");
    for (int i = 0; i < 10; ++i) {
        EXPECT_EQ(reauth(admin, "wrong-password").result(), bhttp::status::unauthorized) << i;
    }
    auto throttled = reauth(admin, "admin-password-1");
    EXPECT_EQ(throttled.result(), bhttp::status::too_many_requests);
    EXPECT_EQ(json(throttled)["error"], "throttled");
    EXPECT_FALSE(throttled[bhttp::field::retry_after].empty());
    // Logins from that address are throttled too: one counter per source.
    EXPECT_EQ(call(bhttp::verb::post, "/api/v1/login",
                   {{"account", "admin"}, {"password", "admin-password-1"}})
                  .result(),
              bhttp::status::too_many_requests);
}

TEST_F(ReauthTest, WrongCurrentPasswordOnOwnChangeCountsTowardsLockout) {
    auto admin = login("admin", "admin-password-1");
    const nlohmann::json wrong = {{"current_password", "wrong-password"},
                                  {"new_password", "admin-password-2"}};
    for (int i = 0; i < 2; ++i) {
        auto r = call(bhttp::verb::put, "/api/v1/session/password", wrong, &admin);
        EXPECT_EQ(r.result(), bhttp::status::forbidden);
        EXPECT_EQ(json(r)["error"], "wrong_password");
    }
    auto third = call(bhttp::verb::put, "/api/v1/session/password", wrong, &admin);
    EXPECT_EQ(third.result(), bhttp::status::forbidden);
    EXPECT_EQ(call(bhttp::verb::post, "/api/v1/login",
                   {{"account", "admin"}, {"password", "admin-password-1"}})
                  .result(),
              bhttp::status::locked);
    clock_.advance(6 * FakeClock::kMinute);
    auto again = login("admin", "admin-password-1");
    auto other = login("admin", "admin-password-1");
    for (int i = 0; i < 2; ++i) {
        EXPECT_EQ(call(bhttp::verb::put, "/api/v1/session/password", wrong, &again).result(),
                  bhttp::status::forbidden);
    }
    EXPECT_EQ(reauth(again, "wrong-password").result(), bhttp::status::unauthorized);  // locks
    auto locked = call(
        bhttp::verb::put, "/api/v1/session/password",
        {{"current_password", "admin-password-1"}, {"new_password", "admin-password-2"}}, &other);
    EXPECT_EQ(locked.result(), bhttp::status::locked);
    EXPECT_EQ(json(locked)["error"], "locked");
}

TEST_F(ReauthTest, OwnPasswordChangeIsNotSensitiveAndCountsAsFreshAuthentication) {
    auto admin = login("admin", "admin-password-1");
    clock_.advance(kReauthWindowUs + FakeClock::kSecond);
    EXPECT_EQ(put_policy(admin).result(), bhttp::status::unauthorized);
    auto changed = call(
        bhttp::verb::put, "/api/v1/session/password",
        {{"current_password", "admin-password-1"}, {"new_password", "admin-password-2"}}, &admin);
    ASSERT_EQ(changed.result(), bhttp::status::no_content) << changed.body();
    EXPECT_EQ(put_policy(admin).result(), bhttp::status::ok);
}

TEST_F(ReauthTest, ReauthNeedsCsrfAndASessionAndAPasswordString) {
    auto admin = login("admin", "admin-password-1");
    Client no_token{admin.cookie, ""};
    EXPECT_EQ(reauth(no_token, "admin-password-1").result(), bhttp::status::forbidden);
    Client nobody{"x", admin.csrf};
    EXPECT_EQ(reauth(nobody, "admin-password-1").result(), bhttp::status::unauthorized);
    auto bad = call(bhttp::verb::post, "/api/v1/session/reauth", {{"password", 1}}, &admin);
    EXPECT_EQ(bad.result(), bhttp::status::bad_request);
    EXPECT_EQ(json(bad)["error"], "invalid_field");
}

TEST_F(ApiTest, SessionOver50PerSecondIs429BeforeTheHandlerAndCounted) {
    setup_admin();
    auto admin = login("admin", "admin-password-1");
    auto other = login("admin", "admin-password-1");  // a second session of the same account
    // The fake clock stands still: the burst of 100, then 429 with Retry-After.
    for (int i = 0; i < 100; ++i) {
        ASSERT_EQ(call(bhttp::verb::get, "/api/v1/session", nullptr, &admin).result(),
                  bhttp::status::ok)
            << i;
    }
    auto limited = call(bhttp::verb::get, "/api/v1/session", nullptr, &admin);
    EXPECT_EQ(limited.result(), bhttp::status::too_many_requests);
    EXPECT_EQ(json(limited)["error"], "too_many_requests");
    EXPECT_EQ(limited[bhttp::field::retry_after], "1");
    // Before the handler: an unknown path and a write without CSRF token are 429 too, not 404/403.
    EXPECT_EQ(call(bhttp::verb::get, "/api/v1/nowhere", nullptr, &admin).result(),
              bhttp::status::too_many_requests);
    Client no_csrf{admin.cookie, ""};
    EXPECT_EQ(
        call(bhttp::verb::post, "/api/v1/logout", nlohmann::json::object(), &no_csrf).result(),
        bhttp::status::too_many_requests);
    EXPECT_EQ(counters_.too_many_requests_session.load(), 3U);
    // The other session is served.
    EXPECT_EQ(call(bhttp::verb::get, "/api/v1/session", nullptr, &other).result(),
              bhttp::status::ok);
    // 20 ms later one request more.
    clock_.advance(20'000);
    EXPECT_EQ(call(bhttp::verb::get, "/api/v1/session", nullptr, &admin).result(),
              bhttp::status::ok);
    // The counters are readable through the API (Security, read).
    auto dos = call(bhttp::verb::get, "/api/v1/system/dos", nullptr, &other);
    ASSERT_EQ(dos.result(), bhttp::status::ok) << dos.body();
    EXPECT_EQ(json(dos)["requests"]["too_many_requests"]["session"], 3);
    EXPECT_EQ(json(dos)["connections"]["refused"]["handshake_rate"], 0);
}

TEST_F(ApiTest, DosCountersNeedSecurityRead) {
    setup_admin();
    auto admin = login("admin", "admin-password-1");
    counters_.refused_connection_rate = 7;
    auto dos = call(bhttp::verb::get, "/api/v1/system/dos", nullptr, &admin);
    ASSERT_EQ(dos.result(), bhttp::status::ok);
    EXPECT_EQ(json(dos)["connections"]["refused"]["connection_rate"], 7);
    // Operator: no Security area.
    auto r = call(bhttp::verb::post, "/api/v1/accounts",
                  {{"name", "op"},
                   {"group", "Operator"},
                   {"password", "operator-pass-1"},
                   {"must_change_password", false},
                   {"active", true}},
                  &admin);
    ASSERT_EQ(r.result(), bhttp::status::created) << r.body();
    auto op = login("op", "operator-pass-1");
    EXPECT_EQ(call(bhttp::verb::get, "/api/v1/system/dos", nullptr, &op).result(),
              bhttp::status::forbidden);
}

// ---------------------------------------------------------------- NE-5 Argon2id slots

TEST(Routes, Argon2idSlotRoutesAreThoseThatHashOrVerifyAPassword) {
    const std::set<std::pair<bhttp::verb, std::string_view>> argon2 = {
        {bhttp::verb::post, "/api/v1/setup"},
        {bhttp::verb::post, "/api/v1/login"},
        {bhttp::verb::put, "/api/v1/session/password"},
        {bhttp::verb::post, "/api/v1/session/reauth"},
        {bhttp::verb::post, "/api/v1/accounts"},
        {bhttp::verb::put, "/api/v1/accounts/{}/password"},
    };
    std::set<std::pair<bhttp::verb, std::string_view>> marked;
    for (const auto& r : Api::routes()) {
        if (r.needs_argon2_slot()) marked.emplace(r.method, r.pattern);
    }
    EXPECT_EQ(marked, argon2);
}

/// Holds every Argon2id slot from other threads (as concurrent logins would) until release() or
/// the end of its scope.
class AllArgon2SlotsHeld {
public:
    AllArgon2SlotsHeld() {
        namespace acc = security::accounts;
        std::vector<std::future<bool>> held;
        for (std::size_t i = 0; i < acc::argon2_parallelism(); ++i) {
            std::promise<bool> got;
            held.push_back(got.get_future());
            holders_.emplace_back([got = std::move(got), released = released_]() mutable {
                const acc::Argon2Slot slot(std::chrono::seconds(5));
                got.set_value(slot.acquired());
                released.wait();
            });
        }
        for (auto& h : held) all_held_ = h.get() && all_held_;
    }
    ~AllArgon2SlotsHeld() { release(); }
    AllArgon2SlotsHeld(const AllArgon2SlotsHeld&) = delete;
    AllArgon2SlotsHeld& operator=(const AllArgon2SlotsHeld&) = delete;

    /// False when a holder found no slot within 5 s (ASSERT it before relying on the hold).
    bool all_held() const { return all_held_; }
    void release() {
        if (holders_.empty()) return;
        release_.set_value();
        for (auto& h : holders_) h.join();
        holders_.clear();
    }

private:
    std::promise<void> release_;
    std::shared_future<void> released_ = release_.get_future().share();
    std::vector<std::thread> holders_;
    bool all_held_ = true;
};

TEST_F(ApiTest, EveryArgon2RouteIs503WithoutASlotWithinTwoSecondsAndCounted) {
    namespace acc = security::accounts;
    EXPECT_EQ(acc::kArgon2MaxWait, std::chrono::seconds(2));
    auto expect_overloaded = [&](const http::Response& r, std::chrono::nanoseconds took,
                                 std::string_view what) {
        EXPECT_EQ(r.result(), bhttp::status::service_unavailable) << what << ": " << r.body();
        EXPECT_EQ(json(r)["error"], "overloaded") << what;
        EXPECT_EQ(r[bhttp::field::retry_after], "1") << what;
        EXPECT_GE(took, std::chrono::milliseconds(1900)) << what;
        EXPECT_LT(took, std::chrono::seconds(10)) << what;
    };
    auto timed = [&](bhttp::verb method, const std::string& target, const nlohmann::json& body,
                     const Client* c) {
        const auto t = std::chrono::steady_clock::now();
        auto r = call(method, target, body, c);
        return std::pair{std::move(r), std::chrono::steady_clock::now() - t};
    };
    {  // Setup first: it is settled (409) without a slot once an account exists.
        AllArgon2SlotsHeld hold;
        ASSERT_TRUE(hold.all_held());
        auto [r, took] = timed(bhttp::verb::post, "/api/v1/setup",
                               {{"account", "admin"}, {"password", "admin-password-1"}}, nullptr);
        hold.release();
        expect_overloaded(r, took, "setup");
    }
    EXPECT_EQ(*api_->accounts().count(), 0);
    EXPECT_EQ(api_->accounts().counters().hashes, 0U);
    setup_admin();
    auto admin = login("admin", "admin-password-1");
    const std::vector<std::tuple<bhttp::verb, std::string, nlohmann::json, const Client*>>
        requests = {
            {bhttp::verb::post,
             "/api/v1/login",
             {{"account", "admin"}, {"password", "wrong-one-1"}},
             nullptr},
            {bhttp::verb::post, "/api/v1/session/reauth", {{"password", "wrong-one-1"}}, &admin},
            {bhttp::verb::put,
             "/api/v1/session/password",
             {{"current_password", "admin-password-1"}, {"new_password", "admin-password-2"}},
             &admin},
            {bhttp::verb::post,
             "/api/v1/accounts",
             {{"name", "op"}, {"group", "Operator"}, {"password", "operator-pass-1"}},
             &admin},
            {bhttp::verb::put,
             "/api/v1/accounts/other/password",
             {{"password", "operator-pass-2"}},
             &admin},
        };
    const auto argon2_routes =
        std::count_if(Api::routes().begin(), Api::routes().end(),
                      [](const Api::Route& r) { return r.needs_argon2_slot(); });
    ASSERT_EQ(static_cast<std::size_t>(argon2_routes), requests.size() + 1);  // and setup
    const auto work_held = api_->accounts().counters();
    {  // The others at once: two seconds, not ten.
        AllArgon2SlotsHeld hold;
        ASSERT_TRUE(hold.all_held());
        std::vector<std::future<std::pair<http::Response, std::chrono::nanoseconds>>> answers;
        for (const auto& [method, target, body, client] : requests) {
            answers.push_back(std::async(std::launch::async, [&, method = method, target = target,
                                                              body = body, client = client] {
                return timed(method, target, body, client);
            }));
        }
        for (std::size_t i = 0; i < answers.size(); ++i) {
            auto [r, took] = answers[i].get();
            expect_overloaded(r, took, std::get<1>(requests[i]));
        }
    }
    EXPECT_EQ(counters_.overloaded_argon2.load(), requests.size() + 1);
    // No Argon2id ran and nothing counted against the account: the old password still works at
    // once, the wrong one of the refused login and reauth did not count, nothing was created.
    const auto work_after = api_->accounts().counters();
    EXPECT_EQ(work_after.verifications, work_held.verifications);
    EXPECT_EQ(work_after.hashes, work_held.hashes);
    EXPECT_EQ(api_->accounts().lock_state("admin").failures, 0);
    EXPECT_EQ(call(bhttp::verb::get, "/api/v1/accounts/op", nullptr, &admin).result(),
              bhttp::status::not_found);
    auto ok = call(bhttp::verb::post, "/api/v1/login",
                   {{"account", "admin"}, {"password", "admin-password-1"}});
    EXPECT_EQ(ok.result(), bhttp::status::ok) << ok.body();
}

TEST_F(ApiTest, Argon2RoutesSettleBadRequestsWithoutWaitingForASlot) {
    setup_admin();
    auto admin = login("admin", "admin-password-1");
    AllArgon2SlotsHeld hold;
    ASSERT_TRUE(hold.all_held());
    // What each handler checks before its slot is answered at once, never 503.
    EXPECT_EQ(call(bhttp::verb::post, "/api/v1/setup",
                   {{"account", "x"}, {"password", "other-password-1"}})
                  .result(),
              bhttp::status::conflict);
    EXPECT_EQ(call(bhttp::verb::post, "/api/v1/login", {{"account", "admin"}}).result(),
              bhttp::status::bad_request);
    EXPECT_EQ(call(bhttp::verb::post, "/api/v1/session/reauth", {{"password", 1}}, &admin).result(),
              bhttp::status::bad_request);
    EXPECT_EQ(call(bhttp::verb::put, "/api/v1/session/password", {{"new_password", "x"}}, &admin)
                  .result(),
              bhttp::status::bad_request);
    EXPECT_EQ(call(bhttp::verb::post, "/api/v1/accounts",
                   {{"name", "op"},
                    {"group", "Operator"},
                    {"password", "operator-pass-1"},
                    {"active", "yes"}},
                   &admin)
                  .result(),
              bhttp::status::bad_request);
    EXPECT_EQ(call(bhttp::verb::put, "/api/v1/accounts/admin/password",
                   {{"password", "admin-password-2"}}, &admin)
                  .result(),
              bhttp::status::conflict);
    EXPECT_EQ(counters_.overloaded_argon2.load(), 0U);
}

TEST_F(ApiTest, RoutesWithoutTheArgon2PropertyNeedNoSlot) {
    setup_admin();
    auto admin = login("admin", "admin-password-1");
    const auto work = api_->accounts().counters();
    AllArgon2SlotsHeld hold;
    ASSERT_TRUE(hold.all_held());
    std::vector<const Api::Route*> plain;
    for (const auto& r : Api::routes()) {
        if (!r.needs_argon2_slot()) plain.push_back(&r);
    }
    // Logout last: it ends the session the others use.
    std::stable_partition(plain.begin(), plain.end(),
                          [](const Api::Route* r) { return r->pattern != "/api/v1/logout"; });
    ASSERT_GT(plain.size(), 30U);
    for (const Api::Route* r : plain) {
        std::string target(r->pattern);
        if (auto p = target.find("{}"); p != std::string::npos) target.replace(p, 2, "nobody");
        const nlohmann::json body = r->write ? nlohmann::json::object() : nlohmann::json();
        auto res = call(r->method, target, body, &admin);
        EXPECT_NE(res.result(), bhttp::status::service_unavailable) << target << res.body();
        EXPECT_NE(res.result(), bhttp::status::unauthorized) << target << res.body();
    }
    EXPECT_EQ(counters_.overloaded_argon2.load(), 0U);
    EXPECT_EQ(api_->accounts().counters().verifications, work.verifications);
    EXPECT_EQ(api_->accounts().counters().hashes, work.hashes);
}

TEST_F(ApiTest, OwnPasswordChangeVerifiesTheCurrentPasswordOnce) {
    setup_admin();
    auto admin = login("admin", "admin-password-1");
    const auto before = api_->accounts().counters();
    auto changed = call(
        bhttp::verb::put, "/api/v1/session/password",
        {{"current_password", "admin-password-1"}, {"new_password", "admin-password-2"}}, &admin);
    ASSERT_EQ(changed.result(), bhttp::status::no_content) << changed.body();
    const auto after = api_->accounts().counters();
    EXPECT_EQ(after.verifications - before.verifications, 1U);  // prove_password's login
    EXPECT_EQ(after.hashes - before.hashes, 1U);                // the new password
    login("admin", "admin-password-2");
}

TEST(Argon2Slot, AtMostTwoAndWaitIsBounded) {
    namespace acc = security::accounts;
    const std::size_t n = acc::argon2_parallelism();
    EXPECT_GE(n, 1U);
    EXPECT_LE(n, 2U);
    EXPECT_LE(n, std::max(1U, std::thread::hardware_concurrency() - 1));
    {  // This thread takes every slot through other threads, then a wait of 100 ms fails.
        AllArgon2SlotsHeld hold;
        ASSERT_TRUE(hold.all_held());
        const acc::Argon2Slot none(std::chrono::milliseconds(100));
        EXPECT_FALSE(none.acquired());
    }
    // Free again; nested slots on one thread do not wait for a second one.
    const acc::Argon2Slot outer(std::chrono::milliseconds(100));
    ASSERT_TRUE(outer.acquired());
    const acc::Argon2Slot inner(std::chrono::milliseconds(0));
    EXPECT_TRUE(inner.acquired());
    // A hash inside the held slot runs (it would deadlock with one slot if it waited for its own).
    EXPECT_TRUE(acc::hash_password(security::Secret(std::string("nested-pass-1")),
                                   security::accounts::HashCostForTests::cheapest()));
}

}  // namespace
}  // namespace sg::web::api
