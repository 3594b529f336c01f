#include "modes/common/connect.h"

#include <gtest/gtest.h>

#include "serial/test_util.h"

namespace sg::modes::common {
namespace {

using asio::ip::tcp;
using serial::testing::run;

class ConnectTest : public ::testing::Test {
protected:
    asio::io_context io_;
    core::Strand strand_ = asio::make_strand(io_);
    tcp::acceptor acceptor_{strand_, {asio::ip::make_address("127.0.0.1"), 0}};
    tcp::resolver resolver_{strand_};
    tcp::socket socket_{strand_};

    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

    /// Whether a connection is waiting in the listen queue (a connect reached the acceptor).
    bool someone_connected() {
        acceptor_.non_blocking(true);
        boost::system::error_code ec;
        tcp::socket s(io_);
        acceptor_.accept(s, ec);
        return !ec;
    }
};

TEST_F(ConnectTest, Connects) {
    const auto ec = run(io_, strand_, connect(resolver_, socket_, "127.0.0.1", port(), 0));
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_TRUE(socket_.is_open());
    EXPECT_TRUE(someone_connected());
}

TEST_F(ConnectTest, AbandonedAfterTheLookupDoesNotConnect) {
    // A stop that came while the name lookup ran (which resolver.cancel() cannot interrupt) is
    // seen before any connect is made.
    int asked = 0;
    const auto ec =
        run(io_, strand_, connect(resolver_, socket_, "127.0.0.1", port(), 0, kConnectTimeout, [&] {
                ++asked;
                return true;
            }));
    EXPECT_EQ(ec, std::error_code(make_error_code(asio::error::operation_aborted)));
    EXPECT_EQ(asked, 1);
    EXPECT_FALSE(socket_.is_open());
    EXPECT_FALSE(someone_connected());
}

TEST_F(ConnectTest, NotAbandonedConnects) {
    const auto ec = run(
        io_, strand_,
        connect(resolver_, socket_, "127.0.0.1", port(), 0, kConnectTimeout, [] { return false; }));
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_TRUE(someone_connected());
}

}  // namespace
}  // namespace sg::modes::common
