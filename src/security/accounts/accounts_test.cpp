#include "security/accounts/accounts.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

namespace sg::security::accounts {
namespace {

TEST(Secret, IsRedactedWhenPrinted) {
    Secret s("hunter2hunter2");
    std::ostringstream os;
    os << s;
    EXPECT_EQ(os.str(), "<redacted>");
    Secret moved(std::move(s));
    EXPECT_EQ(moved.reveal(), "hunter2hunter2");
    EXPECT_TRUE(s.empty());  // NOLINT(bugprone-use-after-move): moved-from is wiped
}

TEST(Policy, LengthAndStrength) {
    config::PasswordPolicy p;
    EXPECT_FALSE(check_password(Secret("short1"), "admin", p).ok());
    EXPECT_TRUE(check_password(Secret("longenough"), "admin", p).ok());
    EXPECT_FALSE(check_password(Secret("administrator"), "administrator", p).ok());
    EXPECT_FALSE(check_password(Secret(std::string(129, 'a')), "admin", p).ok());
    p.min_length = 12;
    EXPECT_FALSE(check_password(Secret("longenough"), "admin", p).ok());
    p.min_length = 8;
    p.strength_check = true;
    EXPECT_FALSE(check_password(Secret("alllowercase"), "admin", p).ok());
    EXPECT_FALSE(check_password(Secret("Mixed1Case"), "admin", p).ok());  // no special
    EXPECT_TRUE(check_password(Secret("Mixed1Case!"), "admin", p).ok());
    p.require_special = false;
    EXPECT_TRUE(check_password(Secret("Mixed1Case"), "admin", p).ok());
    auto st = check_password(Secret("mixed1case"), "admin", p);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("upper and lower"), std::string::npos);
}

TEST(Names, Rules) {
    EXPECT_TRUE(check_account_name("admin.ops@site-1_a").ok());
    EXPECT_FALSE(check_account_name("").ok());
    EXPECT_FALSE(check_account_name(std::string(33, 'a')).ok());
    EXPECT_FALSE(check_account_name("bad name").ok());
}

TEST(Hash, Argon2idVerifies) {
    auto h = hash_password(Secret("correct horse"));
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(h->rfind("$argon2id$", 0), 0u);
    EXPECT_TRUE(verify_password(*h, Secret("correct horse")));
    EXPECT_FALSE(verify_password(*h, Secret("wrong horse")));
}

TEST(Accounts, FirstAdminOnlyOnce) {
    auto dir =
        std::filesystem::temp_directory_path() / ("sg_acc_test_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    {
        auto store = store::Store::open(dir);
        ASSERT_TRUE(store.ok());
        Accounts a(**store);
        EXPECT_EQ(*a.count(), 0);
        config::PasswordPolicy p;
        EXPECT_FALSE(a.create_first_admin("admin", Secret("short"), p).ok());
        EXPECT_EQ(*a.count(), 0);
        ASSERT_TRUE(a.create_first_admin("admin", Secret("a-long-password"), p).ok());
        auto again = a.create_first_admin("other", Secret("a-long-password"), p);
        ASSERT_FALSE(again.ok());
        EXPECT_EQ(again.error().code, core::Errc::refused);
        EXPECT_EQ(*a.count(), 1);
    }
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sg::security::accounts
