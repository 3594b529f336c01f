#include "security/accounts/groups.h"

#include <gtest/gtest.h>

#include <set>

#include "security/accounts/testing.h"

namespace sg::security::accounts {
namespace {

using Outcome = Accounts::LoginResult::Outcome;

TEST(Areas, NamesRoundTrip) {
    std::set<std::string> names;
    for (Area a : all_areas()) {
        names.insert(to_string(a));
        EXPECT_EQ(parse_area(to_string(a)), a);
    }
    EXPECT_EQ(names.size(), 9u);
    EXPECT_TRUE(names.count("administration"));
    EXPECT_EQ(parse_area("Security"), std::nullopt);  // exact spelling only
    EXPECT_EQ(parse_area(""), std::nullopt);
    for (Access a : {Access::Hidden, Access::ReadOnly, Access::ReadWrite}) {
        EXPECT_EQ(parse_access(to_string(a)), a);
    }
    EXPECT_STREQ(to_string(Access::ReadOnly), "read_only");
    EXPECT_EQ(parse_access("rw"), std::nullopt);
}

TEST(Groups, AllowsNeedsTheRightLevel) {
    Group g{.name = "g", .builtin = false, .privileges = {}};
    g.privileges[Area::Serial] = Access::ReadWrite;
    g.privileges[Area::System] = Access::ReadOnly;
    g.privileges[Area::Network] = Access::Hidden;
    EXPECT_TRUE(g.allows(Area::Serial, true));
    EXPECT_TRUE(g.allows(Area::Serial, false));
    EXPECT_TRUE(g.allows(Area::System, false));
    EXPECT_FALSE(g.allows(Area::System, true));
    EXPECT_FALSE(g.allows(Area::Network, false));
    EXPECT_FALSE(g.allows(Area::Security, false));  // missing = hidden
}

TEST(Groups, BuiltinDefinitions) {  // guide §3.4
    const Group admin = administrator_group();
    const Group op = operator_group();
    for (Area a : all_areas()) {
        EXPECT_TRUE(admin.allows(a, true)) << to_string(a);
        const bool restricted = a == Area::Security || a == Area::Accounts;
        EXPECT_EQ(op.allows(a, false), !restricted) << to_string(a);
        EXPECT_EQ(op.allows(a, true), !restricted) << to_string(a);
    }
}

Group custom(std::string name) {
    Group g{.name = std::move(name), .builtin = false, .privileges = {}};
    g.privileges[Area::Overview] = Access::ReadOnly;
    g.privileges[Area::Serial] = Access::ReadWrite;
    g.privileges[Area::Accounts] = Access::ReadOnly;
    return g;
}

TEST_F(AccountsTest, GroupsListBuiltinsFirst) {
    ASSERT_FALSE(accounts_->save_group(custom("Field-Techs")));
    ASSERT_FALSE(accounts_->save_group(custom("Auditors")));
    auto all = accounts_->groups();
    ASSERT_EQ(all.size(), 4u);
    EXPECT_EQ(all[0].name, kAdministrator);
    EXPECT_EQ(all[1].name, kOperator);
    EXPECT_EQ(all[2].name, "Auditors");
    EXPECT_EQ(all[3].name, "Field-Techs");
    EXPECT_FALSE(all[2].builtin);
    for (const auto& g : all) EXPECT_EQ(g.privileges.size(), all_areas().size()) << g.name;
}

TEST_F(AccountsTest, CustomGroupIsSavedReplacedAndFilledWithHidden) {
    ASSERT_FALSE(accounts_->save_group(custom("techs")));
    auto g = accounts_->group("techs");
    ASSERT_TRUE(g);
    EXPECT_FALSE(g->builtin);
    EXPECT_EQ(g->privileges.size(), all_areas().size());
    EXPECT_EQ(g->privileges.at(Area::Serial), Access::ReadWrite);
    EXPECT_EQ(g->privileges.at(Area::Overview), Access::ReadOnly);
    EXPECT_EQ(g->privileges.at(Area::Security), Access::Hidden);  // not given: hidden

    Group next = custom("techs");
    next.privileges[Area::Serial] = Access::ReadOnly;
    next.privileges.erase(Area::Overview);
    ASSERT_FALSE(accounts_->save_group(next));  // replace
    g = accounts_->group("techs");
    EXPECT_EQ(g->privileges.at(Area::Serial), Access::ReadOnly);
    EXPECT_EQ(g->privileges.at(Area::Overview), Access::Hidden);
    EXPECT_FALSE(accounts_->group("nope"));
}

TEST_F(AccountsTest, SaveGroupRefusals) {
    auto code = [&](const Group& g) {
        auto r = accounts_->save_group(g);
        return r ? r->code : std::string("ok");
    };
    EXPECT_EQ(code(custom("Administrator")), "builtin_group");
    EXPECT_EQ(code(custom("operator")), "builtin_group");  // any case
    EXPECT_EQ(code(custom("")), "invalid_name");
    EXPECT_EQ(code(custom("two words")), "invalid_name");
    EXPECT_EQ(code(custom(std::string(33, 'g'))), "invalid_name");
    Group esc = custom("escalators");
    esc.privileges[Area::Accounts] = Access::ReadWrite;  // AZ-2
    EXPECT_EQ(code(esc), "escalation");
    EXPECT_FALSE(accounts_->group("escalators"));
    esc.privileges[Area::Security] = Access::ReadWrite;  // Security write alone is allowed
    esc.privileges[Area::Accounts] = Access::ReadOnly;
    EXPECT_EQ(code(esc), "ok");
    // The built-ins are untouched.
    EXPECT_EQ(accounts_->group(kOperator)->privileges, operator_group().privileges);
}

TEST_F(AccountsTest, RemoveGroup) {
    make_admin();
    ASSERT_FALSE(accounts_->save_group(custom("techs")));
    make_account("tech1", "techs");
    EXPECT_EQ(accounts_->remove_group("techs")->code, "group_in_use");
    EXPECT_EQ(accounts_->remove_group(kOperator)->code, "builtin_group");
    EXPECT_EQ(accounts_->remove_group(kAdministrator)->code, "builtin_group");
    EXPECT_EQ(accounts_->remove_group("nope")->code, "not_found");
    ASSERT_FALSE(accounts_->update("tech1", std::string(kOperator), std::nullopt));
    EXPECT_FALSE(accounts_->remove_group("techs"));
    EXPECT_FALSE(accounts_->group("techs"));
    // Its privileges went with it: a new group of that name starts clean.
    Group bare{.name = "techs", .builtin = false, .privileges = {}};
    ASSERT_FALSE(accounts_->save_group(bare));
    const auto fresh = accounts_->group("techs");
    ASSERT_TRUE(fresh);
    for (auto [area, access] : fresh->privileges) {
        EXPECT_EQ(access, Access::Hidden) << to_string(area);
    }
    EXPECT_EQ(
        accounts_->create({.name = "x", .group = "gone"}, Secret("x-password-1"), policy_)->code,
        "invalid_group");
}

TEST_F(AccountsTest, LoginReturnsTheGroupsPrivileges) {
    make_admin();
    ASSERT_FALSE(accounts_->save_group(custom("techs")));
    make_account("tech1", "techs");
    auto r = accounts_->login("tech1", Secret(kUserPassword), "127.0.0.1", login_, policy_);
    ASSERT_EQ(r.outcome, Outcome::Ok);
    ASSERT_TRUE(r.group);
    EXPECT_EQ(r.group->name, "techs");
    EXPECT_TRUE(r.group->allows(Area::Serial, true));
    EXPECT_TRUE(r.group->allows(Area::Accounts, false));
    EXPECT_FALSE(r.group->allows(Area::Accounts, true));
    EXPECT_FALSE(r.group->allows(Area::Security, false));
}

}  // namespace
}  // namespace sg::security::accounts
