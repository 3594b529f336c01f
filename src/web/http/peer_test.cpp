#include "web/http/peer.h"

#include <gtest/gtest.h>

namespace sg::web::http {
namespace {

TEST(Peer, ToString) {
    EXPECT_EQ((Peer{boost::asio::ip::make_address("10.0.0.1"), 51234}.to_string()),
              "10.0.0.1:51234");
    EXPECT_EQ((Peer{boost::asio::ip::make_address("::1"), 443}.to_string()), "[::1]:443");
}

}  // namespace
}  // namespace sg::web::http
