#include "modes/udp/udp_ranges.h"

#include <gtest/gtest.h>

namespace sg::modes::udp {
namespace {

std::vector<config::UdpDestination> two_ranges() {
    return {{"127.0.0.2", "127.0.0.4", 5000}, {"10.0.0.255", "10.0.1.1", 6000}};
}

TEST(UdpRanges, ContainsOnlyAddressesInsideARange) {
    auto r = Ranges::parse(two_ranges());
    ASSERT_TRUE(r.ok());
    using asio::ip::make_address;
    EXPECT_FALSE(r->contains(make_address("127.0.0.1")));
    EXPECT_TRUE(r->contains(make_address("127.0.0.2")));
    EXPECT_TRUE(r->contains(make_address("127.0.0.4")));
    EXPECT_FALSE(r->contains(make_address("127.0.0.5")));
    EXPECT_TRUE(r->contains(make_address("10.0.1.0")));  // a range may cross an octet boundary
    EXPECT_FALSE(r->contains(make_address("10.0.1.2")));
    EXPECT_TRUE(r->contains(make_address("::ffff:127.0.0.3")));  // from an IPv6 socket
    EXPECT_FALSE(r->contains(make_address("::1")));
}

TEST(UdpRanges, EndpointsListEveryAddressWithItsPort) {
    auto r = Ranges::parse(two_ranges());
    ASSERT_TRUE(r.ok());
    auto eps = r->endpoints(false);
    ASSERT_EQ(eps.size(), 6u);
    EXPECT_EQ(eps[0].address().to_string(), "127.0.0.2");
    EXPECT_EQ(eps[2].address().to_string(), "127.0.0.4");
    EXPECT_EQ(eps[2].port(), 5000);
    EXPECT_EQ(eps[3].address().to_string(), "10.0.0.255");
    EXPECT_EQ(eps[5].address().to_string(), "10.0.1.1");
    EXPECT_EQ(eps[5].port(), 6000);
    auto v6 = r->endpoints(true);
    EXPECT_EQ(v6[0].address().to_string(), "::ffff:127.0.0.2");
}

TEST(UdpRanges, OneHostWhenEndIsEmpty) {
    auto r = Ranges::parse({{"192.168.1.9", "", 4001}});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->endpoints(false).size(), 1u);
}

TEST(UdpRanges, RefusesWhatConfigWouldRefuse) {
    EXPECT_FALSE(Ranges::parse({{"host.example", "", 4001}}).ok());
    EXPECT_FALSE(Ranges::parse({{"10.0.0.5", "10.0.0.4", 4001}}).ok());
    EXPECT_FALSE(Ranges::parse({{"10.0.0.0", "10.0.1.0", 4001}}).ok());   // 257 addresses
    EXPECT_TRUE(Ranges::parse({{"10.0.0.0", "10.0.0.255", 4001}}).ok());  // 256
    EXPECT_TRUE(Ranges::parse({}).ok());
}

}  // namespace
}  // namespace sg::modes::udp
