// tcp_options.cpp: keepalive and peer-address helpers for accepted and connected sockets.
#include "modes/common/tcp_options.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace sg::modes::common {

void set_alive_check(asio::ip::tcp::socket& s, std::uint8_t minutes) {
    const int fd = s.native_handle();
    int on = minutes != 0 ? 1 : 0;
    ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    if (minutes == 0) return;
    int idle = minutes * 60;
    int interval = 10;
    int count = 6;
    unsigned int user_timeout_ms = static_cast<unsigned int>(idle + interval * count) * 1000U;
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
    ::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms, sizeof user_timeout_ms);
}

boost::system::error_code listen(asio::ip::tcp::acceptor& acceptor, const std::string& address,
                                 std::uint16_t port) {
    using asio::ip::tcp;
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(address, ec);
    if (ec) return ec;
    tcp::endpoint ep(addr, port);
    if (acceptor.open(ep.protocol(), ec); ec) return ec;
    if (acceptor.set_option(tcp::acceptor::reuse_address(true), ec); ec) return ec;
    if (acceptor.bind(ep, ec); ec) return ec;
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
    return ec;
}

asio::ip::address peer_address(const asio::ip::tcp::socket& s) {
    boost::system::error_code ec;
    const auto ep = s.remote_endpoint(ec);
    return ec ? asio::ip::address() : ep.address();
}

std::string peer_string(const asio::ip::tcp::socket& s) {
    boost::system::error_code ec;
    auto ep = s.remote_endpoint(ec);
    if (ec) return "?";
    return endpoint_string(ep);
}

std::string endpoint_string(const asio::ip::tcp::endpoint& ep) {
    if (ep.address().is_v6()) {
        return std::string("[").append(ep.address().to_string()) + "]:" + std::to_string(ep.port());
    }
    return ep.address().to_string() + ":" + std::to_string(ep.port());
}

}  // namespace sg::modes::common
