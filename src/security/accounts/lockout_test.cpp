#include "security/accounts/lockout.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "security/accounts/testing.h"

namespace sg::security::accounts {
namespace {

using Outcome = Accounts::LoginResult::Outcome;
constexpr std::int64_t kMinute = FakeClock::kMinute;
constexpr std::int64_t kSecond = FakeClock::kSecond;

config::LoginSettings settings(int threshold, int minutes, bool enabled = true) {
    config::LoginSettings s;
    s.lockout_enabled = enabled;
    s.retry_failure_threshold = static_cast<std::uint8_t>(threshold);
    s.lockout_duration_min = static_cast<std::uint8_t>(minutes);
    return s;
}

// ---------------------------------------------------------------- arithmetic

TEST(Lockout, LocksAfterThresholdWithinTheWindow) {
    const auto s = settings(3, 5);
    FailureRecord r;
    const std::int64_t t0 = 1'000 * kMinute;
    EXPECT_FALSE(record_failure(r, t0, s));
    EXPECT_FALSE(record_failure(r, t0 + kMinute, s));
    EXPECT_TRUE(record_failure(r, t0 + 2 * kMinute, s));
    EXPECT_TRUE(is_locked(r, t0 + 2 * kMinute));
    EXPECT_EQ(r.locked_until_us, t0 + 7 * kMinute);
    EXPECT_FALSE(record_failure(r, t0 + 3 * kMinute, s));  // while locked: not counted
    EXPECT_EQ(r.locked_until_us, t0 + 7 * kMinute);        // nor extended
    EXPECT_TRUE(is_locked(r, t0 + 7 * kMinute - 1));
    EXPECT_FALSE(is_locked(r, t0 + 7 * kMinute));
    EXPECT_EQ(current_failures(r, t0 + 7 * kMinute, s), 0);
    EXPECT_FALSE(record_failure(r, t0 + 8 * kMinute, s));  // a new window
    EXPECT_EQ(r.failures, 1);
}

TEST(Lockout, FailuresSpreadBeyondTheWindowDoNotLock) {
    const auto s = settings(3, 5);
    FailureRecord r;
    EXPECT_FALSE(record_failure(r, 0, s));
    EXPECT_FALSE(record_failure(r, 4 * kMinute, s));
    EXPECT_EQ(current_failures(r, 4 * kMinute, s), 2);
    EXPECT_FALSE(record_failure(r, 5 * kMinute, s));  // window [0, 5 min) is over
    EXPECT_EQ(r.failures, 1);
    EXPECT_FALSE(record_failure(r, 6 * kMinute, s));
    EXPECT_TRUE(record_failure(r, 7 * kMinute, s));
}

TEST(Lockout, DisabledNeverLocks) {
    const auto s = settings(1, 5, false);
    FailureRecord r;
    for (int i = 0; i < 20; ++i) EXPECT_FALSE(record_failure(r, i * kSecond, s));
    EXPECT_FALSE(is_locked(r, 20 * kSecond));
}

TEST(Throttle, ElevenFailuresPerMinutePerSource) {  // IA-7
    SourceThrottle t;
    const std::int64_t t0 = 1'000 * kMinute;
    for (int i = 0; i < SourceThrottle::kMaxFailures; ++i) {
        ASSERT_EQ(t.admit("127.0.0.2", t0 + i * kSecond), 0) << i;
        t.finish("127.0.0.2", t0 + i * kSecond, true);
    }
    EXPECT_EQ(t.admit("127.0.0.2", t0 + 10 * kSecond), 50);  // until the first failure is 60 s old
    EXPECT_EQ(t.admit("127.0.0.3", t0 + 10 * kSecond), 0);
    t.finish("127.0.0.3", t0 + 10 * kSecond, false);
    EXPECT_EQ(t.admit("127.0.0.2", t0 + 60 * kSecond), 0);  // the first failure left the window
    t.finish("127.0.0.2", t0 + 60 * kSecond, false);        // a success does not count
    EXPECT_EQ(t.admit("127.0.0.2", t0 + 61 * kSecond), 0);
}

TEST(Throttle, AttemptsInFlightCount) {
    SourceThrottle t;
    for (int i = 0; i < SourceThrottle::kMaxFailures - 1; ++i) {
        ASSERT_EQ(t.admit("10.0.0.1", 0), 0);
        t.finish("10.0.0.1", 0, true);
    }
    ASSERT_EQ(t.admit("10.0.0.1", 0), 0);  // the tenth, still running
    EXPECT_EQ(t.admit("10.0.0.1", 0), 1);  // a parallel eleventh must wait
    t.finish("10.0.0.1", 0, false);
    EXPECT_EQ(t.admit("10.0.0.1", 0), 0);
}

TEST(Throttle, MemoryIsBounded) {
    SourceThrottle t;
    for (std::size_t i = 0; i < SourceThrottle::kMaxSources + 50; ++i) {
        const std::string src = "10." + std::to_string(i / 65536) + "." +
                                std::to_string(i / 256 % 256) + "." + std::to_string(i % 256);
        ASSERT_EQ(t.admit(src, static_cast<std::int64_t>(i)), 0);
        t.finish(src, static_cast<std::int64_t>(i), true);
    }
    EXPECT_LE(t.tracked(), SourceThrottle::kMaxSources);
    EXPECT_EQ(t.admit(std::string(1000, 'x'), 0), 0);  // keys are cut, not stored whole
}

// ---------------------------------------------------------------- Accounts::login

class LoginTest : public AccountsTest {
protected:
    void SetUp() override {
        AccountsTest::SetUp();
        make_admin();
        make_account("op", "Operator");
        login_ = settings(3, 5);
    }
    Accounts::LoginResult login(const std::string& name, const std::string& pw,
                                const std::string& source = "127.0.0.1") {
        return accounts_->login(name, Secret(pw), source, login_, policy_);
    }
};

TEST_F(LoginTest, SuccessCarriesAccountAndGroup) {
    auto r = login("op", kUserPassword);
    ASSERT_EQ(r.outcome, Outcome::Ok);
    ASSERT_TRUE(r.account && r.group);
    EXPECT_EQ(r.account->name, "op");
    EXPECT_EQ(r.group->name, kOperator);
    EXPECT_FALSE(r.group->allows(security::accounts::Area::Security, false));
    EXPECT_FALSE(r.password_expired);
    EXPECT_FALSE(r.expires_in_days);
}

TEST_F(LoginTest, EveryKindOfFailureRunsArgon2idOnce) {  // IA-5, by counting, not timing
    ASSERT_FALSE(accounts_->create({.name = "off", .group = "Operator", .active = false},
                                   Secret(kUserPassword), policy_));
    login_ = settings(10, 5);
    const auto verifications = [&] { return accounts_->counters().verifications; };
    (void)login("op", "warm-up-the-dummy");  // the dummy hash is made once, at the first login
    struct Case {
        const char* name;
        const char* password;
    };
    for (Case c : {Case{"op", kUserPassword}, Case{"nobody", "whatever-1"},
                   Case{"op", "wrong-password"}, Case{"off", kUserPassword}}) {
        const auto before = verifications();
        const auto hashes = accounts_->counters().hashes;
        auto r = login(c.name, c.password);
        EXPECT_EQ(verifications(), before + 1) << c.name << "/" << c.password;
        EXPECT_EQ(accounts_->counters().hashes, hashes) << c.name;
        if (std::string_view(c.name) == "op" && std::string_view(c.password) == kUserPassword) {
            EXPECT_EQ(r.outcome, Outcome::Ok);
        } else {
            EXPECT_EQ(r.outcome, Outcome::Failed) << c.name;
            EXPECT_FALSE(r.account);
            EXPECT_FALSE(r.group);
        }
    }
}

TEST_F(LoginTest, LocksAfterNFailuresAndUnlocksAfterTheDuration) {  // IA-6
    EXPECT_EQ(login("op", "wrong-1").outcome, Outcome::Failed);
    EXPECT_EQ(login("op", "wrong-2").outcome, Outcome::Failed);
    EXPECT_EQ(accounts_->lock_state("op").failures, 2);
    auto third = login("op", "wrong-3");
    EXPECT_EQ(third.outcome, Outcome::Failed);  // answered like any failure, but now locked
    EXPECT_TRUE(third.just_locked);
    EXPECT_EQ(third.retry_after_s, 300);

    clock_.advance(kMinute);
    const auto before = accounts_->counters().verifications;
    auto right = login("op", kUserPassword);  // the right password is refused while locked
    EXPECT_EQ(right.outcome, Outcome::Locked);
    EXPECT_FALSE(right.just_locked);
    EXPECT_EQ(right.retry_after_s, 240);
    EXPECT_FALSE(right.account);
    EXPECT_EQ(accounts_->counters().verifications, before + 1);  // Argon2id ran anyway
    auto state = accounts_->lock_state("op");
    EXPECT_TRUE(state.locked);
    EXPECT_EQ(state.locked_until_us, FakeClock::kStart + 5 * kMinute);

    clock_.advance(4 * kMinute);  // the lock ends exactly 5 minutes after it began
    EXPECT_EQ(login("op", kUserPassword).outcome, Outcome::Ok);
    EXPECT_FALSE(accounts_->lock_state("op").locked);
    EXPECT_EQ(accounts_->lock_state("op").failures, 0);
    // Other accounts were never affected.
    EXPECT_EQ(login("admin", kAdminPassword).outcome, Outcome::Ok);
}

TEST_F(LoginTest, SuccessResetsTheCount) {
    EXPECT_EQ(login("op", "wrong-1").outcome, Outcome::Failed);
    EXPECT_EQ(login("op", "wrong-2").outcome, Outcome::Failed);
    EXPECT_EQ(login("op", kUserPassword).outcome, Outcome::Ok);
    EXPECT_EQ(login("op", "wrong-3").outcome, Outcome::Failed);
    EXPECT_EQ(login("op", "wrong-4").outcome, Outcome::Failed);
    EXPECT_EQ(login("op", kUserPassword).outcome, Outcome::Ok);
}

TEST_F(LoginTest, LockSurvivesARestart) {  // IA-6
    for (int i = 0; i < 3; ++i) (void)login("op", "wrong");
    ASSERT_TRUE(accounts_->lock_state("op").locked);
    reopen();  // new Store and Accounts on the same data directory
    EXPECT_TRUE(accounts_->lock_state("op").locked);
    EXPECT_EQ(login("op", kUserPassword).outcome, Outcome::Locked);
    clock_.advance(5 * kMinute);
    EXPECT_EQ(login("op", kUserPassword).outcome, Outcome::Ok);
}

TEST_F(LoginTest, AdminUnlock) {
    for (int i = 0; i < 3; ++i) (void)login("op", "wrong");
    ASSERT_EQ(login("op", kUserPassword).outcome, Outcome::Locked);
    EXPECT_FALSE(accounts_->unlock("op"));
    EXPECT_FALSE(accounts_->lock_state("op").locked);
    EXPECT_EQ(login("op", kUserPassword).outcome, Outcome::Ok);
    EXPECT_EQ(accounts_->unlock("nobody")->code, "not_found");
}

TEST_F(LoginTest, LockoutOffNeverLocks) {
    login_ = settings(3, 5, false);
    for (int i = 0; i < 8; ++i) EXPECT_EQ(login("op", "wrong").outcome, Outcome::Failed);
    EXPECT_EQ(login("op", kUserPassword).outcome, Outcome::Ok);
}

TEST_F(LoginTest, UnknownNamesLockLikeRealOnes) {  // IA-5: 423 does not reveal existence
    EXPECT_EQ(login("ghost", "wrong").outcome, Outcome::Failed);
    EXPECT_EQ(login("ghost", "wrong").outcome, Outcome::Failed);
    auto third = login("ghost", "wrong");
    EXPECT_EQ(third.outcome, Outcome::Failed);
    EXPECT_TRUE(third.just_locked);
    EXPECT_EQ(third.retry_after_s, 300);
    EXPECT_EQ(login("ghost", "wrong").outcome, Outcome::Locked);
    // An account created under that name later starts unlocked.
    make_account("ghost", "Operator");
    EXPECT_EQ(login("ghost", kUserPassword).outcome, Outcome::Ok);
}

TEST_F(LoginTest, UnknownNameRowsAreBounded) {
    login_ = settings(10, 1);
    for (int i = 0; i < 3; ++i) {
        (void)login("gone-" + std::to_string(i), "wrong", "10.0.0." + std::to_string(i));
    }
    auto rows = [&] {
        return store_->with([](sqlite3* db) {
            store::Statement s(db, "SELECT count(*) FROM login_failures");
            return s.step() ? s.integer(0) : -1;
        });
    };
    EXPECT_EQ(rows(), 3);
    clock_.advance(2 * kMinute);  // their windows are over: the next failure prunes them
    (void)login("op", "wrong");
    EXPECT_EQ(rows(), 1);  // only the real account's row
}

TEST_F(LoginTest, ThrottlesASourceWithoutArgon2id) {  // IA-7
    login_ = settings(10, 5);
    for (int i = 0; i < 10; ++i) {  // password spraying: a new name each time
        auto r = login("user" + std::to_string(i), "Password1", "127.0.0.2");
        ASSERT_EQ(r.outcome, Outcome::Failed) << i;
        clock_.advance(kSecond);
    }
    const auto before = accounts_->counters();
    auto eleventh = login("op", kUserPassword, "127.0.0.2");  // even the right password
    EXPECT_EQ(eleventh.outcome, Outcome::Throttled);
    EXPECT_EQ(eleventh.retry_after_s, 50);
    EXPECT_EQ(accounts_->counters().verifications, before.verifications);  // no Argon2id
    EXPECT_EQ(accounts_->counters().throttled, before.throttled + 1);
    EXPECT_EQ(login("op", kUserPassword, "127.0.0.3").outcome, Outcome::Ok);
    clock_.advance(50 * kSecond);
    EXPECT_EQ(login("op", kUserPassword, "127.0.0.2").outcome, Outcome::Ok);
}

TEST_F(LoginTest, ExpiryReminderAndForcedChange) {  // guide §3.4, PW-5
    policy_.lifetime_days = 90;
    clock_.advance(80 * FakeClock::kDay);
    auto r = login("op", kUserPassword);
    ASSERT_EQ(r.outcome, Outcome::Ok);
    EXPECT_FALSE(r.expires_in_days);  // 10 days left: no reminder yet
    clock_.advance(4 * FakeClock::kDay);
    r = login("op", kUserPassword);
    EXPECT_EQ(r.expires_in_days, 6);
    EXPECT_FALSE(r.password_expired);
    clock_.advance(6 * FakeClock::kDay);
    r = login("op", kUserPassword);  // reminder only (the default)
    ASSERT_EQ(r.outcome, Outcome::Ok);
    EXPECT_TRUE(r.password_expired);
    EXPECT_FALSE(r.account->must_change_password);
    policy_.force_change_at_expiry = true;
    r = login("op", kUserPassword);
    ASSERT_EQ(r.outcome, Outcome::Ok);
    EXPECT_TRUE(r.password_expired);
    EXPECT_TRUE(r.account->must_change_password);
    policy_.lifetime_days = 0;  // off
    r = login("op", kUserPassword);
    EXPECT_FALSE(r.password_expired);
    EXPECT_FALSE(r.account->must_change_password);
    // A change starts a new lifetime.
    policy_.lifetime_days = 90;
    ASSERT_FALSE(accounts_->change_own_password("op", Secret(kUserPassword),
                                                Secret("next-password-1"), policy_));
    r = login("op", "next-password-1");
    EXPECT_FALSE(r.password_expired);
    EXPECT_FALSE(r.expires_in_days);
}

TEST_F(LoginTest, WeakerHashIsRehashedAtLogin) {  // ST-1
    const std::string old = stored_hash("op");
    ASSERT_EQ(old.rfind("$argon2id$v=19$m=8,t=1,p=1$", 0), 0u) << old;
    reopen(HashCostForTests::cheap());  // the configured cost went up
    EXPECT_EQ(login("op", "wrong").outcome, Outcome::Failed);
    EXPECT_EQ(stored_hash("op"), old);  // never on a failure
    ASSERT_EQ(login("op", kUserPassword).outcome, Outcome::Ok);
    EXPECT_EQ(accounts_->counters().rehashed, 1u);
    const std::string upgraded = stored_hash("op");
    EXPECT_EQ(upgraded.rfind("$argon2id$v=19$m=8,t=2,p=1$", 0), 0u) << upgraded;
    ASSERT_EQ(login("op", kUserPassword).outcome, Outcome::Ok);
    EXPECT_EQ(accounts_->counters().rehashed, 1u);  // once
}

TEST_F(LoginTest, ConcurrentFailuresAreAllCounted) {
    login_ = settings(10, 5);
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 4; ++i) (void)login("op", "wrong", "10.1.0." + std::to_string(t));
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(accounts_->lock_state("op").failures, 8);
}

}  // namespace
}  // namespace sg::security::accounts
