// allowlist_test.cpp: the mask rule (NE-2), IPv6 prefixes, IPv4-mapped peers, `all`, off = all
// allowed, the Gate's swap, and the refusal log's rate limit with folded counts (AU-2).
#include "security/allowlist/allowlist.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace sg::security::allowlist {
namespace {

Address a(const char* s) {
    return boost::asio::ip::make_address(s);
}

Allowlist list(std::vector<std::string> entries, bool enabled = true) {
    return Allowlist(config::AllowlistSettings{.enabled = enabled, .entries = std::move(entries)});
}

config::AllowRule rule(const char* s) {
    return std::get<config::AllowRule>(config::parse_allow_entry(s));
}

TEST(AllowlistMatch, MaskRule) {
    // (src AND mask) == (entry AND mask): host bits of the entry do not matter.
    EXPECT_TRUE(matches(rule("192.168.1.0/255.255.255.0"), a("192.168.1.254")));
    EXPECT_TRUE(matches(rule("192.168.1.77/24"), a("192.168.1.1")));
    EXPECT_FALSE(matches(rule("192.168.1.0/24"), a("192.168.2.1")));
    // guide §3.5's table: .1-.126 and .129-.254 with a /25 mask.
    EXPECT_TRUE(matches(rule("192.168.1.0/255.255.255.128"), a("192.168.1.126")));
    EXPECT_FALSE(matches(rule("192.168.1.0/255.255.255.128"), a("192.168.1.129")));
    EXPECT_TRUE(matches(rule("192.168.1.128/255.255.255.128"), a("192.168.1.129")));
    EXPECT_TRUE(matches(rule("192.168.0.0/255.255.0.0"), a("192.168.255.254")));
    // One host.
    EXPECT_TRUE(matches(rule("127.0.0.2"), a("127.0.0.2")));
    EXPECT_FALSE(matches(rule("127.0.0.2"), a("127.0.0.3")));
    EXPECT_TRUE(matches(rule("127.0.0.2/255.255.255.255"), a("127.0.0.2")));
    // /0 matches every IPv4 address, no IPv6 one.
    EXPECT_TRUE(matches(rule("0.0.0.0/0"), a("203.0.113.9")));
    EXPECT_FALSE(matches(rule("0.0.0.0/0"), a("2001:db8::1")));
}

TEST(AllowlistMatch, Ipv6PrefixesAndMappedAddresses) {
    EXPECT_TRUE(matches(rule("2001:db8::/32"), a("2001:db8:ffff::1")));
    EXPECT_FALSE(matches(rule("2001:db8::/32"), a("2001:db9::1")));
    EXPECT_TRUE(matches(rule("2001:db8:8000::/33"), a("2001:db8:8000::1")));
    EXPECT_FALSE(matches(rule("2001:db8:8000::/33"), a("2001:db8:7fff::1")));
    EXPECT_TRUE(matches(rule("::1"), a("::1")));
    EXPECT_FALSE(matches(rule("::1"), a("127.0.0.1")));
    // A dual-stack socket's ::ffff:a.b.c.d is matched by IPv4 entries, not IPv6 ones.
    EXPECT_TRUE(matches(rule("127.0.0.0/24"), a("::ffff:127.0.0.2")));
    EXPECT_FALSE(matches(rule("127.0.0.2"), a("::ffff:127.0.0.3")));
    EXPECT_FALSE(matches(rule("::ffff:0:0/96"), a("::ffff:127.0.0.2")));
    // `all` matches both families.
    EXPECT_TRUE(matches(rule("all"), a("10.1.2.3")));
    EXPECT_TRUE(matches(rule("all"), a("fe80::1")));
}

TEST(Allowlist, OffAllowsAllOnAllowsOnlyEntries) {
    EXPECT_TRUE(Allowlist().allows(a("203.0.113.1")));
    EXPECT_TRUE(list({"127.0.0.2"}, false).allows(a("203.0.113.1")));
    const Allowlist l = list({"127.0.0.2", "10.0.0.0/8", "2001:db8::/32"});
    EXPECT_TRUE(l.enabled());
    EXPECT_TRUE(l.allows(a("127.0.0.2")));
    EXPECT_TRUE(l.allows(a("10.200.0.1")));
    EXPECT_TRUE(l.allows(a("2001:db8::5")));
    EXPECT_FALSE(l.allows(a("127.0.0.3")));
    EXPECT_FALSE(l.allows(a("::1")));
    EXPECT_TRUE(list({"all"}).allows(a("::1")));
}

TEST(Gate, SwapsTheListAndLogsRefusalsOncePerSource) {
    const auto dir = std::filesystem::temp_directory_path() /
                     ("sg_allowlist_test_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    auto store = store::Store::open(dir);
    ASSERT_TRUE(store.ok());
    {
        events::Log log(**store);
        Gate gate(log);
        EXPECT_TRUE(gate.allows(a("127.0.0.3")));  // off until set
        const auto before = gate.current();
        EXPECT_TRUE(gate.set({.enabled = true, .entries = {"127.0.0.2"}}));
        EXPECT_FALSE(gate.set({.enabled = true, .entries = {"127.0.0.2"}}));  // no change
        EXPECT_FALSE(gate.allows(a("127.0.0.3")));
        EXPECT_TRUE(gate.allows(a("::ffff:127.0.0.2")));
        EXPECT_TRUE(before->allows(a("127.0.0.3")));  // a reader's snapshot stays whole
        // The mapped and the plain spelling of one host share one window.
        gate.refused(a("::ffff:127.0.0.3"), "https");
        gate.refused(a("127.0.0.3"), "port 1 (4001)");
        log.flush();
        auto rows = events::read(**store, {.type = std::string("security.allowlist_refused")});
        ASSERT_TRUE(rows.ok());
        ASSERT_EQ(rows->size(), 1u);
        EXPECT_EQ((*rows)[0].source, "127.0.0.3");
        EXPECT_EQ((*rows)[0].category, events::Category::Security);
        EXPECT_EQ((*rows)[0].severity, events::Severity::Warning);
        EXPECT_EQ((*rows)[0].message, "refused on https");
    }
    store->reset();
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sg::security::allowlist
