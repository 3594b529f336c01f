#include "web/http/source_table.h"

#include <gtest/gtest.h>

namespace sg::web::http {
namespace {

namespace ip = boost::asio::ip;
using namespace std::chrono_literals;

const SourceTable::Clock::time_point t0{};
using Admit = SourceTable::Admit;

TEST(SourceTable, PerSourceConnectionCap) {
    Limits lim;
    lim.max_connections_per_source = 2;
    SourceTable t(lim);
    const auto a = ip::make_address("10.0.0.1");
    const auto b = ip::make_address("10.0.0.2");
    EXPECT_EQ(t.try_connect(a, t0, false), Admit::ok);
    EXPECT_EQ(t.try_connect(a, t0, false), Admit::ok);
    EXPECT_EQ(t.try_connect(a, t0, false), Admit::source_cap);
    EXPECT_EQ(t.try_connect(b, t0, false), Admit::ok);  // another source is not affected
    t.disconnect(a, t0);
    EXPECT_EQ(t.try_connect(a, t0, false), Admit::ok);
    EXPECT_EQ(t.connections(a), 2U);
}

TEST(SourceTable, V4MappedIsTheSameSource) {
    Limits lim;
    lim.max_connections_per_source = 1;
    SourceTable t(lim);
    EXPECT_EQ(t.try_connect(ip::make_address("::ffff:10.0.0.1"), t0, false), Admit::ok);
    EXPECT_EQ(t.try_connect(ip::make_address("10.0.0.1"), t0, false), Admit::source_cap);
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
    ASSERT_EQ(t.try_connect(busy, t0, false), Admit::ok);
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
    EXPECT_EQ(t.try_connect(ip::make_address("10.0.0.1"), t0, false), Admit::ok);
    EXPECT_EQ(t.try_connect(ip::make_address("10.0.0.2"), t0, false), Admit::ok);
    EXPECT_EQ(t.try_connect(ip::make_address("10.0.0.3"), t0, false), Admit::source_cap);
    EXPECT_EQ(t.size(), 2U);
    t.disconnect(ip::make_address("10.0.0.1"), t0);
    EXPECT_EQ(t.try_connect(ip::make_address("10.0.0.3"), t0, false), Admit::ok);
    EXPECT_EQ(t.size(), 2U);
}

TEST(SourceTable, DefaultsAreNe5) {
    const Limits lim;
    EXPECT_EQ(lim.connections_per_second_per_source, 20);
    EXPECT_EQ(lim.connection_burst_per_source, 40);
    EXPECT_EQ(lim.handshakes_per_second_per_source, 10);
    EXPECT_EQ(lim.handshake_burst_per_source, 40);
    EXPECT_EQ(lim.max_connections_per_source, 16U);
    EXPECT_EQ(lim.max_connections, 128U);
}

TEST(SourceTable, ConnectionRateIsABucketPerSource) {
    Limits lim;  // 20/s, burst 40
    lim.max_connections_per_source = 1000;
    SourceTable t(lim);
    const auto a = ip::make_address("127.0.0.2");
    // The redirect port's connections (no TLS) meet only the connection bucket.
    for (int i = 0; i < 40; ++i) ASSERT_EQ(t.try_connect(a, t0, false), Admit::ok) << i;
    EXPECT_EQ(t.try_connect(a, t0, false), Admit::connection_rate);
    EXPECT_EQ(t.connections(a), 40U);  // the refused one is not counted as a connection
    // Another source is not affected.
    EXPECT_EQ(t.try_connect(ip::make_address("127.0.0.3"), t0, false), Admit::ok);
    // 20 tokens per second come back: 50 ms is one connection.
    EXPECT_EQ(t.try_connect(a, t0 + 50ms, false), Admit::ok);
    EXPECT_EQ(t.try_connect(a, t0 + 50ms, false), Admit::connection_rate);
    // A full second refills 20, never more than the burst.
    for (int i = 0; i < 20; ++i) ASSERT_EQ(t.try_connect(a, t0 + 1050ms, false), Admit::ok) << i;
    EXPECT_EQ(t.try_connect(a, t0 + 1050ms, false), Admit::connection_rate);
}

TEST(SourceTable, RefusedAttemptsAtTheCapStillSpendConnectionTokens) {
    Limits lim;
    lim.max_connections_per_source = 1;
    lim.connection_burst_per_source = 3;
    lim.connections_per_second_per_source = 0.001;
    SourceTable t(lim);
    const auto a = ip::make_address("127.0.0.2");
    EXPECT_EQ(t.try_connect(a, t0, false), Admit::ok);
    EXPECT_EQ(t.try_connect(a, t0, false), Admit::source_cap);
    EXPECT_EQ(t.try_connect(a, t0, false), Admit::source_cap);
    t.disconnect(a, t0);
    EXPECT_EQ(t.try_connect(a, t0, false), Admit::connection_rate);
}

TEST(SourceTable, HandshakeRateOnlyForTls) {
    Limits lim;
    lim.handshake_burst_per_source = 10;  // handshakes 10/s, burst 10
    SourceTable t(lim);
    const auto a = ip::make_address("127.0.0.2");
    for (int i = 0; i < 10; ++i) {
        ASSERT_EQ(t.try_connect(a, t0, true), Admit::ok) << i;
        t.disconnect(a, t0);
    }
    EXPECT_EQ(t.try_connect(a, t0, true), Admit::handshake_rate);
    EXPECT_EQ(t.connections(a), 0U);
    // Plain connections (the redirect) need no handshake token.
    EXPECT_EQ(t.try_connect(a, t0, false), Admit::ok);
    // 100 ms gives one handshake back.
    EXPECT_EQ(t.try_connect(a, t0 + 100ms, true), Admit::ok);
    EXPECT_EQ(t.try_connect(a, t0 + 100ms, true), Admit::handshake_rate);
    EXPECT_EQ(t.try_connect(ip::make_address("127.0.0.3"), t0, true), Admit::ok);
}

TEST(TokenBucket, TakeRefillAndFull) {
    TokenBucket b(2, 2, 10.0);  // 2/s, burst 2, full at t = 10 s
    EXPECT_TRUE(b.full(10.0));
    EXPECT_FALSE(b.take(10.0));
    EXPECT_FALSE(b.take(10.0));
    const auto wait = b.take(10.0);
    ASSERT_TRUE(wait);
    EXPECT_EQ(*wait, 1s);
    EXPECT_FALSE(b.full(10.5));
    EXPECT_FALSE(b.take(10.5));  // one token back after 0.5 s
    EXPECT_TRUE(b.take(10.5));
    EXPECT_TRUE(b.take(9.0));  // a clock stepping back adds nothing
    EXPECT_TRUE(b.full(100.0));
}

}  // namespace
}  // namespace sg::web::http
