#include "modes/common/stream_writer.h"

#include <gtest/gtest.h>

#include <string>

namespace sg::modes::common {
namespace {

using asio::ip::tcp;

std::span<const std::byte> bytes_of(const std::string& s) {
    return std::as_bytes(std::span(s.data(), s.size()));
}

class StreamWriterTest : public ::testing::Test {
protected:
    StreamWriterTest() {
        tcp::acceptor acceptor(io_, {asio::ip::make_address("127.0.0.1"), 0});
        client_.connect(acceptor.local_endpoint());
        acceptor.accept(server_.socket());
        server_.socket().non_blocking(true);
    }

    std::string received(std::size_t n) {
        std::string s(n, '\0');
        asio::read(client_, asio::buffer(s.data(), s.size()));
        return s;
    }

    asio::io_context io_;
    core::Strand strand_ = asio::make_strand(io_);
    Stream server_{tcp::socket{io_}};
    tcp::socket client_{io_};
    StreamWriter out_{strand_};
};

TEST_F(StreamWriterTest, TryWriteGoesStraightIntoAnIdleSocket) {
    boost::system::error_code ec;
    EXPECT_EQ(out_.try_write(server_, bytes_of("hello"), ec), 5u);
    EXPECT_FALSE(ec);
    EXPECT_EQ(out_.queued(), 0u);
    EXPECT_EQ(received(5), "hello");
}

TEST_F(StreamWriterTest, TryWriteNeverOvertakesQueuedBytes) {
    out_.push(make_chunk(bytes_of("first")));
    boost::system::error_code ec;
    EXPECT_EQ(out_.try_write(server_, bytes_of("second"), ec), 0u);
    EXPECT_FALSE(ec);
    std::size_t available = client_.available();
    EXPECT_EQ(available, 0u);  // nothing went past the queue
}

TEST_F(StreamWriterTest, TryWriteTakesNothingAfterFinishOrAbort) {
    boost::system::error_code ec;
    out_.finish();
    EXPECT_EQ(out_.try_write(server_, bytes_of("x"), ec), 0u);
    StreamWriter other(strand_);
    other.abort();
    EXPECT_EQ(other.try_write(server_, bytes_of("x"), ec), 0u);
    EXPECT_EQ(client_.available(), 0u);
}

TEST_F(StreamWriterTest, TryWriteOnAFullSocketTakesWhatFitsAndNeverBlocks) {
    // The client never reads: the socket fills, and try_write returns short / 0 without error.
    std::string big(1 << 20, 'x');
    boost::system::error_code ec;
    std::size_t total = 0;
    for (int i = 0; i < 64; ++i) {
        const std::size_t n = out_.try_write(server_, bytes_of(big), ec);
        ASSERT_FALSE(ec) << ec.message();
        total += n;
        if (n == 0) break;
    }
    EXPECT_GT(total, 0u);
    EXPECT_LT(total, 64u * big.size());
}

TEST_F(StreamWriterTest, TryWriteReportsAFailedSocket) {
    client_.close();
    boost::system::error_code ec;
    // The first write may still be accepted by the kernel; a later one sees the reset.
    for (int i = 0; i < 100 && !ec; ++i) (void)out_.try_write(server_, bytes_of("data"), ec);
    EXPECT_TRUE(ec);
}

TEST_F(StreamWriterTest, RunWritesManyChunksInOrderAcrossItsBatches) {
    // More chunks than one gathered write takes (64), pushed while earlier ones are written: the
    // queue's storage is compacted and given back as it drains; the bytes arrive whole, in order.
    std::string expected;
    for (int i = 0; i < 300; ++i) {
        const std::string piece = std::to_string(i) + ";";
        expected += piece;
        out_.push(make_chunk(bytes_of(piece)));
    }
    std::size_t written = 0;
    bool done = false;
    asio::co_spawn(
        strand_,
        [&]() -> core::Task<void> {
            const auto ec = co_await out_.run(server_, [&](std::size_t n) {
                written += n;
                if (written == expected.size()) out_.finish();
            });
            EXPECT_FALSE(ec) << ec.message();
            done = true;
        },
        asio::detached);
    io_.run();
    EXPECT_TRUE(done);
    EXPECT_EQ(out_.queued(), 0u);
    EXPECT_EQ(received(expected.size()), expected);
}

}  // namespace
}  // namespace sg::modes::common
