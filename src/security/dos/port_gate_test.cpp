#include "security/dos/port_gate.h"

#include <gtest/gtest.h>

namespace sg::security::dos {
namespace {

using namespace std::chrono_literals;

Address ip(const char* s) {
    return boost::asio::ip::make_address(s);
}

config::SerialDosSettings small() {
    config::SerialDosSettings s;
    s.max_connections_per_source = 2;
    s.connections_per_second_per_source = 2;
    s.connection_burst_per_source = 3;
    s.handshakes_per_second_per_source = 1;
    s.handshake_burst_per_source = 2;
    s.datagrams_per_second_per_source = 10;
    s.datagram_burst_per_source = 10;
    return s;
}

TEST(DosPortGate, ConnectionRatePerSourceWithBurstAndRefill) {
    Policy policy;
    policy.set(small());
    PortGate gate(policy);
    const auto t0 = Clock::time_point(100s);
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(gate.admit_connection(ip("127.0.0.2"), 0, t0), Verdict::ok);
    EXPECT_EQ(gate.admit_connection(ip("127.0.0.2"), 0, t0), Verdict::connection_rate);
    // Another source has its own bucket.
    EXPECT_EQ(gate.admit_connection(ip("127.0.0.3"), 0, t0), Verdict::ok);
    // Half a second later one token is back (2/s).
    EXPECT_EQ(gate.admit_connection(ip("127.0.0.2"), 0, t0 + 500ms), Verdict::ok);
    EXPECT_EQ(gate.admit_connection(ip("127.0.0.2"), 0, t0 + 500ms), Verdict::connection_rate);
    // The IPv4-mapped form is the same source.
    EXPECT_EQ(gate.admit_connection(ip("::ffff:127.0.0.2"), 0, t0 + 500ms),
              Verdict::connection_rate);
}

TEST(DosPortGate, ConcurrentConnectionsPerSource) {
    Policy policy;
    policy.set(small());
    PortGate gate(policy);
    const auto t0 = Clock::time_point(100s);
    EXPECT_EQ(gate.admit_connection(ip("10.0.0.1"), 1, t0), Verdict::ok);
    EXPECT_EQ(gate.admit_connection(ip("10.0.0.1"), 2, t0), Verdict::source_cap);
    EXPECT_EQ(gate.describe(Verdict::source_cap), "per-source connection limit (2 open)");
}

TEST(DosPortGate, HandshakeAndDatagramRates) {
    Policy policy;
    policy.set(small());
    PortGate gate(policy);
    const auto t0 = Clock::time_point(100s);
    EXPECT_EQ(gate.admit_handshake(ip("10.0.0.1"), t0), Verdict::ok);
    EXPECT_EQ(gate.admit_handshake(ip("10.0.0.1"), t0), Verdict::ok);
    EXPECT_EQ(gate.admit_handshake(ip("10.0.0.1"), t0), Verdict::handshake_rate);
    EXPECT_EQ(gate.admit_handshake(ip("10.0.0.1"), t0 + 1s), Verdict::ok);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(gate.admit_datagram(ip("10.0.0.1"), t0), Verdict::ok);
    EXPECT_EQ(gate.admit_datagram(ip("10.0.0.1"), t0), Verdict::datagram_rate);
    EXPECT_EQ(gate.describe(Verdict::datagram_rate), "datagram rate above 10/s (burst 10)");
}

TEST(DosPortGate, OffAdmitsEverything) {
    Policy policy;
    auto s = small();
    s.enabled = false;
    policy.set(s);
    PortGate gate(policy);
    const auto t0 = Clock::time_point(100s);
    for (int i = 0; i < 100; ++i) {
        EXPECT_EQ(gate.admit_connection(ip("10.0.0.1"), 50, t0), Verdict::ok);
        EXPECT_EQ(gate.admit_datagram(ip("10.0.0.1"), t0), Verdict::ok);
    }
    EXPECT_EQ(gate.sources(), 0u);
}

TEST(DosPortGate, ChangedPolicyAppliesToTheNextCheck) {
    Policy policy;
    policy.set(small());
    PortGate gate(policy);
    const auto t0 = Clock::time_point(100s);
    for (int i = 0; i < 3; ++i) (void)gate.admit_connection(ip("10.0.0.1"), 0, t0);
    EXPECT_EQ(gate.admit_connection(ip("10.0.0.1"), 0, t0), Verdict::connection_rate);
    auto s = small();
    s.connection_burst_per_source = 5;
    EXPECT_TRUE(policy.set(s));
    EXPECT_FALSE(policy.set(s));
    EXPECT_EQ(gate.admit_connection(ip("10.0.0.1"), 0, t0), Verdict::ok);  // restarted full
}

TEST(DosPortGate, TableStaysBoundedAndOverflowIsStillLimited) {
    Policy policy;
    policy.set(small());
    PortGate gate(policy, 4);
    const auto t0 = Clock::time_point(100s);
    // Four sources fill the table with half-empty buckets (nothing forgettable).
    for (int i = 1; i <= 4; ++i) {
        const auto a = ip(("10.0.0." + std::to_string(i)).c_str());
        EXPECT_EQ(gate.admit_connection(a, 0, t0), Verdict::ok);
    }
    EXPECT_EQ(gate.sources(), 4u);
    // A spray of further addresses shares one overflow entry: 3 (the burst), then refused.
    int ok = 0;
    for (int i = 5; i < 1000; ++i) {
        const auto a =
            ip(("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256)).c_str());
        if (gate.admit_connection(a, 0, t0) == Verdict::ok) ++ok;
    }
    EXPECT_EQ(ok, 3);
    EXPECT_EQ(gate.sources(), 4u);
    EXPECT_TRUE(gate.overflowing());
    // Once their buckets are full again the tracked sources are forgotten and a new one has its
    // own entry.
    EXPECT_EQ(gate.admit_connection(ip("192.0.2.1"), 0, t0 + 10s), Verdict::ok);
    EXPECT_EQ(gate.sources(), 1u);
    EXPECT_FALSE(gate.overflowing());
}

}  // namespace
}  // namespace sg::security::dos
