#include "store/store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "store/migrations.h"

namespace sg::store {
namespace {

class StoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("sg_store_test_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::filesystem::path dir_;
};

TEST_F(StoreTest, CreatesPrivateDatabaseAtLatestSchema) {
    auto s = Store::open(dir_);
    ASSERT_TRUE(s.ok()) << s.error().message;
    EXPECT_EQ((*s)->schema_version(), static_cast<int>(migrations().size()));
    for (const auto& e : std::filesystem::directory_iterator(dir_)) {
        struct stat st {};
        ASSERT_EQ(::stat(e.path().c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 077, 0u) << e.path();
    }
}

TEST_F(StoreTest, ConfigDocumentRevisionsAndReopen) {
    {
        auto s = Store::open(dir_);
        ASSERT_TRUE(s.ok());
        auto none = (*s)->load_config();
        ASSERT_TRUE(none.ok());
        EXPECT_FALSE(none->has_value());
        EXPECT_EQ(*(*s)->save_config("a: 1\n"), 1);
        EXPECT_EQ(*(*s)->save_config("a: 2\n"), 2);
    }
    auto s = Store::open(dir_);
    ASSERT_TRUE(s.ok());
    auto row = (*s)->load_config();
    ASSERT_TRUE(row.ok() && row->has_value());
    EXPECT_EQ((*row)->document, "a: 2\n");
    EXPECT_EQ((*row)->revision, 2);
}

TEST_F(StoreTest, FailedTransactionChangesNothing) {
    auto s = Store::open(dir_);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->save_config("old\n").ok());
    auto st = (*s)->transaction([](sqlite3* db) -> core::Status {
        Statement up(db, "UPDATE config SET document = 'new'");
        up.step();
        return core::make_error(core::Errc::invalid_config, "rejected");
    });
    EXPECT_FALSE(st.ok());
    EXPECT_EQ((*(*s)->load_config())->document, "old\n");
}

TEST_F(StoreTest, PostedWorkIsCommittedByFlush) {
    auto s = Store::open(dir_);
    ASSERT_TRUE(s.ok());
    for (int i = 0; i < 100; ++i) {
        (*s)->post([i](sqlite3* db) {
            Statement ins(db,
                          "INSERT INTO events (time_us, type, category, severity, message) "
                          "VALUES (?, 'x', 0, 4, 'm')");
            ins.bind(1, i).step();
        });
    }
    (*s)->flush();
    auto n = (*s)->with([](sqlite3* db) {
        Statement c(db, "SELECT count(*) FROM events");
        c.step();
        return c.integer(0);
    });
    EXPECT_EQ(n, 100);
}

// Migration 004 (issue 14 item 8) upgrades a database of schema 3 that already holds events:
// event_retention counts them, and its triggers keep counting.
TEST_F(StoreTest, EventRetentionMigrationCountsExistingRows) {
    std::filesystem::create_directories(dir_);
    {
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open((dir_ / "serialgate.db").c_str(), &db), SQLITE_OK);
        for (std::size_t i = 0; i < 3; ++i) ASSERT_TRUE(exec(db, migrations()[i].sql).ok());
        ASSERT_TRUE(exec(db, "PRAGMA user_version=3").ok());
        ASSERT_TRUE(exec(db,
                         "INSERT INTO events (time_us, type, category, severity, message) VALUES "
                         "(1, 'security.account_created', 2, 3, 'm'), "
                         "(2, 'serial.connected', 4, 4, 'm'), (3, 'serial.connected', 4, 4, 'm')")
                        .ok());
        sqlite3_close(db);
    }
    auto s = Store::open(dir_);
    ASSERT_TRUE(s.ok()) << s.error().message;
    EXPECT_EQ((*s)->schema_version(), static_cast<int>(migrations().size()));
    auto kept = [&](int category) {
        return (*s)->with([&](sqlite3* db) {
            Statement c(db, "SELECT kept, overwritten FROM event_retention WHERE category = ?");
            c.bind(1, category).step();
            return std::pair{c.integer(0), c.integer(1)};
        });
    };
    EXPECT_EQ(kept(2), (std::pair<std::int64_t, std::int64_t>{1, 0}));
    EXPECT_EQ(kept(4), (std::pair<std::int64_t, std::int64_t>{2, 0}));
    EXPECT_EQ(kept(0), (std::pair<std::int64_t, std::int64_t>{0, 0}));
    ASSERT_TRUE((*s)->transaction([](sqlite3* db) {
                        return exec(db, "DELETE FROM events WHERE category = 4 AND time_us = 2");
                    })
                    .ok());
    EXPECT_EQ(kept(4).first, 1);
}

TEST_F(StoreTest, SeesCommitsOfAnotherConnection) {
    auto a = Store::open(dir_);
    auto b = Store::open(dir_);
    ASSERT_TRUE(a.ok() && b.ok());
    auto before = (*a)->data_version();
    ASSERT_TRUE((*b)->save_config("x\n").ok());
    EXPECT_NE((*a)->data_version(), before);
}

}  // namespace
}  // namespace sg::store
