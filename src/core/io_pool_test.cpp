// io_pool_test.cpp: the data plane's io threads (ADR 0015).
#include "core/io_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <set>
#include <thread>

namespace sg::core {
namespace {

TEST(IoPoolTest, EachContextRunsOnOneThreadOfItsOwn) {
    IoPool pool(3);
    ASSERT_EQ(pool.size(), 3U);
    pool.start();
    std::set<std::thread::id> seen;
    for (std::size_t i = 0; i < pool.size(); ++i) {
        // Every handler of one context runs on the same thread, and no two contexts share one.
        std::set<std::thread::id> of_this;
        for (int k = 0; k < 20; ++k) {
            std::promise<std::thread::id> p;
            auto f = p.get_future();
            asio::post(pool.at(i), [&p] { p.set_value(std::this_thread::get_id()); });
            of_this.insert(f.get());
        }
        ASSERT_EQ(of_this.size(), 1U);
        EXPECT_NE(*of_this.begin(), std::this_thread::get_id());
        EXPECT_TRUE(seen.insert(*of_this.begin()).second);
    }
    pool.stop();
    pool.stop();  // idempotent
}

TEST(IoPoolTest, PlacesOnTheLeastLoaded) {
    IoPool pool(2);
    EXPECT_EQ(pool.place(), 0U);
    EXPECT_EQ(pool.place(), 1U);
    EXPECT_EQ(pool.place(), 0U);
    pool.release(0);
    pool.release(0);
    EXPECT_EQ(pool.load(), (std::vector<std::size_t>{0, 1}));
    EXPECT_EQ(pool.place(), 0U);
    EXPECT_EQ(pool.place(), 0U);
    EXPECT_EQ(pool.place(), 1U);
    pool.release(5);  // out of range: ignored
    pool.release(1);
    pool.release(1);
    pool.release(1);  // below zero: ignored
    EXPECT_EQ(pool.load(), (std::vector<std::size_t>{2, 0}));
}

TEST(IoPoolTest, ZeroThreadsMeansOne) {
    IoPool pool(0);
    EXPECT_EQ(pool.size(), 1U);
    pool.start();
    std::atomic<bool> ran{false};
    std::promise<void> p;
    asio::post(pool.at(0), [&] {
        ran = true;
        p.set_value();
    });
    p.get_future().wait();
    EXPECT_TRUE(ran);
}

}  // namespace
}  // namespace sg::core
