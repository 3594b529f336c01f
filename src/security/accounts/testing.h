// testing.h: test support for security/accounts: a cheap Argon2id cost, a temporary store and a
// settable clock. Compiles only in the test executable (CMake defines SG_ACCOUNTS_TESTING for
// sg_security_test alone), so production code can never pick a cost below ST-1's.
#pragma once

#ifndef SG_ACCOUNTS_TESTING
#error "security/accounts/testing.h is for tests only: production code uses the ST-1 HashCost"
#endif

#include <gtest/gtest.h>
#include <sodium.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "security/accounts/accounts.h"

namespace sg::security::accounts {

/// Argon2id at libsodium's minimum (t=1, 8 KiB): microseconds instead of ~0.2 s per run.
struct HashCostForTests {
    static HashCost cheapest() { return HashCost(1, crypto_pwhash_argon2id_MEMLIMIT_MIN); }
    /// Differs from cheapest() (t=2): to test rehashing.
    static HashCost cheap() { return HashCost(2, crypto_pwhash_argon2id_MEMLIMIT_MIN); }
};

/// A settable UTC clock, shared by the Accounts under test and the test body.
class FakeClock {
public:
    static constexpr std::int64_t kStart = 1'780'000'000'000'000;  // 2026, µs
    static constexpr std::int64_t kSecond = 1'000'000;
    static constexpr std::int64_t kMinute = 60 * kSecond;
    static constexpr std::int64_t kDay = 86'400 * kSecond;

    std::function<std::int64_t()> fn() const {
        return [t = now_] { return t->load(); };
    }
    std::int64_t now() const { return now_->load(); }
    void advance(std::int64_t us) { *now_ += us; }

private:
    std::shared_ptr<std::atomic<std::int64_t>> now_ =
        std::make_shared<std::atomic<std::int64_t>>(kStart);
};

/// A fresh data directory per test, removed afterwards; reopen() simulates a restart.
class AccountsTest : public ::testing::Test {
protected:
    void SetUp() override {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        dir_ = std::filesystem::temp_directory_path() /
               ("sg_acct_" + std::to_string(::getpid()) + "_" + info->test_suite_name() + "_" +
                info->name());
        std::filesystem::remove_all(dir_);
        reopen();
    }
    void TearDown() override {
        accounts_.reset();
        store_.reset();
        std::filesystem::remove_all(dir_);
    }
    void reopen(HashCost cost = HashCostForTests::cheapest()) {
        accounts_.reset();
        store_.reset();
        auto s = store::Store::open(dir_);
        ASSERT_TRUE(s.ok()) << s.error().message;
        store_ = std::move(*s);
        accounts_ = std::make_unique<Accounts>(*store_, clock_.fn(), cost);
    }
    /// The first administrator "admin" with password kAdminPassword.
    void make_admin() {
        auto st = accounts_->create_first_admin("admin", Secret(kAdminPassword), policy_);
        ASSERT_TRUE(st.ok()) << st.error().message;
    }
    void make_account(const std::string& name, const std::string& group,
                      const std::string& password = kUserPassword) {
        auto r =
            accounts_->create(Account{.name = name, .group = group}, Secret(password), policy_);
        ASSERT_FALSE(r) << r->code << ": " << r->message;
    }
    std::string stored_hash(const std::string& name) {
        return store_->with([&](sqlite3* db) {
            store::Statement s(db, "SELECT password_hash FROM accounts WHERE name = ?");
            s.bind(1, name);
            return s.step() ? s.text(0) : std::string();
        });
    }

    static constexpr const char* kAdminPassword = "admin-password-1";
    static constexpr const char* kUserPassword = "user-password-1";

    FakeClock clock_;
    config::PasswordPolicy policy_;
    config::LoginSettings login_;
    std::filesystem::path dir_;
    std::unique_ptr<store::Store> store_;
    std::unique_ptr<Accounts> accounts_;
};

}  // namespace sg::security::accounts
