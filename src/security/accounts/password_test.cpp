#include "security/accounts/password.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <climits>
#include <sstream>
#include <thread>
#include <vector>

#include "security/accounts/testing.h"

namespace sg::security::accounts {
namespace {

// A password no rule refuses: varied characters, no word, no run or sequence.
constexpr const char* kGood = "gR4tz-Wu9b";
constexpr const char* kNoDictionary = "/nonexistent/cracklib_dict";  // PW-3: dictionary missing

/// `n` code points of kGood's characters over and over: passes every rule at any length >= 8.
std::string good_of_length(std::size_t n) {
    std::string out;
    const std::string_view g = kGood;
    for (std::size_t i = 0; i < n; ++i) out += g[i % g.size()];
    return out;
}

/// The message of check_password's refusal, or "ok".
std::string why(const std::string& pw, std::string_view account = "admin",
                const config::PasswordPolicy& p = {}) {
    auto st = check_password(Secret(pw), account, p);
    return st ? std::string("ok") : st.error().message;
}

bool contains(const std::string& text, std::string_view part) {
    return text.find(part) != std::string::npos;
}

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
    EXPECT_FALSE(check_password(Secret(good_of_length(129)), "admin", p).ok());
    EXPECT_TRUE(check_password(Secret(good_of_length(128)), "admin", p).ok());
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

TEST(Policy, AccountNameInAnyCaseIsRefused) {  // PW-3
    config::PasswordPolicy p;
    auto st = check_password(Secret("Operator.1"), "operator.1", p);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("account name"), std::string::npos);
    EXPECT_FALSE(check_password(Secret("OPERATOR.1"), "operator.1", p).ok());
    // With digits and punctuation stripped from the ends, "operator.12" is "operator" too.
    EXPECT_TRUE(contains(why("operator.12", "operator.1"), "based on the account name"));
    EXPECT_TRUE(contains(why("admin123", "admin"), "based on the account name"));  // spec example
    EXPECT_TRUE(contains(why("!!ADMIN2024", "admin"), "based on the account name"));
    EXPECT_EQ(why("Dragon2024", "admin"), "ok");
    EXPECT_EQ(why("tz-admin-Wu9b", "admin"), "ok");  // contained in the middle: allowed (PW-3)
}

TEST(Policy, LengthCountsCodePoints) {  // PW-2
    config::PasswordPolicy p;
    const std::array<const char*, 8> letters = {"\xc3\xa9", "\xc3\xa0", "\xc3\xbc", "\xc3\xb6",
                                                "\xc3\xa7", "\xc3\xb1", "\xc3\xa5", "\xc3\xb8"};
    std::string e8;
    for (const char* l : letters) e8 += l;  // éàüöçñåø: 8 code points, 16 bytes
    EXPECT_TRUE(check_password(Secret(e8), "admin", p).ok());
    std::string cjk7;
    for (int i = 0; i < 7; ++i) cjk7 += "\xe6\x97\xa5";  // 7 × 日 = 21 bytes: still too short
    EXPECT_FALSE(check_password(Secret(cjk7), "admin", p).ok());
    std::string e128, e129;
    for (int i = 0; i < 128; ++i) e128 += letters.at(i % letters.size());
    e129 = e128 + letters[0];
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
    for (const char* pw :
         {"Zq", "zqxjkvbwzqxjkvbw", "ZQXJKVBWzqxjkvbw", "Zqxjkvbw1zqxj", "Password1", "admin123",
          "Moxa2024!", "aaaaaaaa", "12345678", "Elephant7"}) {
        auto st = check_password(Secret(pw), "admin", p);
        ASSERT_FALSE(st.ok());
        EXPECT_EQ(st.error().message.find(pw), std::string::npos) << st.error().message;
    }
}

// ---------------------------------------------------------------- PW-2: NFKC

const std::string kComposed = "caf\xc3\xa9-Wu9b-tz";     // é as U+00E9
const std::string kDecomposed = "cafe\xcc\x81-Wu9b-tz";  // e + U+0301 COMBINING ACUTE ACCENT
const std::string kFullWidth =                           // ｇＲ４ｔｚ-Wu9b: U+FF47 U+FF32 ...
    "\xef\xbd\x87\xef\xbc\xb2\xef\xbc\x94\xef\xbd\x94\xef\xbd\x9a-Wu9b";

TEST(Nfkc, ComposedDecomposedAndFullWidthNormaliseToOneForm) {
    auto c = normalize_password(Secret(kComposed));
    auto d = normalize_password(Secret(kDecomposed));
    auto f = normalize_password(Secret(kFullWidth));
    ASSERT_TRUE(c.ok() && d.ok() && f.ok());
    EXPECT_EQ(c->reveal(), kComposed);
    EXPECT_EQ(d->reveal(), kComposed);
    EXPECT_EQ(f->reveal(), "gR4tz-Wu9b");
    auto bad = normalize_password(Secret("abcdefgh\xc3"));
    ASSERT_FALSE(bad.ok());
    EXPECT_TRUE(contains(bad.error().message, "UTF-8"));
}

TEST(Nfkc, EachFormHashesAndVerifiesAgainstTheOthers) {
    const auto cost = HashCostForTests::cheapest();
    auto h = hash_password(Secret(kDecomposed), cost);
    ASSERT_TRUE(h.ok());
    EXPECT_TRUE(verify_password(*h, Secret(kComposed)));
    EXPECT_TRUE(verify_password(*h, Secret(kDecomposed)));
    EXPECT_FALSE(verify_password(*h, Secret("cafe-Wu9b-tz")));
    // What was hashed is the NFKC form itself (libsodium, no normalisation on this side).
    EXPECT_EQ(crypto_pwhash_str_verify(h->c_str(), kComposed.data(), kComposed.size()), 0);
    auto hf = hash_password(Secret(kFullWidth), cost);
    ASSERT_TRUE(hf.ok());
    EXPECT_TRUE(verify_password(*hf, Secret("gR4tz-Wu9b")));
    auto ha = hash_password(Secret("gR4tz-Wu9b"), cost);
    ASSERT_TRUE(ha.ok());
    EXPECT_TRUE(verify_password(*ha, Secret(kFullWidth)));
    EXPECT_FALSE(verify_password(*ha, Secret("gR4tz-Wu9b\xc3")));  // invalid UTF-8: never a match
}

TEST(Nfkc, BytesThatAreNotUtf8AreHashedAsTheyAre) {  // IA-5: Accounts' dummy hash
    std::string random(32, '\0');
    randombytes_buf(random.data(), random.size());
    random[0] = '\xff';  // never UTF-8
    auto h = hash_password(Secret(random), HashCostForTests::cheapest());
    ASSERT_TRUE(h.ok());
    EXPECT_TRUE(verify_password(*h, Secret(random)));
    EXPECT_FALSE(verify_password(*h, Secret(random.substr(1))));
}

TEST(Nfkc, HashesMadeBeforeNormalisationStillVerify) {
    // Hashes of the raw bytes, as hash_password made them before PW-2. ASCII (and NFC text such as
    // a composed é, what keyboards send) is its own NFKC form: byte for byte the same password.
    for (const std::string& pw :
         std::vector<std::string>{"Corr3ct-Horse-Battery", "admin-password-1", "bench-password-1",
                                  "correct horse \xf0\x9f\x90\xb4", kComposed}) {
        std::array<char, crypto_pwhash_STRBYTES> out{};
        ASSERT_EQ(crypto_pwhash_str_alg(out.data(), pw.data(), pw.size(), 1,
                                        crypto_pwhash_argon2id_MEMLIMIT_MIN,
                                        crypto_pwhash_ALG_ARGON2ID13),
                  0);
        EXPECT_TRUE(verify_password(out.data(), Secret(pw))) << pw;
        auto n = normalize_password(Secret(pw));
        ASSERT_TRUE(n.ok());
        EXPECT_EQ(n->reveal(), pw);
    }
}

TEST(Nfkc, LengthIsCountedInCodePointsAfterNormalisation) {
    constexpr std::size_t kMax = config::kMaxPasswordLength;
    static_assert(kMax >= 128, "PW-2: at least 128 characters accepted");
    EXPECT_EQ(why(good_of_length(128)), "ok");
    EXPECT_EQ(why(good_of_length(kMax)), "ok");
    EXPECT_TRUE(contains(why(good_of_length(kMax + 1)), "at most"));
    EXPECT_TRUE(contains(why(good_of_length(200)), "at most"));
    const std::string fi = "\xef\xac\x81";  // U+FB01 LATIN SMALL LIGATURE FI: "fi" after NFKC
    EXPECT_EQ(why(good_of_length(kMax - 2) + fi), "ok");                   // kMax after NFKC
    EXPECT_TRUE(contains(why(good_of_length(kMax - 1) + fi), "at most"));  // kMax as typed
}

using NfkcAccounts = AccountsTest;

TEST_F(NfkcAccounts, DecomposedSpellingLogsInAndIsNotANewPassword) {  // PW-2 with PW-6
    make_account("op", "Operator", kComposed);
    EXPECT_EQ(accounts_->login("op", Secret(kDecomposed), "127.0.0.1", login_, policy_).outcome,
              Accounts::LoginResult::Outcome::Ok);
    auto r = accounts_->change_own_password("op", Secret(kComposed), Secret(kDecomposed), policy_);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code, "same_password");
}

// ---------------------------------------------------------------- PW-3: blocklist

TEST(Blocklist, SpecExamplesAreRefusedNamingTheRuleWithOrWithoutTheDictionary) {
    config::PasswordPolicy p;
    for (const std::string& dict :
         std::vector<std::string>{default_blocklist_dictionary(), std::string(kNoDictionary)}) {
        auto msg = [&](const char* pw, const char* account) {
            auto st = check_password(Secret(pw), account, p, dict);
            return st ? std::string("ok") : st.error().message;
        };
        EXPECT_TRUE(contains(msg("Password1", "admin"), "too common")) << dict;
        EXPECT_TRUE(contains(msg("admin123", "admin"), "account name")) << dict;
        EXPECT_TRUE(contains(msg("12345678", "admin"), "sequence")) << dict;
        EXPECT_TRUE(contains(msg("Moxa2024!", "admin"), "product name")) << dict;
        EXPECT_EQ(msg(kGood, "admin"), "ok") << dict;
    }
}

TEST(Blocklist, ProductNamesInAnyCaseWithDigitsAndPunctuationAtTheEnds) {
    const std::string full_width_moxa =
        "\xef\xbc\xad\xef\xbc\xaf\xef\xbc\xb8\xef\xbc\xa1"
        "\xef\xbc\x92\xef\xbc\x90\xef\xbc\x92\xef\xbc\x94";
    for (const std::string& pw :
         std::vector<std::string>{"Moxa2024!", "MOXA-1234", "SerialGate", "serialgate!",
                                  "2024-NPort", "nport5150", "!!NpOrT!!", full_width_moxa}) {
        EXPECT_TRUE(contains(why(pw), "product name")) << pw;
    }
    EXPECT_FALSE(contains(why("moxamoxa"), "product name"));  // not the word itself: cracklib's
    EXPECT_EQ(why("tz-moxa-Wu9b"), "ok");                     // inside: allowed
}

TEST(Blocklist, Hostname) {
    std::array<char, HOST_NAME_MAX + 1> buf{};
    ASSERT_EQ(::gethostname(buf.data(), buf.size() - 1), 0);
    const std::string host(buf.data());
    const std::string label = host.substr(0, host.find('.'));
    if (std::none_of(label.begin(), label.end(), [](char c) { return std::isalpha(c) != 0; })) {
        GTEST_SKIP() << "hostname '" << host << "' has no letters to test with";
    }
    std::string upper = label;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_TRUE(contains(why(label + "-2024-!!", "zz-other"), "hostname")) << host;
    EXPECT_TRUE(contains(why("2024-" + upper + "!!!", "zz-other"), "hostname")) << host;
    EXPECT_TRUE(contains(why(host + "99999999", "zz-other"), "hostname")) << host;
    EXPECT_FALSE(contains(why(kGood, "zz-other"), "hostname"));
}

TEST(Blocklist, RunsAndSequencesOfTheWholePassword) {
    for (const std::string pw :
         {"aaaaaaaa", "AAAAaaaa", "11111111", "        ",
          "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"}) {
        EXPECT_TRUE(contains(why(pw), "repeated")) << pw;
    }
    for (const std::string pw :
         {"12345678", "87654321", "abcdefgh", "ABCDEFGH", "aBcDeFgH", "zyxwvuts", "1234567890",
          "0987654321", "34567890", "789:;<=>",
          "\xce\xb1\xce\xb2\xce\xb3\xce\xb4\xce\xb5\xce\xb6\xce\xb7\xce\xb8"}) {  // αβγδεζηθ
        EXPECT_TRUE(contains(why(pw), "sequence")) << pw;
    }
    // Judged on the whole password: a run or sequence with anything else is not this rule's
    // (cracklib may still refuse it as too systematic, so this runs without the dictionary).
    for (const char* pw : {"12345679", "aaaaaaab", "abcdefgg", "13579bdf", "x12345678"}) {
        EXPECT_TRUE(check_password(Secret(pw), "admin", {}, kNoDictionary).ok()) << pw;
    }
}

TEST(Blocklist, DictionaryWordsThroughCracklib) {
    ASSERT_TRUE(blocklist_dictionary_available())
        << "no cracklib dictionary at " << default_blocklist_dictionary()
        << ": install cracklib-runtime (scripts/bootstrap)";
    for (const char* pw : {"Elephant7", "Sunflower7", "qwertyuiop", "Butterfly9", "monkey99"}) {
        const std::string m = why(pw);
        EXPECT_TRUE(contains(m, "dictionary word") && contains(m, "cracklib")) << pw << ": " << m;
    }
    for (const char* pw : {kGood, "correct horse battery", "Corr3ct-Horse-Battery"}) {
        EXPECT_EQ(why(pw), "ok") << pw;
    }
}

TEST(Blocklist, WithoutTheDictionaryCracklibIsSkippedAndTheBuiltInRulesStillApply) {
    EXPECT_FALSE(blocklist_dictionary_available(kNoDictionary));
    EXPECT_FALSE(blocklist_dictionary_available(""));
    const config::PasswordPolicy p;
    EXPECT_TRUE(check_password(Secret("Elephant7"), "admin", p, kNoDictionary).ok());
    for (const char* pw : {"Password1", "admin123", "Moxa2024!", "aaaaaaaa", "87654321"}) {
        EXPECT_FALSE(check_password(Secret(pw), "admin", p, kNoDictionary).ok()) << pw;
    }
    // A dictionary elsewhere is used when its files are there (the default one, by its path).
    EXPECT_FALSE(
        check_password(Secret("Elephant7"), "admin", p, default_blocklist_dictionary()).ok());
}

TEST(Blocklist, ComesBeforeTheStrengthClasses) {
    config::PasswordPolicy p;
    p.strength_check = true;  // digit, mixed case and special all required
    EXPECT_TRUE(contains(why("Password1", "admin", p), "too common"));
    EXPECT_TRUE(contains(why("Moxa2024!", "admin", p), "product name"));
    EXPECT_EQ(why("gR4tz-Wu9b", "admin", p), "ok");
}

TEST(Blocklist, CracklibFromManyThreadsAtOnce) {  // one mutex around it; TSan runs this in CI
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 20; ++i) {
                if (check_password(Secret("Elephant7"), "admin", {}).ok()) ++wrong;
                if (!check_password(Secret(kGood), "admin", {}).ok()) ++wrong;
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(wrong.load(), 0);
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

TEST(Argon2Parallelism, ConfiguredCountIsCappedAtTheCoresAndZeroIsTheDefault) {
    const std::size_t def = argon2_parallelism();
    const std::size_t cores = std::max(1U, std::thread::hardware_concurrency());
    set_argon2_parallelism(1);
    EXPECT_EQ(argon2_parallelism(), 1u);
    set_argon2_parallelism(16);  // a configuration written on a larger host
    EXPECT_EQ(argon2_parallelism(), std::min<std::size_t>(16, cores));
    set_argon2_parallelism(0);  // auto
    EXPECT_EQ(argon2_parallelism(), def);
    EXPECT_EQ(def, std::max<std::size_t>(1, std::min<std::size_t>(2, cores - 1)));
}

}  // namespace
}  // namespace sg::security::accounts
