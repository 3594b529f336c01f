#include "core/sockets.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

namespace sg::core {
namespace {

constexpr std::string_view kTcp =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
    "inode\n"
    "   0: 0100007F:0FA1 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 "
    "111 1 0000000000000000 100 0 0 10 0\n"
    "   1: 0100007F:0FA1 0200007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 "
    "112 1 0000000000000000 100 0 0 10 0\n"
    "   2: 00000000:01BB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 "
    "113 1 0000000000000000 100 0 0 10 0\n"
    "   3: garbage\n";

TEST(CoreSockets, ParsesListeningTcpAndSkipsTheRest) {
    const auto all = parse_proc_net(kTcp, false, false, {});
    ASSERT_EQ(all.size(), 2u);  // the established one and the garbage line are skipped
    EXPECT_EQ(all[0], (BoundSocket{false, "127.0.0.1", 4001, 111}));
    EXPECT_EQ(all[1], (BoundSocket{false, "0.0.0.0", 443, 113}));
    const auto mine = parse_proc_net(kTcp, false, false, {113});
    ASSERT_EQ(mine.size(), 1u);
    EXPECT_EQ(mine[0].port, 443);
}

TEST(CoreSockets, ParsesIpv6) {
    const std::string_view text =
        "  sl  local_address                         remote_address                        st "
        "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 07 "
        "00000000:00000000 00:00000000 00000000     0        0 77 2 0000000000000000 0\n";
    const auto all = parse_proc_net(text, true, true, {});
    ASSERT_EQ(all.size(), 1u);
    EXPECT_EQ(all[0], (BoundSocket{true, "::1", 8080, 77}));
}

TEST(CoreSockets, FindsOwnListeningSocketAndNotAClosedOne) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(fd, 1), 0);
    socklen_t len = sizeof a;
    ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
    const auto port = ntohs(a.sin_port);
    auto has = [&] {
        const auto own = own_bound_sockets();
        return std::any_of(own.begin(), own.end(), [&](const BoundSocket& s) {
            return !s.udp && s.port == port && s.address == "127.0.0.1";
        });
    };
    EXPECT_TRUE(has());
    ::close(fd);
    EXPECT_FALSE(has());
}

}  // namespace
}  // namespace sg::core
