#include "events/rate_limit.h"

#include <gtest/gtest.h>

#include <string>

namespace sg::events {
namespace {

using namespace std::chrono_literals;

class RateLimiterTest : public ::testing::Test {
protected:
    std::chrono::steady_clock::time_point now_{};
    RateLimiter::Clock clock() {
        return [this] { return now_; };
    }
};

TEST_F(RateLimiterTest, BurstWrittenThenCountedAndSummarisedWhenThePeriodEnds) {
    RateLimiter rl(clock());
    const Limit limit{.burst = 3, .period = 60s};
    int written = 0;
    for (int i = 0; i < 100; ++i) {
        auto v = rl.admit(types::kConnected, 1, "127.0.0.5", limit);
        EXPECT_FALSE(v.pending);
        written += v.write ? 1 : 0;
    }
    EXPECT_EQ(written, 3);
    EXPECT_TRUE(rl.due().empty());  // the period has not ended
    now_ += 60s;
    auto due = rl.due();
    ASSERT_EQ(due.size(), 1u);
    EXPECT_EQ(due[0].type, &types::kConnected);
    EXPECT_EQ(due[0].port, 1u);
    EXPECT_EQ(due[0].address, "127.0.0.5");
    EXPECT_EQ(due[0].count, 97u);
    // A new period: the key writes its burst again; a quiet key is forgotten.
    EXPECT_TRUE(rl.admit(types::kConnected, 1, "127.0.0.5", limit).write);
    now_ += 60s;
    EXPECT_TRUE(rl.due().empty());
    EXPECT_EQ(rl.keys(), 0u);
}

TEST_F(RateLimiterTest, KeyIsTypePortAndAddress) {
    RateLimiter rl(clock());
    const Limit once{.burst = 1};
    EXPECT_TRUE(rl.admit(types::kConnected, 1, "10.0.0.1", once).write);
    EXPECT_FALSE(rl.admit(types::kConnected, 1, "10.0.0.1", once).write);
    EXPECT_TRUE(rl.admit(types::kConnected, 2, "10.0.0.1", once).write);  // other port
    EXPECT_TRUE(rl.admit(types::kRefused, 1, "10.0.0.1", once).write);    // other type
    EXPECT_TRUE(rl.admit(types::kConnected, 1, "10.0.0.2", once).write);  // other address
    EXPECT_TRUE(rl.admit(types::kSetupRefused, std::nullopt, "::1", once).write);
    EXPECT_FALSE(rl.admit(types::kSetupRefused, std::nullopt, "::1", once).write);
}

TEST_F(RateLimiterTest, PendingCountComesBeforeTheNextWrittenEvent) {
    RateLimiter rl(clock());
    const Limit once{.burst = 1, .period = 10s};
    EXPECT_TRUE(rl.admit(types::kSetupRefused, std::nullopt, "10.0.0.1", once).write);
    for (int i = 0; i < 5; ++i) rl.admit(types::kSetupRefused, std::nullopt, "10.0.0.1", once);
    now_ += 11s;  // no due() in between: the next event carries the count
    auto v = rl.admit(types::kSetupRefused, std::nullopt, "10.0.0.1", once);
    EXPECT_TRUE(v.write);
    ASSERT_TRUE(v.pending);
    EXPECT_EQ(v.pending->count, 5u);
    EXPECT_TRUE(rl.due(true).empty());  // nothing held any more
}

TEST_F(RateLimiterTest, CountOnlyIsNeverWrittenButAlwaysSummarised) {
    RateLimiter rl(clock());
    const Limit limit{.burst = 10};
    for (int i = 0; i < 4; ++i) {
        EXPECT_FALSE(rl.admit(types::kDisconnected, 1, "10.0.0.1", limit, true).write);
    }
    auto all = rl.due(true);  // at stop: even a period that has not ended
    ASSERT_EQ(all.size(), 1u);
    EXPECT_EQ(all[0].count, 4u);
}

TEST_F(RateLimiterTest, TableIsBoundedAndNewcomersShareOneKeyPerTypeAndPort) {
    RateLimiter rl(clock(), 8);
    const Limit once{.burst = 1};
    int written = 0;
    // 10,000 distinct addresses (an IPv6 attacker has far more).
    for (int i = 0; i < 10000; ++i) {
        written += rl.admit(types::kConnected, 1, "fd00::" + std::to_string(i), once).write;
    }
    EXPECT_EQ(rl.keys(), 9u);  // 8 addresses + one "other sources" key
    EXPECT_EQ(written, 9);
    auto all = rl.due(true);
    std::uint64_t counted = 0;
    for (const auto& s : all) {
        EXPECT_EQ(s.address, RateLimiter::kOtherSources);
        counted += s.count;
    }
    EXPECT_EQ(written + counted, 10000u);  // every event written or counted
}

TEST(AddressOf, DropsTheEphemeralPort) {
    EXPECT_EQ(address_of("127.0.0.5:40000"), "127.0.0.5");
    EXPECT_EQ(address_of("[fd00::1]:40000"), "fd00::1");
    EXPECT_EQ(address_of("127.0.0.5"), "127.0.0.5");
    EXPECT_EQ(address_of("fd00::1"), "fd00::1");  // several colons: no port
    EXPECT_EQ(address_of("SIGHUP"), "SIGHUP");
    EXPECT_EQ(address_of("host:abc"), "host:abc");
}

}  // namespace
}  // namespace sg::events
