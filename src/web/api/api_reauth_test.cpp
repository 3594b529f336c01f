// api_reauth_test.cpp: AZ-3 re-authentication through the API's request pipeline — which routes
// are sensitive, the 5-minute window, POST /session/reauth and how wrong passwords there and on
// the own password change count towards lockout and throttle — with the injected clock of
// api_test_fixture.h. tests/system/web/test_api_reauth.py covers the same over HTTPS.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "events/audit.h"
#include "web/api/api.h"
#include "web/api/api_test_fixture.h"

namespace sg::web::api {
namespace {

namespace bhttp = boost::beast::http;
using security::accounts::FakeClock;
using testing::ApiTest;
using testing::Client;

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
        {bhttp::verb::put, "/api/v1/allowlist"},
        {bhttp::verb::put, "/api/v1/serial-dos"},  // a Security setting, like https.dos
        {bhttp::verb::put, "/api/v1/certificate"},
        {bhttp::verb::post, "/api/v1/certificate/regenerate"},
        {bhttp::verb::post, "/api/v1/remote-certificates"},
        {bhttp::verb::delete_, "/api/v1/remote-certificates/{}"},
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
    auto op = add_operator(admin);
    ASSERT_FALSE(HasFailure());
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

// Issue 14 item 12: system.allowed_devices rides in the System section, which the Operator may
// write; changing the list itself needs Security write and a fresh password, on every route.
TEST_F(ReauthTest, AllowedDevicesNeedSecurityWriteAndAFreshPasswordWhateverTheRoute) {
    auto admin = login("admin", "admin-password-1");
    auto op = add_operator(admin);
    ASSERT_FALSE(HasFailure());
    const std::vector<std::string> wider{"/dev/ttyS*", "/dev/pts/*"};
    const nlohmann::json widened = {{"allowed_devices", wider}};
    const auto commits = device_.commits;
    auto denied = call(bhttp::verb::put, "/api/v1/system", widened, &op);
    EXPECT_EQ(denied.result(), bhttp::status::forbidden) << denied.body();
    EXPECT_EQ(json(denied)["error"], "forbidden");
    EXPECT_EQ(json(denied)["message"],
              "changing system.allowed_devices needs read_write on security");
    EXPECT_EQ(device_.commits, commits);
    // The rest of the section stays the Operator's.
    EXPECT_EQ(call(bhttp::verb::put, "/api/v1/system", {{"device_name", "gw"}}, &op).result(),
              bhttp::status::ok);

    clock_.advance(kReauthWindowUs + FakeClock::kSecond);
    const auto before = device_.commits;
    auto stale = call(bhttp::verb::put, "/api/v1/system", widened, &admin);
    EXPECT_EQ(stale.result(), bhttp::status::unauthorized) << stale.body();
    EXPECT_EQ(json(stale)["error"], "reauth_required");
    EXPECT_EQ(device_.commits, before);
    EXPECT_EQ(reauth(admin, "admin-password-1").result(), bhttp::status::no_content);
    auto ok = call(bhttp::verb::put, "/api/v1/system", widened, &admin);
    EXPECT_EQ(ok.result(), bhttp::status::ok) << ok.body();
    EXPECT_EQ(device_.cfg->system.allowed_devices, wider);

    // A port outside the list is refused whoever asks, naming the key.
    auto port = call(bhttp::verb::put, "/api/v1/ports/1", {{"device", "/etc/passwd"}}, &admin);
    EXPECT_EQ(port.result(), bhttp::status::bad_request) << port.body();
    EXPECT_EQ(json(port)["problems"][0]["message"],
              "/etc/passwd is not allowed by system.allowed_devices");
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

// Issue 14 item 7 (AU-3): the Security types of severity Notice record what administrators do.
// Switching one needs Security write and a fresh password, on every API route that can carry it;
// the other types stay Diagnostics write; the change is logged under the old settings.
class AuditTypesTest : public ReauthTest {
protected:
    http::Response put_types(const Client& c, const nlohmann::json& types) {
        return call(bhttp::verb::put, "/api/v1/event-log/settings", {{"types", types}}, &c);
    }
    std::size_t events_of(std::string_view type) {
        log_->flush();
        events::Query q;
        q.type = std::string(type);
        auto list = events::read(*store_, q);
        EXPECT_TRUE(list.ok());
        return list.ok() ? list->size() : 0;
    }
};

TEST_F(AuditTypesTest, OperatorIsRefusedEveryAdministratorAuditType) {
    auto admin = login("admin", "admin-password-1");
    auto op = add_operator(admin);
    for (const events::Type* t : events::catalog()) {
        if (t->category != events::Category::Security || t->severity != events::Severity::Notice) {
            continue;
        }
        const auto commits = device_.commits;
        auto r = put_types(op, {{t->key, false}});
        EXPECT_EQ(r.result(), bhttp::status::forbidden) << t->key << " " << r.body();
        EXPECT_EQ(json(r)["error"], "forbidden");
        EXPECT_EQ(device_.commits, commits) << t->key;
    }
    EXPECT_TRUE(device_.cfg->event_log.types.empty());
    // Neither through the whole document (which needs Security on its own, AZ-1).
    nlohmann::json doc = json(call(bhttp::verb::get, "/api/v1/config", nullptr, &admin));
    doc["event_log"] = {{"types", {{"security.account_created", false}}}};
    EXPECT_EQ(call(bhttp::verb::put, "/api/v1/config", doc, &op).result(),
              bhttp::status::forbidden);
    // The Operator keeps the other types; setting an audit type to what it already is changes
    // nothing about the audit and is allowed.
    EXPECT_EQ(put_types(op, {{"serial.connected", false}}).result(), bhttp::status::ok);
    EXPECT_EQ(
        put_types(op, {{"serial.connected", false}, {"security.account_created", true}}).result(),
        bhttp::status::ok);
    EXPECT_EQ(events_of("security.policy_changed"), 0U);
}

TEST_F(AuditTypesTest, AdministratorNeedsAFreshPasswordAndTheChangeIsLoggedFirst) {
    auto admin = login("admin", "admin-password-1");
    clock_.advance(kReauthWindowUs + FakeClock::kSecond);
    const auto commits = device_.commits;
    auto stale = put_types(admin, {{"security.policy_changed", false}});
    EXPECT_EQ(stale.result(), bhttp::status::unauthorized);
    EXPECT_EQ(json(stale)["error"], "reauth_required");
    EXPECT_EQ(device_.commits, commits);
    // A non-audit type needs no fresh password.
    EXPECT_EQ(put_types(admin, {{"serial.connected", false}}).result(), bhttp::status::ok);
    ASSERT_EQ(reauth(admin, "admin-password-1").result(), bhttp::status::no_content);
    auto ok = put_types(admin, {{"serial.connected", false}, {"security.policy_changed", false}});
    EXPECT_EQ(ok.result(), bhttp::status::ok) << ok.body();
    EXPECT_FALSE(device_.cfg->event_log.types.at("security.policy_changed"));
    // Recorded while policy_changed was still on, though the change switches it off.
    EXPECT_EQ(events_of("security.policy_changed"), 1U);
}

TEST(AuditChanges, OnlyNoticeSecurityTypesWhoseRecordingDiffers) {
    config::EventLogSettings before;
    config::EventLogSettings after;
    after.types["serial.connected"] = false;
    after.types["security.account_created"] = true;  // on by default: no change
    EXPECT_TRUE(events::audit_changes(before, after).empty());
    after.types["security.group_changed"] = false;
    auto changes = events::audit_changes(before, after);
    ASSERT_EQ(changes.size(), 1U);
    EXPECT_EQ(changes[0], &events::types::kGroupChanged);
    EXPECT_EQ(events::describe_audit_changes(changes, after), "security.group_changed off");
    EXPECT_EQ(events::describe_audit_changes(events::audit_changes(after, before), before),
              "security.group_changed on");
    EXPECT_TRUE(events::audits_administrators(events::types::kLoginFailed));
    EXPECT_FALSE(events::audits_administrators(events::types::kLoginSucceeded));  // Informational
    EXPECT_FALSE(events::audits_administrators(events::types::kConfigChanged));   // System
}

// Issue 14 item 10 (WS-7): an administrator's login at the full device-wide cap ends the oldest
// session of a group without Account Management write; an Operator's login does not.
TEST_F(ReauthTest, AdministratorLoginEndsTheOldestNonAdministratorSessionAtTheCap) {
    auto admin = login("admin", "admin-password-1");
    auto op1 = add_operator(admin);
    config::Config c = *device_.cfg;
    c.login.max_web_sessions = 3;
    c.login.max_sessions_per_account = 3;
    device_.cfg = std::make_shared<const config::Config>(c);
    EXPECT_EQ(call(bhttp::verb::post, "/api/v1/logout", nlohmann::json::object(), &admin).result(),
              bhttp::status::no_content);
    clock_.advance(FakeClock::kSecond);
    auto op2 = login("op", "operator-pass-1");
    clock_.advance(FakeClock::kSecond);
    auto op3 = login("op", "operator-pass-1");
    auto refused = call(bhttp::verb::post, "/api/v1/login",
                        {{"account", "op"}, {"password", "operator-pass-1"}});
    EXPECT_EQ(refused.result(), bhttp::status::too_many_requests);
    auto admin2 = login("admin", "admin-password-1");
    EXPECT_EQ(call(bhttp::verb::get, "/api/v1/session", nullptr, &op1).result(),
              bhttp::status::unauthorized);  // the oldest
    EXPECT_EQ(call(bhttp::verb::get, "/api/v1/session", nullptr, &op2).result(), bhttp::status::ok);
    EXPECT_EQ(call(bhttp::verb::get, "/api/v1/session", nullptr, &admin2).result(),
              bhttp::status::ok);
    log_->flush();
    events::Query q;
    q.type = "security.session_ended";
    auto ended = events::read(*store_, q);
    ASSERT_TRUE(ended.ok());
    ASSERT_EQ(ended->size(), 1U);
    EXPECT_EQ((*ended)[0].account, "admin");
    EXPECT_NE((*ended)[0].message.find(" of op from "), std::string::npos) << (*ended)[0].message;
}

}  // namespace
}  // namespace sg::web::api
