// connect.cpp: resolve, bind the designated local port, connect under a deadline. Called from the
// connect loops of TCP Client and Pair master, on the port strand; the resolver runs
// getaddrinfo() on Asio's private thread and completes back on the strand.
#include "modes/common/connect.h"

#include <variant>

namespace sg::modes::common {

using asio::ip::tcp;

namespace {

std::error_code open_and_bind(tcp::socket& socket, const tcp::endpoint& to,
                              std::uint16_t local_port) {
    boost::system::error_code ec;
    if (socket.open(to.protocol(), ec); ec) return ec;
    if (local_port == 0) return {};
    // Without SO_REUSEADDR the port of the last connection stays taken for TIME_WAIT (60 s on
    // Linux) after we closed it, and every reconnect in that minute would fail.
    if (socket.set_option(tcp::socket::reuse_address(true), ec); ec) return ec;
    const auto any = to.address().is_v6() ? asio::ip::address(asio::ip::address_v6::any())
                                          : asio::ip::address(asio::ip::address_v4::any());
    if (socket.bind(tcp::endpoint(any, local_port), ec); ec) return ec;
    return {};
}

}  // namespace

std::string host_port(const std::string& host, std::uint16_t port) {
    if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
    return host + ":" + std::to_string(port);
}

core::Task<std::error_code> connect(tcp::resolver& resolver, tcp::socket& socket,
                                    const std::string& host, std::uint16_t port,
                                    std::uint16_t local_port, std::chrono::milliseconds timeout,
                                    std::function<bool()> abandoned) {
    boost::system::error_code ignored;
    auto [rec, results] = co_await resolver.async_resolve(
        host, std::to_string(port), tcp::resolver::numeric_service, core::use_nothrow);
    if (rec) co_return rec;
    if (results.empty()) co_return std::make_error_code(std::errc::host_unreachable);

    std::error_code last = std::make_error_code(std::errc::host_unreachable);
    for (const auto& entry : results) {
        socket.close(ignored);
        // The caller stopped (or changed its mind) while the lookup or the last address was
        // pending: closing the socket then found nothing to abort.
        if (abandoned && abandoned()) co_return make_error_code(asio::error::operation_aborted);
        if (auto ec = open_and_bind(socket, entry.endpoint(), local_port)) {
            last = ec;
            socket.close(ignored);
            continue;
        }
        asio::steady_timer deadline(socket.get_executor(), timeout);
        using namespace asio::experimental::awaitable_operators;
        // The group waits for both: the loser is cancelled and completes before we go on, so
        // nothing refers to this frame afterwards.
        auto outcome = co_await (socket.async_connect(entry.endpoint(), core::use_nothrow) ||
                                 deadline.async_wait(core::use_nothrow));
        if (outcome.index() == 1) {
            last = std::make_error_code(std::errc::timed_out);
            socket.close(ignored);
            continue;
        }
        auto [cec] = std::get<0>(outcome);
        if (!cec) {
            socket.set_option(tcp::no_delay(true), ignored);  // serial traffic is latency-bound
            co_return std::error_code{};
        }
        socket.close(ignored);
        if (cec == asio::error::operation_aborted) co_return cec;  // stop() closed the socket
        last = cec;
    }
    co_return last;
}

}  // namespace sg::modes::common
