#include "security/accounts/password.h"

#include <gtest/gtest.h>

#include <sstream>

#include "security/accounts/testing.h"

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
    EXPECT_TRUE(check_password(Secret(std::string(128, 'a')), "admin", p).ok());
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
    p.require_mixed_case = false;
    st = check_password(Secret("nodigitshere"), "admin", p);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("digit"), std::string::npos);
}

TEST(Policy, AccountNameInAnyCaseIsRefused) {  // PW-3 (partial)
    config::PasswordPolicy p;
    auto st = check_password(Secret("Operator.1"), "operator.1", p);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("account name"), std::string::npos);
    EXPECT_FALSE(check_password(Secret("OPERATOR.1"), "operator.1", p).ok());
    EXPECT_TRUE(check_password(Secret("operator.12"), "operator.1", p).ok());
}

TEST(Policy, LengthCountsCodePoints) {  // PW-2
    config::PasswordPolicy p;
    std::string e8;
    for (int i = 0; i < 8; ++i) e8 += "\xc3\xa9";  // 8 × é = 16 bytes
    EXPECT_TRUE(check_password(Secret(e8), "admin", p).ok());
    std::string cjk7;
    for (int i = 0; i < 7; ++i) cjk7 += "\xe6\x97\xa5";  // 7 × 日 = 21 bytes: still too short
    EXPECT_FALSE(check_password(Secret(cjk7), "admin", p).ok());
    std::string e128, e129;
    for (int i = 0; i < 128; ++i) e128 += "\xc3\xa9";
    e129 = e128 + "\xc3\xa9";
    EXPECT_TRUE(check_password(Secret(e128), "admin", p).ok());
    EXPECT_FALSE(check_password(Secret(e129), "admin", p).ok());
    EXPECT_TRUE(check_password(Secret("correct horse \xf0\x9f\x90\xb4"), "admin", p).ok());
}

TEST(Policy, InvalidUtf8AndControlCharactersAreRefusedByName) {
    config::PasswordPolicy p;
    for (const char* bad :
         {"abcdefgh\xc3", "abcdefgh\xc0\xaf", "abcdefgh\xed\xa0\x80", "abcdefgh\xf4\x90\x80\x80",
          "\x80"
          "abcdefgh",
          "abcdefgh\xff"}) {
        auto st = check_password(Secret(bad), "admin", p);
        ASSERT_FALSE(st.ok()) << bad;
        EXPECT_NE(st.error().message.find("UTF-8"), std::string::npos);
    }
    for (const char* bad : {"abcd\tefgh", "abcdefgh\x7f", "abcdefgh\xc2\x85"}) {
        auto st = check_password(Secret(bad), "admin", p);
        ASSERT_FALSE(st.ok());
        EXPECT_NE(st.error().message.find("control"), std::string::npos);
    }
}

TEST(Policy, MessagesNeverContainThePassword) {  // IA-9
    config::PasswordPolicy p;
    p.strength_check = true;
    for (const char* pw : {"Zq", "zqxjkvbwzqxjkvbw", "ZQXJKVBWzqxjkvbw", "Zqxjkvbw1zqxj"}) {
        auto st = check_password(Secret(pw), "admin", p);
        ASSERT_FALSE(st.ok());
        EXPECT_EQ(st.error().message.find(pw), std::string::npos) << st.error().message;
    }
}

TEST(Utf8, CountsAndRejects) {
    EXPECT_EQ(utf8_length(""), 0u);
    EXPECT_EQ(utf8_length("h\xc3\xa9llo"), 5u);
    EXPECT_EQ(utf8_length("\xe6\x97\xa5\xe6\x9c\xac"), 2u);
    EXPECT_EQ(utf8_length("\xf0\x9f\x90\xb4"), 1u);
    EXPECT_EQ(utf8_length("\xf4\x8f\xbf\xbf"), 1u);  // U+10FFFF
    EXPECT_EQ(utf8_length("\xee\x80\x80"), 1u);      // U+E000, just past the surrogates
    EXPECT_FALSE(utf8_length("\xe0\x80\xaf"));       // overlong
    EXPECT_FALSE(utf8_length("\xf0\x80\x80\xaf"));   // overlong
    EXPECT_FALSE(utf8_length("\xed\xbf\xbf"));       // surrogate
    EXPECT_FALSE(utf8_length("\xf5\x80\x80\x80"));   // above U+10FFFF
    EXPECT_FALSE(utf8_length("\xe6\x97"));           // truncated
    EXPECT_FALSE(utf8_length("\xe6\x41\xa5"));       // bad continuation
}

TEST(Names, Rules) {
    EXPECT_TRUE(check_account_name("admin.ops@site-1_a").ok());
    EXPECT_FALSE(check_account_name("").ok());
    EXPECT_TRUE(check_account_name(std::string(32, 'a')).ok());
    EXPECT_FALSE(check_account_name(std::string(33, 'a')).ok());
    EXPECT_FALSE(check_account_name("bad name").ok());
    EXPECT_FALSE(check_account_name("caf\xc3\xa9").ok());  // letters are ASCII letters
}

TEST(Hash, St1ParametersByDefault) {  // the one test that pays the full ST-1 cost
    auto h = hash_password(Secret("correct horse"));
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(h->rfind("$argon2id$v=19$m=65536,t=3,p=1$", 0), 0u) << *h;
    EXPECT_TRUE(verify_password(*h, Secret("correct horse")));
    EXPECT_FALSE(needs_rehash(*h));
    EXPECT_TRUE(needs_rehash(*h, HashCostForTests::cheapest()));
}

TEST(Hash, CheapCostVerifiesAndAsksForRehash) {
    auto h = hash_password(Secret("correct horse"), HashCostForTests::cheapest());
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(h->rfind("$argon2id$v=19$m=8,t=1,p=1$", 0), 0u) << *h;
    EXPECT_TRUE(verify_password(*h, Secret("correct horse")));
    EXPECT_FALSE(verify_password(*h, Secret("wrong horse")));
    EXPECT_FALSE(verify_password("not a hash", Secret("correct horse")));
    EXPECT_TRUE(needs_rehash(*h));
    EXPECT_FALSE(needs_rehash(*h, HashCostForTests::cheapest()));
    EXPECT_TRUE(needs_rehash(*h, HashCostForTests::cheap()));
}

TEST(Hash, Argon2iHashIsRehashedToArgon2id) {
    char out[crypto_pwhash_STRBYTES];
    ASSERT_EQ(crypto_pwhash_str_alg(out, "pw", 2, 3, crypto_pwhash_argon2i_MEMLIMIT_MIN,
                                    crypto_pwhash_ALG_ARGON2I13),
              0);
    EXPECT_TRUE(verify_password(out, Secret("pw")));
    EXPECT_TRUE(needs_rehash(out, HashCostForTests::cheapest()));
}

}  // namespace
}  // namespace sg::security::accounts
