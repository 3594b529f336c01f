#include "security/certs/cert_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace sg::security::certs {
namespace {

class CertStoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("sg_cert_store_test_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::filesystem::path dir_;
};

TEST_F(CertStoreTest, EmptyUntilSaved) {
    auto s = store::Store::open(dir_);
    ASSERT_TRUE(s.ok()) << s.error().message;
    auto none = load(**s);
    ASSERT_TRUE(none.ok()) << none.error().message;
    EXPECT_FALSE(none->has_value());
}

TEST_F(CertStoreTest, SaveLoadRoundTripSurvivesReopen) {
    {
        auto s = store::Store::open(dir_);
        ASSERT_TRUE(s.ok());
        auto st = save(**s, KeyPair{"CERT-1", Secret("KEY-1")}, Source::System, 111);
        ASSERT_TRUE(st.ok()) << st.error().message;
        auto got = load(**s);
        ASSERT_TRUE(got.ok() && got->has_value());
        EXPECT_EQ((*got)->pair.cert_pem, "CERT-1");
        EXPECT_EQ((*got)->pair.key_pem.reveal(), "KEY-1");
        EXPECT_EQ((*got)->source, Source::System);
        EXPECT_EQ((*got)->installed_at_us, 111);
        ASSERT_TRUE(save(**s, KeyPair{"CERT-2", Secret("KEY-2")}, Source::User, 222).ok());
    }
    auto s = store::Store::open(dir_);
    ASSERT_TRUE(s.ok());
    auto got = load(**s);
    ASSERT_TRUE(got.ok() && got->has_value());
    EXPECT_EQ((*got)->pair.cert_pem, "CERT-2");
    EXPECT_EQ((*got)->pair.key_pem.reveal(), "KEY-2");
    EXPECT_EQ((*got)->source, Source::User);
    EXPECT_EQ((*got)->installed_at_us, 222);
    auto rows = (*s)->with([](sqlite3* db) {
        store::Statement st(db, "SELECT count(*) FROM tls_certificate");
        st.step();
        return st.integer(0);
    });
    EXPECT_EQ(rows, 1);  // one active certificate, replaced in place
}

TEST_F(CertStoreTest, RefusedSaveKeepsTheCurrentPair) {
    auto s = store::Store::open(dir_);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(save(**s, KeyPair{"CERT", Secret("KEY")}, Source::System, 1).ok());
    EXPECT_FALSE(save(**s, KeyPair{"", Secret("KEY")}, Source::User, 2).ok());
    EXPECT_FALSE(save(**s, KeyPair{"CERT", Secret()}, Source::User, 2).ok());
    auto got = load(**s);
    ASSERT_TRUE(got.ok() && got->has_value());
    EXPECT_EQ((*got)->installed_at_us, 1);
    EXPECT_EQ((*got)->source, Source::System);
}

TEST_F(CertStoreTest, UnknownSourceIsAnError) {
    auto s = store::Store::open(dir_);
    ASSERT_TRUE(s.ok());
    auto bad = (*s)->transaction([](sqlite3* db) {
        return store::exec(db, "INSERT INTO tls_certificate VALUES (1, 'c', 'k', 'other', 1)");
    });
    EXPECT_FALSE(bad.ok());  // the schema's CHECK refuses it
    auto got = load(**s);
    ASSERT_TRUE(got.ok());
    EXPECT_FALSE(got->has_value());
}

TEST(SourceNames, AreStable) {
    EXPECT_STREQ(to_string(Source::System), "system");
    EXPECT_STREQ(to_string(Source::User), "user");
}

}  // namespace
}  // namespace sg::security::certs
