#include "web/api/sessions.h"

#include <gtest/gtest.h>

namespace sg::web::api {
namespace {

struct Fixture : ::testing::Test {
    std::int64_t now = 1'000'000'000'000;
    Sessions sessions{[this] { return now; }};
    config::LoginSettings settings;
    Sessions::Created login(const std::string& account) {
        auto r = sessions.create(account, "Administrator", "127.0.0.1", false, settings);
        EXPECT_TRUE(std::holds_alternative<Sessions::Created>(r));
        return std::get<Sessions::Created>(r);
    }
};

TEST_F(Fixture, CookieIsRandom256BitsAndCsrfDiffers) {
    auto a = login("a");
    auto b = login("a");
    EXPECT_EQ(a.cookie_value.size(), 43u);  // 32 bytes base64url
    EXPECT_NE(a.cookie_value, b.cookie_value);
    EXPECT_NE(a.view.csrf_token, a.cookie_value);
    EXPECT_NE(a.view.public_id, b.view.public_id);
    auto v = sessions.touch(a.cookie_value, settings);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->account, "a");
    EXPECT_FALSE(sessions.touch(a.cookie_value + "x", settings));
    EXPECT_FALSE(sessions.touch("", settings));
}

TEST_F(Fixture, IdleTimeoutAndTouchRestartsIt) {
    settings.session_timeout_min = 1;
    auto a = login("a");
    now += 50'000'000;
    EXPECT_TRUE(sessions.touch(a.cookie_value, settings));
    now += 50'000'000;  // 100 s after login, 50 s after the last use
    EXPECT_TRUE(sessions.touch(a.cookie_value, settings));
    now += 61'000'000;
    EXPECT_FALSE(sessions.touch(a.cookie_value, settings));
    auto gone = sessions.purge(settings);
    ASSERT_EQ(gone.size(), 1u);
    EXPECT_EQ(gone[0].account, "a");
}

TEST_F(Fixture, AbsoluteLifetimeEndsAnActiveSession) {
    settings.session_timeout_min = 1440;
    auto a = login("a");
    for (int i = 0; i < 8 * 60; ++i) {
        now += 60'000'000;
        if (!sessions.touch(a.cookie_value, settings)) {
            EXPECT_GE(i, 8 * 60 - 1);
            return;
        }
    }
    FAIL() << "session outlived 8 h";
}

TEST_F(Fixture, DeviceWideAndPerAccountCaps) {
    settings.max_web_sessions = 3;
    settings.max_sessions_per_account = 2;
    login("a");
    login("a");
    auto r = sessions.create("a", "Administrator", "x", false, settings);
    ASSERT_TRUE(std::holds_alternative<std::string>(r));
    EXPECT_EQ(std::get<std::string>(r), "too_many_sessions");
    login("b");
    r = sessions.create("c", "Operator", "x", false, settings);
    EXPECT_TRUE(std::holds_alternative<std::string>(r));
}

// Issue 14 item 10: at the device-wide cap a login may end the oldest session `may_end` allows.
TEST_F(Fixture, FullCapEndsTheOldestSessionMayEndAllows) {
    settings.max_web_sessions = 3;
    settings.max_sessions_per_account = 3;
    auto op = [this](const std::string& account) {
        auto r = sessions.create(account, "Operator", "10.0.0.1", false, settings);
        return std::get<Sessions::Created>(r);
    };
    auto admin_first = login("root");
    now += 1'000'000;
    auto op_old = op("op1");
    now += 1'000'000;
    auto op_new = op("op2");
    const Sessions::MayEnd not_admin = [](const SessionView& s) {
        return s.group != "Administrator";
    };
    // Without `may_end` (a non-administrator's login): refused as before, nothing ended.
    auto r = sessions.create("op3", "Operator", "x", false, settings);
    ASSERT_TRUE(std::holds_alternative<std::string>(r));
    EXPECT_EQ(std::get<std::string>(r), "too_many_sessions");
    r = sessions.create("admin", "Administrator", "x", false, settings, not_admin);
    ASSERT_TRUE(std::holds_alternative<Sessions::Created>(r));
    const auto& c = std::get<Sessions::Created>(r);
    ASSERT_TRUE(c.ended);
    EXPECT_EQ(c.ended->public_id, op_old.view.public_id);  // the oldest non-administrator
    EXPECT_FALSE(sessions.touch(op_old.cookie_value, settings));
    EXPECT_TRUE(sessions.touch(op_new.cookie_value, settings));
    EXPECT_TRUE(sessions.touch(admin_first.cookie_value, settings));
    EXPECT_EQ(sessions.list(settings).size(), 3u);
    // Then op2 goes; then only administrators are left and the next login is refused.
    r = sessions.create("admin", "Administrator", "x", false, settings, not_admin);
    ASSERT_TRUE(std::holds_alternative<Sessions::Created>(r));
    EXPECT_EQ(std::get<Sessions::Created>(r).ended->account, "op2");
    r = sessions.create("admin2", "Administrator", "x", false, settings, not_admin);
    EXPECT_TRUE(std::holds_alternative<std::string>(r));
    EXPECT_EQ(sessions.list(settings).size(), 3u);
}

TEST_F(Fixture, MayEndDoesNotLiftThePerAccountCap) {
    settings.max_web_sessions = 5;
    settings.max_sessions_per_account = 1;
    login("admin");
    sessions.create("op", "Operator", "x", false, settings);
    auto r = sessions.create("admin", "Administrator", "x", false, settings,
                             [](const SessionView&) { return true; });
    EXPECT_TRUE(std::holds_alternative<std::string>(r));
    EXPECT_EQ(sessions.list(settings).size(), 2u);
}

TEST_F(Fixture, BelowTheCapNothingEnds) {
    settings.max_web_sessions = 3;
    login("a");
    auto r = sessions.create("b", "Administrator", "x", false, settings,
                             [](const SessionView&) { return true; });
    ASSERT_TRUE(std::holds_alternative<Sessions::Created>(r));
    EXPECT_FALSE(std::get<Sessions::Created>(r).ended);
    EXPECT_EQ(sessions.list(settings).size(), 2u);
}

TEST_F(Fixture, ExpiredSessionsDoNotCountAgainstTheCap) {
    settings.max_web_sessions = 1;
    settings.session_timeout_min = 1;
    login("a");
    now += 120'000'000;
    login("b");
}

TEST_F(Fixture, EndByIdByCookieAndByAccount) {
    auto a1 = login("a");
    auto a2 = login("a");
    auto b = login("b");
    EXPECT_EQ(sessions.end_account("a", a1.view.public_id), 1u);
    EXPECT_TRUE(sessions.touch(a1.cookie_value, settings));
    EXPECT_FALSE(sessions.touch(a2.cookie_value, settings));
    auto ended = sessions.end(b.view.public_id);
    ASSERT_TRUE(ended);
    EXPECT_EQ(ended->account, "b");
    EXPECT_FALSE(sessions.touch(b.cookie_value, settings));
    EXPECT_TRUE(sessions.end_by_cookie(a1.cookie_value));
    EXPECT_FALSE(sessions.touch(a1.cookie_value, settings));
    EXPECT_TRUE(sessions.list(settings).empty());
}

// Issue 13: an open monitor keeps its session from going idle, never past the absolute limit.
TEST_F(Fixture, MonitorKeepsTheSessionFromGoingIdleUntilTheAbsoluteLimit) {
    settings.session_timeout_min = 1;
    auto a = login("a");
    auto idle = login("b");
    for (int i = 0; i < 10; ++i) {  // 5 minutes, a check every 30 s
        now += 30'000'000;
        EXPECT_FALSE(sessions.keep_monitor(a.view.public_id, 0, settings)) << i;
    }
    EXPECT_TRUE(sessions.touch(a.cookie_value, settings));
    EXPECT_FALSE(sessions.touch(idle.cookie_value, settings));
    auto gone = sessions.keep_monitor(idle.view.public_id, 0, settings);
    ASSERT_TRUE(gone);
    EXPECT_FALSE(gone->revoked);
    EXPECT_EQ(gone->why, "session expired");
    while (now - a.view.created_us < kSessionAbsoluteUs - 30'000'000) {
        now += 30'000'000;
        ASSERT_FALSE(sessions.keep_monitor(a.view.public_id, 0, settings));
    }
    now += 30'000'000;
    auto end = sessions.keep_monitor(a.view.public_id, 0, settings);
    ASSERT_TRUE(end);
    EXPECT_EQ(end->why, "session ended: its 8 h limit");
    EXPECT_FALSE(sessions.touch(a.cookie_value, settings));
}

TEST_F(Fixture, MonitorEndsWithTheReasonItsSessionEndedOrLostTheRight) {
    auto a = login("a");
    auto b = login("b");
    auto c = login("c");
    EXPECT_TRUE(sessions.end_by_cookie(a.cookie_value, "logged out"));
    EXPECT_EQ(sessions.end_account("b", {}, "account disabled"), 1u);
    auto end = sessions.keep_monitor(a.view.public_id, 0, settings);
    ASSERT_TRUE(end);
    EXPECT_FALSE(end->revoked);
    EXPECT_EQ(end->why, "session ended: logged out");
    EXPECT_EQ(sessions.keep_monitor(b.view.public_id, 0, settings)->why,
              "session ended: account disabled");
    EXPECT_EQ(sessions.keep_monitor("0123456789abcdef", 0, settings)->why, "session ended");
    // Revoked: the monitor opened under epoch 0 ends, the session goes on, and a monitor opened
    // afterwards (under the new epoch, by a request that passed the privilege checks) goes on.
    EXPECT_EQ(sessions.revoke_monitors([](const SessionView& s) { return s.account == "c"; },
                                       "group X lost Diagnostics"),
              1u);
    end = sessions.keep_monitor(c.view.public_id, 0, settings);
    ASSERT_TRUE(end);
    EXPECT_TRUE(end->revoked);
    EXPECT_EQ(end->why, "group X lost Diagnostics");
    auto now_c = sessions.touch(c.cookie_value, settings);
    ASSERT_TRUE(now_c);
    EXPECT_EQ(now_c->monitor_epoch, 1u);
    EXPECT_FALSE(sessions.keep_monitor(c.view.public_id, now_c->monitor_epoch, settings));
}

TEST(Tokens, ConstantTimeCompareRejectsEmptyAndLengthMismatch) {
    EXPECT_TRUE(tokens_equal("abc", "abc"));
    EXPECT_FALSE(tokens_equal("abc", "abd"));
    EXPECT_FALSE(tokens_equal("abc", "abcd"));
    EXPECT_FALSE(tokens_equal("", ""));
}

TEST_F(Fixture, ReauthWindowStartsAtLoginAndRestartsOnReauth) {
    settings.session_timeout_min = 60;
    auto a = login("a");
    auto v = sessions.touch(a.cookie_value, settings);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->reauth_us, now);
    EXPECT_TRUE(sessions.recently_authenticated(*v));
    now += kReauthWindowUs;  // the window's last microsecond still counts
    v = sessions.touch(a.cookie_value, settings);
    ASSERT_TRUE(v);
    EXPECT_TRUE(sessions.recently_authenticated(*v));
    now += 1;
    EXPECT_FALSE(sessions.recently_authenticated(*v));
    // Using the session does not refresh the proof; only a reauth does.
    v = sessions.touch(a.cookie_value, settings);
    ASSERT_TRUE(v);
    EXPECT_FALSE(sessions.recently_authenticated(*v));
    sessions.set_reauthenticated(v->public_id);
    v = sessions.touch(a.cookie_value, settings);
    ASSERT_TRUE(v);
    EXPECT_TRUE(sessions.recently_authenticated(*v));
    now += kReauthWindowUs + 1;
    EXPECT_FALSE(sessions.recently_authenticated(*sessions.touch(a.cookie_value, settings)));
}

TEST_F(Fixture, ReauthOfOneSessionLeavesTheOthersStale) {
    settings.session_timeout_min = 60;
    auto a = login("a");
    auto b = login("a");
    now += kReauthWindowUs + 1;
    sessions.set_reauthenticated(a.view.public_id);
    EXPECT_TRUE(sessions.recently_authenticated(*sessions.touch(a.cookie_value, settings)));
    EXPECT_FALSE(sessions.recently_authenticated(*sessions.touch(b.cookie_value, settings)));
}

TEST_F(Fixture, RequestBucketPerSession) {
    EXPECT_EQ(kSessionRequestsPerSecond, 50);
    EXPECT_EQ(kSessionRequestBurst, 100);
    auto a = login("a");
    auto b = login("b");
    for (int i = 0; i < 100; ++i) ASSERT_FALSE(sessions.take_request_token(a.view.public_id)) << i;
    const auto wait = sessions.take_request_token(a.view.public_id);
    ASSERT_TRUE(wait);
    EXPECT_EQ(*wait, std::chrono::seconds(1));
    // Another session has its own bucket.
    EXPECT_FALSE(sessions.take_request_token(b.view.public_id));
    // 50 tokens a second: 20 ms is one request, 1 s is fifty.
    now += 20'000;
    EXPECT_FALSE(sessions.take_request_token(a.view.public_id));
    EXPECT_TRUE(sessions.take_request_token(a.view.public_id));
    now += 1'000'000;
    for (int i = 0; i < 50; ++i) ASSERT_FALSE(sessions.take_request_token(a.view.public_id)) << i;
    EXPECT_TRUE(sessions.take_request_token(a.view.public_id));
}

TEST_F(Fixture, BucketsOfEndedSessionsArePurged) {
    auto a = login("a");
    for (int i = 0; i < 100; ++i) ASSERT_FALSE(sessions.take_request_token(a.view.public_id));
    ASSERT_TRUE(sessions.take_request_token(a.view.public_id));
    ASSERT_TRUE(sessions.end(a.view.public_id));
    (void)sessions.purge(settings);
    // The id's bucket went with its session: a new one starts full.
    EXPECT_FALSE(sessions.take_request_token(a.view.public_id));
}

}  // namespace
}  // namespace sg::web::api
