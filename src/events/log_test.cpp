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
    // One of the rows is the "90 % full" Warning (AU-3), so 26 of the oldest went, in order.
    EXPECT_EQ(all->front().message, "26");
    EXPECT_EQ(all->back().message, std::to_string(total - 1));
    auto r = retention(*store_);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->overwritten[static_cast<std::size_t>(Category::Serial)], 26u);  // AU-3 counter
}

// Issue 14 item 8 (AU-3): a flood of other categories overwrites only their own rows; Security
// keeps its share; every overwritten row is counted per category, and the count is persistent.
TEST_F(LogTest, OtherCategoriesNeverPushSecurityOutAndOverwritesAreCounted) {
    const std::size_t capacity = core::limits::kEventLogCapacity;
    const std::size_t noise = capacity + 500;
    {
        Log log(*store_);
        log.emit(types::kAccountCreated, {.account = "admin"}, "first administrator");
        log.emit(types::kLoginFailed, {.account = "admin", .source = "10.0.0.1:4000"});
        for (std::size_t i = 0; i < noise; ++i) log.emit(types::kConnected, {}, std::to_string(i));
        log.flush();
        auto sec = read(*store_, {.category = Category::Security});
        ASSERT_TRUE(sec.ok());
        ASSERT_EQ(sec->size(), 2u);
        EXPECT_EQ((*sec)[0].type_key, "security.account_created");
        EXPECT_EQ((*sec)[1].type_key, "security.login_failed");
        auto all = read(*store_, {.limit = capacity + 10});
        ASSERT_EQ(all->size(), capacity);
        // The "90 % full" Warning was written when the log reached 9,000 rows.
        auto full = read(*store_, {.type = std::string("system.event_log_nearly_full")});
        ASSERT_EQ(full->size(), 1u);
    }
    store_.reset();  // restart: the counters are in the database
    auto reopened = store::Store::open(dir_);
    ASSERT_TRUE(reopened.ok());
    store_ = std::move(*reopened);
    auto r = retention(*store_);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->capacity, capacity);
    EXPECT_EQ(r->kept_total(), capacity);
    EXPECT_EQ(r->kept[static_cast<std::size_t>(Category::Security)], 2u);
    // 2 Security + `noise` Serial + 1 System rows written, `capacity` kept: the rest were Serial.
    const std::uint64_t dropped = 2 + noise + 1 - capacity;
    EXPECT_EQ(r->overwritten[static_cast<std::size_t>(Category::Serial)], dropped);
    EXPECT_EQ(r->overwritten_total(), dropped);
}

TEST_F(LogTest, SecurityBeyondItsShareIsOverwrittenOldestFirst) {
    const std::size_t share = core::limits::kEventLogSecurityShare;
    const std::size_t capacity = core::limits::kEventLogCapacity;
    Log log(*store_);
    for (std::size_t i = 0; i < share + 10; ++i) {
        log.emit(types::kAccountChanged, {.account = "a"}, std::to_string(i));
    }
    for (std::size_t i = 0; i < capacity; ++i) log.emit(types::kConnected, {}, std::to_string(i));
    log.flush();
    auto sec = read(*store_, {.category = Category::Security, .limit = capacity});
    ASSERT_EQ(sec->size(), share);
    EXPECT_EQ(sec->front().message, "10");  // the 10 oldest went
    auto r = retention(*store_);
    EXPECT_EQ(r->overwritten[static_cast<std::size_t>(Category::Security)], 10u);
    EXPECT_EQ(r->kept_total(), capacity);
    // Security events themselves may use the whole log.
    for (std::size_t i = 0; i < capacity; ++i) log.emit(types::kAccountChanged, {.account = "b"});
    log.flush();
    r = retention(*store_);
    EXPECT_EQ(r->kept[static_cast<std::size_t>(Category::Security)], capacity);
}

// Issue 14 items 5, 6: a flood from one source leaves its burst and one summary with the count.
TEST_F(LogTest, LimitedEmitWritesTheBurstThenASummaryWithTheCount) {
    auto now = std::chrono::steady_clock::time_point{};
    Log log(*store_, {}, [&now] { return now; });
    const Limit limit{.burst = 10, .period = std::chrono::seconds(60)};
    int written = 0;
    for (int i = 0; i < 1000; ++i) {
        const std::string source = "127.0.0.5:" + std::to_string(20000 + i);
        written += log.emit_limited(types::kConnected, {.port = 1, .source = source}, {}, limit);
    }
    EXPECT_EQ(written, 10);
    log.emit_summaries();  // the period has not ended: nothing yet
    log.flush();
    EXPECT_EQ(read(*store_, {})->size(), 10u);
    now += std::chrono::seconds(60);
    log.emit_summaries();
    log.flush();
    auto all = read(*store_, {});
    ASSERT_EQ(all->size(), 11u);
    EXPECT_EQ((*all)[0].source, "127.0.0.5:20000");  // written ones keep the whole source
    EXPECT_EQ(all->back().source, "127.0.0.5");
    EXPECT_EQ(all->back().port, 1u);
    EXPECT_EQ(all->back().type_key, "serial.connected");
    EXPECT_TRUE(all->back().message.starts_with("rate-limited: 990 more from 127.0.0.5 since "))
        << all->back().message;
}

TEST_F(LogTest, LimitedEmitOfADisabledTypeIsNotHeldBack) {
    config::EventLogSettings s;
    s.types["serial.connected"] = false;
    Log log(*store_, s);
    EXPECT_TRUE(log.emit_limited(types::kConnected, {.port = 1}, {}, {}));
    EXPECT_TRUE(log.emit_limited(types::kConnected, {.port = 1}, {}, {}));
    log.emit_summaries(true);
    log.flush();
    EXPECT_TRUE(read(*store_, {})->empty());
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
