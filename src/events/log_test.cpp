#include "events/log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "core/limits.h"

namespace sg::events {
namespace {

class LogTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("sg_log_test_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir_);
        auto s = store::Store::open(dir_);
        ASSERT_TRUE(s.ok());
        store_ = std::move(*s);
    }
    void TearDown() override {
        store_.reset();
        std::filesystem::remove_all(dir_);
    }
    std::filesystem::path dir_;
    std::unique_ptr<store::Store> store_;
};

TEST(Catalog, KeysAreUniqueAndFindable) {
    std::set<std::string_view> keys;
    for (const Type* t : catalog()) {
        EXPECT_TRUE(keys.insert(t->key).second) << t->key;
        EXPECT_EQ(find(t->key), t);
    }
    EXPECT_EQ(find("no.such"), nullptr);
}

TEST_F(LogTest, RecordsFieldsAndFilters) {
    Log log(*store_);
    log.emit(types::kConnected, {.port = 3, .source = "127.0.0.1:5000"});
    log.emit(types::kStart, {}, "version 1");
    log.emit(types::kModeFailed, {.port = 2}, "bind: address in use");
    log.flush();
    auto all = read(*store_, {});
    ASSERT_TRUE(all.ok());
    ASSERT_EQ(all->size(), 3u);
    EXPECT_EQ((*all)[0].type_key, "serial.connected");
    EXPECT_EQ((*all)[0].port, 3u);
    EXPECT_EQ((*all)[0].source, "127.0.0.1:5000");
    EXPECT_EQ((*all)[1].message, "version 1");
    EXPECT_EQ((*all)[0].category, Category::Serial);

    auto errors = read(*store_, {.max_severity = Severity::Error});
    ASSERT_TRUE(errors.ok());
    ASSERT_EQ(errors->size(), 1u);
    EXPECT_EQ((*errors)[0].type_key, "serial.mode_failed");
    auto system = read(*store_, {.category = Category::System});
    ASSERT_EQ(system->size(), 1u);
    auto port3 = read(*store_, {.port = 3});
    ASSERT_EQ(port3->size(), 1u);
}

TEST_F(LogTest, DisabledTypesAreNotRecorded) {
    config::EventLogSettings s;
    s.types["serial.connected"] = false;
    Log log(*store_, s);
    log.emit(types::kConnected, {.port = 1});
    log.emit(types::kDisconnected, {.port = 1});
    log.flush();
    auto all = read(*store_, {});
    ASSERT_EQ(all->size(), 1u);
    EXPECT_EQ((*all)[0].type_key, "serial.disconnected");
}

TEST_F(LogTest, KeepsOnlyTheNewestCapacityEvents) {
    Log log(*store_);
    const std::size_t total = core::limits::kEventLogCapacity + 25;
    for (std::size_t i = 0; i < total; ++i) log.emit(types::kConnected, {}, std::to_string(i));
    log.flush();
    auto all = read(*store_, {.limit = total});
    ASSERT_TRUE(all.ok());
    ASSERT_EQ(all->size(), core::limits::kEventLogCapacity);
    EXPECT_EQ(all->front().message, "25");
    EXPECT_EQ(all->back().message, std::to_string(total - 1));
}

TEST(Mandatory, SecurityErrorsAndWarningsCannotBeSwitchedOff) {
    EXPECT_TRUE(mandatory(types::kLoginFailed));
    EXPECT_TRUE(is_mandatory("security.account_locked"));
    EXPECT_FALSE(is_mandatory("security.login_succeeded"));
    EXPECT_FALSE(is_mandatory("serial.refused"));  // Warning, but not Security
    EXPECT_FALSE(is_mandatory("no.such.type"));
}

}  // namespace
}  // namespace sg::events
