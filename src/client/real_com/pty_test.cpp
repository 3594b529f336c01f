// pty_test.cpp: the pty facts client.cpp relies on (pty.h), checked against the running kernel:
// hang-up detection before the first and after the last open, the slave's termios seen through
// the master, packet-mode flush notifications — and the limitation docs/realcom-client.md states
// (a Linux pty forces CS8 and clears PARENB), so that a kernel that changes it fails here.
#include "client/real_com/pty.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <termios.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <thread>

namespace sg::client::real_com {
namespace {

class PtyTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto p = pty::open_pair();
        ASSERT_TRUE(p) << p.error().message;
        pair_ = *p;
    }
    void TearDown() override {
        if (slave_ >= 0) ::close(slave_);
        ::close(pair_.master);
    }
    void open_slave() {
        slave_ = ::open(pair_.slave_path.c_str(), O_RDWR | O_NOCTTY);
        ASSERT_GE(slave_, 0) << pair_.slave_path;
    }
    /// The next packet-mode read of the master, waiting up to a second for it.
    std::vector<std::byte> read_master() {
        std::array<std::byte, 4097> buf{};
        for (int i = 0; i < 100; ++i) {
            const ssize_t n = ::read(pair_.master, buf.data(), buf.size());
            if (n > 0) return {buf.begin(), buf.begin() + n};
            if (n < 0 && errno != EAGAIN) return {};
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return {};
    }
    pty::Pair pair_;
    int slave_ = -1;
};

TEST_F(PtyTest, HungUpUntilAnApplicationOpensAndAfterItCloses) {
    EXPECT_TRUE(pty::poll_now(pair_.master).hung_up) << "before the first open";
    open_slave();
    EXPECT_FALSE(pty::poll_now(pair_.master).hung_up);
    ::close(slave_);
    slave_ = -1;
    EXPECT_TRUE(pty::poll_now(pair_.master).hung_up) << "after the last close";
}

TEST_F(PtyTest, StartsAt9600AndSeesTheApplicationsTermios) {
    auto l = pty::read_line(pair_.master);
    ASSERT_TRUE(l) << l.error().message;
    EXPECT_EQ(l->baud, 9600U);
    open_slave();
    termios t{};
    ASSERT_EQ(::tcgetattr(slave_, &t), 0);
    ::cfmakeraw(&t);
    ::cfsetspeed(&t, B57600);
    t.c_cflag |= CSTOPB | CRTSCTS | HUPCL;
    t.c_iflag |= IXON;
    t.c_cc[VSTART] = 0x05;
    ASSERT_EQ(::tcsetattr(slave_, TCSANOW, &t), 0);
    l = pty::read_line(pair_.master);
    ASSERT_TRUE(l);
    EXPECT_EQ(l->baud, 57600U);
    EXPECT_TRUE(l->two_stop_bits);
    EXPECT_TRUE(l->rts_cts);
    EXPECT_TRUE(l->ixon);
    EXPECT_FALSE(l->ixoff);
    EXPECT_TRUE(l->hupcl);
    EXPECT_EQ(l->xon, 0x05);
    EXPECT_EQ(l->xoff, 0x13);
    ::cfsetspeed(&t, B0);
    ASSERT_EQ(::tcsetattr(slave_, TCSANOW, &t), 0);
    EXPECT_EQ(pty::read_line(pair_.master)->baud, 0U);
}

TEST_F(PtyTest, KernelForcesEightDataBitsWithoutParityOnAPty) {
    // Why --data-bits/--parity exist (docs/realcom-client.md): drivers/tty/pty.c overwrites
    // CSIZE and PARENB on every change. If this fails, the kernel now keeps them and the
    // client could read them from the pty.
    open_slave();
    termios t{};
    ASSERT_EQ(::tcgetattr(slave_, &t), 0);
    t.c_cflag = (t.c_cflag & ~CSIZE) | CS7 | PARENB;
    // glibc reads the line back and, finding nothing of the request applied, reports EINVAL
    // (pyserial raises it when only parity or data bits change): the result is what counts.
    (void)::tcsetattr(slave_, TCSANOW, &t);
    termios seen{};
    ASSERT_EQ(::tcgetattr(pair_.master, &seen), 0);
    EXPECT_EQ(seen.c_cflag & CSIZE, static_cast<tcflag_t>(CS8));
    EXPECT_EQ(seen.c_cflag & PARENB, 0U);
}

TEST_F(PtyTest, PacketModeReportsDataAndFlushes) {
    open_slave();
    ASSERT_EQ(::write(slave_, "hi", 2), 2);
    auto data = read_master();
    auto p = pty::decode(data);
    ASSERT_EQ(p.data.size(), 2U);
    EXPECT_EQ(static_cast<char>(p.data[0]), 'h');
    EXPECT_FALSE(p.flush_read || p.flush_write || p.termios);

    ASSERT_EQ(::tcflush(slave_, TCIFLUSH), 0);
    p = pty::decode(read_master());
    EXPECT_TRUE(p.flush_read);
    EXPECT_FALSE(p.flush_write);
    EXPECT_TRUE(p.data.empty());

    ASSERT_EQ(::tcflush(slave_, TCOFLUSH), 0);
    p = pty::decode(read_master());
    EXPECT_TRUE(p.flush_write);
    EXPECT_FALSE(p.flush_read);
}

TEST(PtyDecode, StatusByteMeanings) {
    const std::array<std::byte, 1> ioctl{std::byte{0x40}};  // TIOCPKT_IOCTL
    EXPECT_TRUE(pty::decode(ioctl).termios);
    const std::array<std::byte, 1> both{std::byte{0x03}};
    auto p = pty::decode(both);
    EXPECT_TRUE(p.flush_read && p.flush_write);
    EXPECT_TRUE(pty::decode({}).data.empty());
}

}  // namespace
}  // namespace sg::client::real_com
