// tty_write_test.cpp: write_tty() and the bulk lane (issue 12 item 2; tty_write.h). Counts where
// the writer waits; never times anything.
#include "serial/tty_write.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "core/bulk_lane.h"

namespace sg::serial {
namespace {

class TtyWriteLane : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_EQ(::openpty(&master_, &slave_, nullptr, nullptr, nullptr), 0);
        termios t{};
        ASSERT_EQ(::tcgetattr(slave_, &t), 0);
        ::cfmakeraw(&t);
        ASSERT_EQ(::tcsetattr(slave_, TCSANOW, &t), 0);
        ASSERT_EQ(::fcntl(slave_, F_SETFL, ::fcntl(slave_, F_GETFL) | O_NONBLOCK), 0);
        ASSERT_EQ(::fcntl(master_, F_SETFL, ::fcntl(master_, F_GETFL) | O_NONBLOCK), 0);
    }
    void TearDown() override {
        if (master_ >= 0) ::close(master_);
    }

    /// Writes to the slave until the pty takes no more.
    std::size_t fill() {
        std::vector<char> junk(4096, 'j');
        std::size_t n = 0;
        for (;;) {
            const ssize_t w = ::write(slave_, junk.data(), junk.size());
            if (w <= 0) break;
            n += static_cast<std::size_t>(w);
        }
        return n;
    }
    /// Reads what the master has now.
    std::string drain() {
        std::string out;
        char buf[8192];
        for (;;) {
            const ssize_t r = ::read(master_, buf, sizeof buf);
            if (r <= 0) break;
            out.append(buf, static_cast<std::size_t>(r));
        }
        return out;
    }

    asio::io_context io_{1};
    int master_ = -1;
    int slave_ = -1;
};

// A bulk write that finds the tty full while another streaming turn waits in the lane goes to the
// back of the lane, not to the reactor: it is in the lane before any wait for room was started,
// and once the reader drained the tty it finishes from there, every byte in order.
TEST_F(TtyWriteLane, AFullTtyWhileOthersStreamSendsTheWriterBackToTheLane) {
    core::BulkLane& lane = core::BulkLane::of(io_);
    lane.set_limits(1, std::chrono::microseconds(1'000'000));
    auto strand = asio::make_strand(io_);
    asio::posix::stream_descriptor tty(strand, slave_);
    const std::size_t filled = fill();
    ASSERT_GT(filled, 0U);

    // Another streaming turn: parked in the lane until the test lets it go.
    bool other_stop = false;
    std::size_t other_turns = 0;
    asio::co_spawn(
        asio::make_strand(io_),
        [&]() -> core::Task<void> {
            while (!other_stop) {
                ++other_turns;
                co_await lane.yield();
            }
        },
        asio::detached);
    io_.poll_one();  // the other turn is in the lane now
    ASSERT_EQ(lane.waiting(), 1U);

    std::string payload(16 * 1024, '\0');
    for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>('a' + i % 26);
    bool done = false;
    std::error_code result;
    std::size_t written = 0;
    asio::co_spawn(
        strand,
        [&]() -> core::Task<void> {
            auto [ec, n] =
                co_await write_tty(tty, std::as_bytes(std::span(payload.data(), payload.size())));
            result = ec;
            written = n;
            done = true;
        },
        asio::detached);
    // Run until the writer has made its first attempt: it found the tty full and joined the lane.
    for (int i = 0; i < 10 && lane.waiting() < 2; ++i) io_.poll_one();
    EXPECT_EQ(lane.waiting(), 2U) << "the writer waited in the reactor, not in the lane";

    // The reader takes everything; the writer finishes from the lane.
    std::string got = drain();
    for (int i = 0; i < 100000 && !done; ++i) {
        io_.poll_one();
        got += drain();
    }
    other_stop = true;
    io_.poll();
    got += drain();
    ASSERT_TRUE(done);
    EXPECT_FALSE(result) << result.message();
    EXPECT_EQ(written, payload.size());
    ASSERT_EQ(got.size(), filled + payload.size());
    EXPECT_EQ(got.substr(filled), payload);
    EXPECT_GT(other_turns, 1U);  // the lane kept serving the other turn too
}

// With no other streaming turn in the lane, a full tty is waited for in the reactor at once (one
// port streaming alone pays no extra lane trip).
TEST_F(TtyWriteLane, AFullTtyAloneWaitsForRoom) {
    core::BulkLane& lane = core::BulkLane::of(io_);
    auto strand = asio::make_strand(io_);
    asio::posix::stream_descriptor tty(strand, slave_);
    const std::size_t filled = fill();
    std::string payload(16 * 1024, 'z');
    bool done = false;
    asio::co_spawn(
        strand,
        [&]() -> core::Task<void> {
            (void)co_await write_tty(tty, std::as_bytes(std::span(payload.data(), payload.size())));
            done = true;
        },
        asio::detached);
    io_.poll();
    EXPECT_FALSE(done);
    EXPECT_EQ(lane.waiting(), 0U);  // waiting for room, not in the lane
    std::string got = drain();
    for (int i = 0; i < 100000 && !done; ++i) {
        io_.poll_one();
        got += drain();
    }
    io_.poll();
    got += drain();
    EXPECT_TRUE(done);
    EXPECT_EQ(got.size(), filled + payload.size());
}

}  // namespace
}  // namespace sg::serial
