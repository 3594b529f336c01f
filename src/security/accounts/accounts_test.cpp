#include "security/accounts/accounts.h"

#include <gtest/gtest.h>

#include <thread>

#include "security/accounts/testing.h"
#include "store/migrations.h"

namespace sg::security::accounts {
namespace {

using Outcome = Accounts::LoginResult::Outcome;

TEST_F(AccountsTest, FirstAdminOnlyOnce) {
    EXPECT_EQ(*accounts_->count(), 0);
    EXPECT_FALSE(accounts_->create_first_admin("admin", Secret("short"), policy_).ok());
    EXPECT_EQ(*accounts_->count(), 0);
    ASSERT_TRUE(accounts_->create_first_admin("admin", Secret("a-long-password"), policy_).ok());
    auto again = accounts_->create_first_admin("other", Secret("a-long-password"), policy_);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code, core::Errc::refused);
    EXPECT_EQ(*accounts_->count(), 1);
    auto admin = accounts_->get("admin");
    ASSERT_TRUE(admin);
    EXPECT_EQ(admin->group, kAdministrator);
    EXPECT_TRUE(admin->active);
    EXPECT_FALSE(admin->must_change_password);
    EXPECT_EQ(admin->created_at_us, FakeClock::kStart);
}

TEST_F(AccountsTest, CreateGetListWithTheirRefusals) {
    make_admin();
    clock_.advance(FakeClock::kMinute);
    auto r = accounts_->create(
        Account{.name = "op", .group = std::string(kOperator), .must_change_password = true},
        Secret("op-password-1"), policy_);
    ASSERT_FALSE(r) << r->message;
    auto op = accounts_->get("op");
    ASSERT_TRUE(op);
    EXPECT_EQ(op->group, kOperator);
    EXPECT_TRUE(op->must_change_password);  // honoured
    EXPECT_EQ(op->created_at_us, FakeClock::kStart + FakeClock::kMinute);
    EXPECT_EQ(op->password_changed_at_us, op->created_at_us);

    auto list = accounts_->list();
    ASSERT_EQ(list.size(), 2u);
    EXPECT_EQ(list[0].name, "admin");
    EXPECT_EQ(list[1].name, "op");
    EXPECT_FALSE(accounts_->get("nobody"));

    auto code = [&](const Account& a, const char* pw) {
        auto refused = accounts_->create(a, Secret(pw), policy_);
        return refused ? refused->code : std::string("ok");
    };
    EXPECT_EQ(code({.name = "op", .group = "Operator"}, "another-pw-1"), "exists");
    EXPECT_EQ(code({.name = "bad name", .group = "Operator"}, "another-pw-1"), "invalid_name");
    EXPECT_EQ(code({.name = "x", .group = "NoSuchGroup"}, "another-pw-1"), "invalid_group");
    EXPECT_EQ(code({.name = "x", .group = "Operator"}, "short"), "weak_password");
    auto weak = accounts_->create({.name = "x", .group = "Operator"}, Secret("short"), policy_);
    ASSERT_TRUE(weak);
    EXPECT_NE(weak->message.find("at least 8"), std::string::npos);  // names the rule
    EXPECT_EQ(accounts_->list().size(), 2u);

    EXPECT_EQ(code({.name = "off", .group = "Operator", .active = false}, "another-pw-1"), "ok");
    EXPECT_FALSE(accounts_->get("off")->active);
}

TEST_F(AccountsTest, UpdateGroupAndActive) {
    make_admin();
    make_account("op", "Operator");
    EXPECT_FALSE(accounts_->update("op", std::string(kAdministrator), std::nullopt));
    EXPECT_EQ(accounts_->get("op")->group, kAdministrator);
    EXPECT_TRUE(accounts_->get("op")->active);
    EXPECT_FALSE(accounts_->update("op", std::nullopt, false));
    EXPECT_EQ(accounts_->get("op")->group, kAdministrator);
    EXPECT_FALSE(accounts_->get("op")->active);
    EXPECT_EQ(accounts_->update("nobody", std::nullopt, true)->code, "not_found");
    EXPECT_EQ(accounts_->update("op", std::string("Nope"), std::nullopt)->code, "invalid_group");
    EXPECT_FALSE(accounts_->get("op")->active);  // unchanged by the refused call
}

TEST_F(AccountsTest, LastAdminCannotBeDeletedDisabledOrDemoted) {  // AZ-2
    make_admin();
    make_account("op", "Operator");
    EXPECT_EQ(accounts_->remove("admin")->code, "last_admin");
    EXPECT_EQ(accounts_->update("admin", std::nullopt, false)->code, "last_admin");
    EXPECT_EQ(accounts_->update("admin", std::string(kOperator), std::nullopt)->code, "last_admin");
    auto admin = accounts_->get("admin");
    ASSERT_TRUE(admin);  // nothing changed
    EXPECT_EQ(admin->group, kAdministrator);
    EXPECT_TRUE(admin->active);

    // An inactive administrator does not count.
    make_account("admin2", std::string(kAdministrator));
    ASSERT_FALSE(accounts_->update("admin2", std::nullopt, false));
    EXPECT_EQ(accounts_->update("admin", std::string(kOperator), std::nullopt)->code, "last_admin");

    // Two active administrators: one may go, not the second.
    ASSERT_FALSE(accounts_->update("admin2", std::nullopt, true));
    EXPECT_FALSE(accounts_->update("admin", std::string(kOperator), std::nullopt));
    EXPECT_EQ(accounts_->update("admin2", std::string(kOperator), std::nullopt)->code,
              "last_admin");
    EXPECT_EQ(accounts_->remove("admin2")->code, "last_admin");
    EXPECT_FALSE(accounts_->remove("admin"));  // now an operator
    EXPECT_FALSE(accounts_->remove("op"));
    EXPECT_EQ(accounts_->remove("op")->code, "not_found");
    ASSERT_EQ(accounts_->list().size(), 1u);
}

TEST_F(AccountsTest, ConcurrentDemotionsLeaveOneAdministrator) {
    make_admin();
    make_account("admin2", std::string(kAdministrator));
    std::optional<Refused> a, b;
    std::thread t1([&] { a = accounts_->update("admin", std::string(kOperator), std::nullopt); });
    std::thread t2([&] { b = accounts_->update("admin2", std::nullopt, false); });
    t1.join();
    t2.join();
    EXPECT_NE(a.has_value(), b.has_value());  // exactly one refused
    EXPECT_EQ((a ? a : b)->code, "last_admin");
    int active_admins = 0;
    for (const auto& acc : accounts_->list()) {
        active_admins += acc.group == kAdministrator && acc.active ? 1 : 0;
    }
    EXPECT_EQ(active_admins, 1);
}

TEST_F(AccountsTest, ResetSetsMustChangeAndReplacesThePassword) {  // PW-5
    make_admin();
    make_account("op", "Operator");
    clock_.advance(FakeClock::kDay);
    EXPECT_EQ(accounts_->reset_password("op", Secret("short"), policy_)->code, "weak_password");
    EXPECT_EQ(accounts_->reset_password("nobody", Secret("new-password-1"), policy_)->code,
              "not_found");
    ASSERT_FALSE(accounts_->reset_password("op", Secret("new-password-1"), policy_));
    auto op = accounts_->get("op");
    EXPECT_TRUE(op->must_change_password);
    EXPECT_EQ(op->password_changed_at_us, FakeClock::kStart + FakeClock::kDay);
    auto old_pw = accounts_->login("op", Secret(kUserPassword), "127.0.0.1", login_, policy_);
    EXPECT_EQ(old_pw.outcome, Outcome::Failed);
    auto r = accounts_->login("op", Secret("new-password-1"), "127.0.0.1", login_, policy_);
    ASSERT_EQ(r.outcome, Outcome::Ok);
    EXPECT_TRUE(r.account->must_change_password);
}

TEST_F(AccountsTest, ChangeOwnPasswordNeedsCurrentAndANewOne) {  // PW-6
    make_admin();
    make_account("op", "Operator");
    ASSERT_FALSE(accounts_->reset_password("op", Secret("admin-set-pw-1"), policy_));
    clock_.advance(FakeClock::kMinute);
    auto code = [&](const char* current, const char* next) {
        auto r = accounts_->change_own_password("op", Secret(current), Secret(next), policy_);
        return r ? r->code : std::string("ok");
    };
    EXPECT_EQ(code("wrong-current", "fresh-password-1"), "wrong_password");
    EXPECT_EQ(code("admin-set-pw-1", "admin-set-pw-1"), "same_password");
    EXPECT_EQ(code("admin-set-pw-1", "short"), "weak_password");
    EXPECT_TRUE(accounts_->get("op")->must_change_password);
    EXPECT_EQ(code("admin-set-pw-1", "fresh-password-1"), "ok");
    auto op = accounts_->get("op");
    EXPECT_FALSE(op->must_change_password);  // cleared by the owner's change
    EXPECT_EQ(op->password_changed_at_us, FakeClock::kStart + FakeClock::kMinute);
    EXPECT_EQ(code("admin-set-pw-1", "another-password-1"), "wrong_password");
    EXPECT_EQ(accounts_->change_own_password("nobody", Secret("a"), Secret("b"), policy_)->code,
              "not_found");
    EXPECT_EQ(
        accounts_->login("op", Secret("fresh-password-1"), "127.0.0.1", login_, policy_).outcome,
        Outcome::Ok);
}

TEST_F(AccountsTest, ChangeOwnPasswordVerifiedKeepsTheRulesWithOneArgon2idRun) {  // PW-6
    make_admin();
    make_account("op", "Operator");
    ASSERT_FALSE(accounts_->reset_password("op", Secret("admin-set-pw-1"), policy_));
    clock_.advance(FakeClock::kMinute);
    auto proved = accounts_->login("op", Secret("admin-set-pw-1"), "127.0.0.1", login_, policy_);
    ASSERT_EQ(proved.outcome, Outcome::Ok);
    const Account verified = *proved.account;
    clock_.advance(FakeClock::kMinute);
    const auto before = accounts_->counters();
    auto code = [&](const char* current, const char* next) {
        auto r = accounts_->change_own_password_verified(verified, Secret(current), Secret(next),
                                                         policy_);
        return r ? r->code : std::string("ok");
    };
    EXPECT_EQ(code("admin-set-pw-1", "admin-set-pw-1"), "same_password");
    EXPECT_EQ(code("admin-set-pw-1", "short"), "weak_password");
    EXPECT_TRUE(accounts_->get("op")->must_change_password);
    EXPECT_EQ(accounts_->counters().hashes, before.hashes);  // refused before the hash
    EXPECT_EQ(code("admin-set-pw-1", "fresh-password-1"), "ok");
    // The current password is taken as verified: no Argon2id verification, one hash.
    EXPECT_EQ(accounts_->counters().verifications, before.verifications);
    EXPECT_EQ(accounts_->counters().hashes, before.hashes + 1);
    auto op = accounts_->get("op");
    EXPECT_FALSE(op->must_change_password);  // cleared by the owner's change
    EXPECT_EQ(op->password_changed_at_us, FakeClock::kStart + 2 * FakeClock::kMinute);
    EXPECT_EQ(
        accounts_->login("op", Secret("admin-set-pw-1"), "127.0.0.1", login_, policy_).outcome,
        Outcome::Failed);
    EXPECT_EQ(
        accounts_->login("op", Secret("fresh-password-1"), "127.0.0.1", login_, policy_).outcome,
        Outcome::Ok);
    // The proof was of the password that is gone now: it changes nothing more.
    EXPECT_EQ(code("admin-set-pw-1", "another-password-1"), "wrong_password");
    EXPECT_EQ(accounts_
                  ->change_own_password_verified(Account{.name = "nobody"}, Secret("a-pw-1"),
                                                 Secret("b-pw-12"), policy_)
                  ->code,
              "not_found");
}

TEST_F(AccountsTest, ChangeOwnPasswordVerifiedRefusesAPasswordSetSinceTheLogin) {  // lost update
    make_admin();
    make_account("op", "Operator");
    auto proved = accounts_->login("op", Secret(kUserPassword), "127.0.0.1", login_, policy_);
    ASSERT_EQ(proved.outcome, Outcome::Ok);
    clock_.advance(FakeClock::kSecond);
    ASSERT_FALSE(accounts_->reset_password("op", Secret("admin-set-pw-1"), policy_));
    auto r = accounts_->change_own_password_verified(*proved.account, Secret(kUserPassword),
                                                     Secret("fresh-password-1"), policy_);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code, "wrong_password");
    EXPECT_TRUE(accounts_->get("op")->must_change_password);  // the administrator's reset stays
    EXPECT_EQ(
        accounts_->login("op", Secret("admin-set-pw-1"), "127.0.0.1", login_, policy_).outcome,
        Outcome::Ok);
}

TEST_F(AccountsTest, ChangeOwnPasswordVerifiedAfterALoginThatRehashed) {  // ST-1
    make_admin();
    make_account("op", "Operator");
    reopen(HashCostForTests::cheap());  // the configured cost changed: login rehashes
    const std::string old_hash = stored_hash("op");
    auto proved = accounts_->login("op", Secret(kUserPassword), "127.0.0.1", login_, policy_);
    ASSERT_EQ(proved.outcome, Outcome::Ok);
    ASSERT_EQ(accounts_->counters().rehashed, 1U);
    ASSERT_NE(stored_hash("op"), old_hash);
    EXPECT_FALSE(accounts_->change_own_password_verified(*proved.account, Secret(kUserPassword),
                                                         Secret("fresh-password-1"), policy_));
    EXPECT_EQ(
        accounts_->login("op", Secret("fresh-password-1"), "127.0.0.1", login_, policy_).outcome,
        Outcome::Ok);
}

TEST_F(AccountsTest, NoPasswordOrHashLeavesThroughRefusals) {  // IA-9
    make_admin();
    const std::string hash = stored_hash("admin");
    ASSERT_EQ(hash.rfind("$argon2id$", 0), 0u);
    std::vector<std::optional<Refused>> refusals = {
        accounts_->create({.name = "admin", .group = "Operator"}, Secret("zq-secret-99"), policy_),
        accounts_->create({.name = "x", .group = "Operator"}, Secret("zq"), policy_),
        accounts_->change_own_password("admin", Secret("zq-secret-99"), Secret("zq-new-99"),
                                       policy_),
        accounts_->change_own_password("admin", Secret(kAdminPassword), Secret(kAdminPassword),
                                       policy_),
        accounts_->change_own_password_verified(*accounts_->get("admin"), Secret(kAdminPassword),
                                                Secret("zq"), policy_),
        accounts_->change_own_password_verified(*accounts_->get("admin"), Secret(kAdminPassword),
                                                Secret(kAdminPassword), policy_),
        accounts_->reset_password("admin", Secret("zq"), policy_),
        accounts_->remove("admin"),
    };
    for (const auto& r : refusals) {
        ASSERT_TRUE(r);
        for (std::string_view secret : {"zq", kAdminPassword, "$argon2id$"}) {
            EXPECT_EQ(r->message.find(secret), std::string::npos) << r->code << ": " << r->message;
        }
    }
}

TEST_F(AccountsTest, SchemaIsMigratedAndGroupsSeeded) {
    EXPECT_GE(store_->schema_version(), 2);
    auto admin = accounts_->group(kAdministrator);
    auto op = accounts_->group(kOperator);
    ASSERT_TRUE(admin && op);
    EXPECT_TRUE(admin->builtin);
    EXPECT_EQ(admin->privileges, administrator_group().privileges);
    EXPECT_EQ(op->privileges, operator_group().privileges);
}

TEST_F(AccountsTest, AccountsOfSchemaOneSurviveTheUpgrade) {
    // A data directory made by the foundation release: schema 1, one administrator.
    accounts_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    const auto hash = hash_password(Secret(kAdminPassword), HashCostForTests::cheapest());
    ASSERT_TRUE(hash.ok());
    {
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open((dir_ / "serialgate.db").c_str(), &db), SQLITE_OK);
        ASSERT_TRUE(store::exec(db, store::migrations().at(0).sql).ok());
        ASSERT_TRUE(store::exec(db, "PRAGMA user_version=1").ok());
        {  // finalized before the close
            store::Statement ins(
                db,
                "INSERT INTO accounts (name, group_name, password_hash, active, "
                "created_at, password_changed_at) VALUES ('old', 'Administrator', ?, "
                "1, 5, 5)");
            ins.bind(1, *hash);
            ins.step();
            ASSERT_TRUE(ins.status().ok());
        }
        EXPECT_EQ(sqlite3_close(db), SQLITE_OK);
    }
    reopen();
    EXPECT_EQ(store_->schema_version(), static_cast<int>(store::migrations().size()));
    auto old = accounts_->get("old");
    ASSERT_TRUE(old);
    EXPECT_FALSE(old->must_change_password);
    EXPECT_EQ(old->created_at_us, 5);
    auto r = accounts_->login("old", Secret(kAdminPassword), "127.0.0.1", login_, policy_);
    ASSERT_EQ(r.outcome, Accounts::LoginResult::Outcome::Ok);
    EXPECT_TRUE(r.group->allows(Area::Accounts, true));
    EXPECT_EQ(accounts_->remove("old")->code, "last_admin");
}

}  // namespace
}  // namespace sg::security::accounts
