#include "web/http/source_table.h"

#include <gtest/gtest.h>

namespace sg::web::http {
namespace {

namespace ip = boost::asio::ip;
using namespace std::chrono_literals;

const SourceTable::Clock::time_point t0{};

TEST(SourceTable, PerSourceConnectionCap) {
    Limits lim;
    lim.max_connections_per_source = 2;
    SourceTable t(lim);
    const auto a = ip::make_address("10.0.0.1");
    const auto b = ip::make_address("10.0.0.2");
    EXPECT_TRUE(t.try_connect(a, t0));
    EXPECT_TRUE(t.try_connect(a, t0));
    EXPECT_FALSE(t.try_connect(a, t0));
    EXPECT_TRUE(t.try_connect(b, t0));  // another source is not affected
    t.disconnect(a, t0);
    EXPECT_TRUE(t.try_connect(a, t0));
    EXPECT_EQ(t.connections(a), 2U);
}

TEST(SourceTable, V4MappedIsTheSameSource) {
    Limits lim;
    lim.max_connections_per_source = 1;
    SourceTable t(lim);
    EXPECT_TRUE(t.try_connect(ip::make_address("::ffff:10.0.0.1"), t0));
    EXPECT_FALSE(t.try_connect(ip::make_address("10.0.0.1"), t0));
    EXPECT_EQ(normalize(ip::make_address("::ffff:10.0.0.1")), ip::make_address("10.0.0.1"));
    EXPECT_EQ(normalize(ip::make_address("::1")), ip::make_address("::1"));
}

TEST(SourceTable, TokenBucketBurstRefillAndRetryAfter) {
    Limits lim;
    lim.burst_per_source = 3;
    lim.requests_per_second_per_source = 0.5;  // one token every 2 s
    SourceTable t(lim);
    const auto a = ip::make_address("10.0.0.1");
    EXPECT_FALSE(t.take_token(a, t0));
    EXPECT_FALSE(t.take_token(a, t0));
    EXPECT_FALSE(t.take_token(a, t0));
    auto wait = t.take_token(a, t0);
    ASSERT_TRUE(wait);
    EXPECT_EQ(*wait, 2s);
    wait = t.take_token(a, t0 + 1s);  // half a token back
    ASSERT_TRUE(wait);
    EXPECT_EQ(*wait, 1s);
    EXPECT_FALSE(t.take_token(a, t0 + 2s));
    EXPECT_TRUE(t.take_token(a, t0 + 2s));
    // The bucket never holds more than the burst, however long the source was quiet.
    for (int i = 0; i < 3; ++i) EXPECT_FALSE(t.take_token(a, t0 + 1h));
    EXPECT_TRUE(t.take_token(a, t0 + 1h));
    // Another source has its own bucket.
    EXPECT_FALSE(t.take_token(ip::make_address("10.0.0.2"), t0 + 1h));
}

TEST(SourceTable, NoRefillGivesCappedRetryAfter) {
    Limits lim;
    lim.burst_per_source = 1;
    lim.requests_per_second_per_source = 0;
    SourceTable t(lim);
    const auto a = ip::make_address("10.0.0.1");
    EXPECT_FALSE(t.take_token(a, t0));
    const auto wait = t.take_token(a, t0 + 100h);
    ASSERT_TRUE(wait);
    EXPECT_EQ(*wait, 86400s);
}

TEST(SourceTable, SprayOfAddressesStaysBounded) {
    Limits lim;
    lim.max_sources = 16;
    lim.burst_per_source = 2;
    lim.requests_per_second_per_source = 0.0001;  // (almost) no refill during the spray
    SourceTable t(lim);
    const auto busy = ip::make_address("192.168.0.1");
    ASSERT_TRUE(t.try_connect(busy, t0));
    ASSERT_FALSE(t.take_token(busy, t0));
    ASSERT_FALSE(t.take_token(busy, t0));
    for (std::uint32_t i = 1; i <= 10000; ++i) {
        const auto a = ip::address_v4(0x0A000000U + i);
        EXPECT_FALSE(t.take_token(a, t0 + std::chrono::milliseconds(i)));
        ASSERT_LE(t.size(), 16U);
    }
    // The source holding a connection was never evicted: its empty bucket is remembered.
    EXPECT_EQ(t.connections(busy), 1U);
    EXPECT_TRUE(t.take_token(busy, t0 + 10001ms));
}

TEST(SourceTable, FullOfBusySourcesRefusesNewOnes) {
    Limits lim;
    lim.max_sources = 2;
    SourceTable t(lim);
    EXPECT_TRUE(t.try_connect(ip::make_address("10.0.0.1"), t0));
    EXPECT_TRUE(t.try_connect(ip::make_address("10.0.0.2"), t0));
    EXPECT_FALSE(t.try_connect(ip::make_address("10.0.0.3"), t0));
    EXPECT_EQ(t.size(), 2U);
    t.disconnect(ip::make_address("10.0.0.1"), t0);
    EXPECT_TRUE(t.try_connect(ip::make_address("10.0.0.3"), t0));
    EXPECT_EQ(t.size(), 2U);
}

}  // namespace
}  // namespace sg::web::http
