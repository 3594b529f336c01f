#include "serial/termios_device.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <array>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <optional>
#include <thread>
#include <tuple>
#include <vector>

#include "serial/test_util.h"
#include "serial/tty_write.h"

namespace sg::serial {
namespace {

using testing::bytes_of;
using testing::read_exactly;
using testing::run;

// A pty pair: the test holds the master, the device under test opens the slave by path, as a
// port configured with a pty path would.
class Pty {
public:
    Pty() {
        int slave = -1;
        char name[128] = {};
        if (::openpty(&master_, &slave, name, nullptr, nullptr) != 0) return;
        ::close(slave);  // the device opens it by name
        path_ = name;
    }
    ~Pty() {
        if (master_ >= 0) ::close(master_);
    }
    Pty(const Pty&) = delete;
    Pty& operator=(const Pty&) = delete;

    const std::string& path() const { return path_; }
    int master() const { return master_; }
    /// Hands the master fd to an asio descriptor (which then owns it).
    int release_master() { return std::exchange(master_, -1); }

private:
    int master_ = -1;
    std::string path_;
};

config::SerialSettings plain(std::uint32_t baud = 115200) {
    config::SerialSettings s;
    s.baud = baud;
    s.flow_control = config::FlowControl::None;
    return s;
}

core::Task<std::string> read_master(asio::posix::stream_descriptor& master, std::size_t n) {
    std::string out(n, '\0');
    auto [ec, k] = co_await asio::async_read(master, asio::buffer(out), core::use_nothrow);
    if (ec) co_return "<error: " + ec.message() + ">";
    co_return out;
}

core::Task<std::error_code> write_master(asio::posix::stream_descriptor& master, std::string s) {
    auto [ec, k] = co_await asio::async_write(master, asio::buffer(s), core::use_nothrow);
    co_return std::error_code(ec);
}

/// The test ptys are outside the default system.allowed_devices (serial::open checks it).
const std::vector<std::string> kPtys{"/dev/pts/*"};

class TermiosDeviceTest : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_FALSE(pty_.path().empty()) << "openpty failed"; }

    DevicePtr open_slave(const config::SerialSettings& s = plain()) {
        auto dev = open(strand_, pty_.path(), s, kPtys);
        EXPECT_TRUE(dev.ok()) << (dev.ok() ? "" : dev.error().message);
        return dev.ok() ? std::move(dev).value() : nullptr;
    }

    asio::io_context io_;
    core::Strand strand_ = asio::make_strand(io_);
    Pty pty_;
};

TEST_F(TermiosDeviceTest, BytesBothWays) {
    asio::posix::stream_descriptor master(strand_, pty_.release_master());
    // Default settings on purpose: rts_cts on a pty must not block writes.
    auto dev = open_slave(config::SerialSettings{});
    ASSERT_TRUE(dev);
    // Raw mode: CR, LF, 0x03 (^C) and 0xFF pass untouched in both directions.
    const std::string out = "hello\r\n\x03\xff";
    EXPECT_FALSE(run(io_, strand_, testing::write_string(*dev, out)));
    EXPECT_EQ(run(io_, strand_, read_master(master, out.size())), out);

    const std::string in("world\r\n\x1a\x00z", 10);  // ^Z and NUL too
    EXPECT_FALSE(run(io_, strand_, write_master(master, in)));
    EXPECT_EQ(run(io_, strand_, read_exactly(*dev, in.size())), in);
}

TEST_F(TermiosDeviceTest, AWriteFarBeyondThePtyBufferArrivesWholeAndInOrder) {
    // write() hands the tty kTtyWriteChunk bytes per write(2) (tty_write.h); 256 KiB is several
    // times what a pty holds, so pieces end short (EAGAIN) mid-buffer while the master reads.
    asio::posix::stream_descriptor master(strand_, pty_.release_master());
    auto dev = open_slave();
    ASSERT_TRUE(dev);
    std::string big(256 * 1024 + 123, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 13 + i / 251);
    auto both = [&]() -> core::Task<std::tuple<std::error_code, std::string>> {
        using namespace asio::experimental::awaitable_operators;
        co_return co_await (testing::write_string(*dev, big) && read_master(master, big.size()));
    };
    auto [ec, got] = run(io_, strand_, both());
    EXPECT_FALSE(ec) << ec.message();
    ASSERT_EQ(got.size(), big.size());
    EXPECT_TRUE(got == big) << "bytes lost, duplicated or reordered";
    static_assert(kTtyWriteChunk >= 256 && kTtyWriteChunk <= 16 * 1024);  // 256 KiB: many pieces
}

TEST_F(TermiosDeviceTest, CustomAndStandardBaudReadBack) {
    auto dev = open_slave();
    ASSERT_TRUE(dev);
    auto s = plain(250000);  // not in the Bxxx table: needs BOTHER
    s.stop_bits = config::StopBits::Two;
    ASSERT_TRUE(dev->configure(s).ok());
    auto got = dev->settings();
    ASSERT_TRUE(got.ok()) << got.error().message;
    EXPECT_EQ(got->baud, 250000u);
    EXPECT_EQ(got->stop_bits, config::StopBits::Two);
    EXPECT_EQ(got->interface, config::Interface::Rs232);
    EXPECT_EQ(got->data_bits, 8);  // a pty forces CS8 whatever we ask

    ASSERT_TRUE(dev->configure(plain(9600)).ok());
    got = dev->settings();
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(got->baud, 9600u);
    EXPECT_EQ(got->stop_bits, config::StopBits::One);
    EXPECT_EQ(got->flow_control, config::FlowControl::None);
}

TEST_F(TermiosDeviceTest, StandardRatesAreSetByTheirCodeAsOtherToolsReadThem) {
    // What `stty -F` and every other program sees through the classic termios API (issue 12):
    // the Bxxx code for a standard rate, BOTHER only for a rate without one.
    auto dev = open_slave();
    ASSERT_TRUE(dev);
    const int fd = ::open(pty_.path().c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK);
    ASSERT_GE(fd, 0);
    struct Case {
        std::uint32_t baud;
        speed_t code;
    };
    constexpr speed_t kBother = 0010000;  // BOTHER: <asm/termbits.h> clashes with <termios.h>
    for (const Case c : {Case{9600, B9600}, Case{57600, B57600}, Case{115200, B115200},
                         Case{921600, B921600}, Case{250000, kBother}}) {
        ASSERT_TRUE(dev->configure(plain(c.baud)).ok()) << c.baud;
        struct termios t {};
        ASSERT_EQ(::tcgetattr(fd, &t), 0);
        EXPECT_EQ(::cfgetospeed(&t), c.code) << c.baud;
        EXPECT_EQ(::cfgetispeed(&t), c.code) << c.baud;
        EXPECT_EQ(dev->settings()->baud, c.baud);
    }
    ::close(fd);
}

TEST_F(TermiosDeviceTest, OutOfRangeSettingsAreRefused) {
    auto dev = open_slave(plain(9600));
    ASSERT_TRUE(dev);
    auto* tty = dynamic_cast<TermiosDevice*>(dev.get());
    ASSERT_NE(tty, nullptr);
    auto s = plain(1'000'000);
    auto st = tty->configure(s);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, core::Errc::invalid_config);
    s = plain(9600);
    s.stop_bits = config::StopBits::OneAndHalf;  // only with 5 data bits
    st = dev->configure(s);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, core::Errc::invalid_config);
    EXPECT_EQ(dev->settings()->baud, 9600u);
}

TEST_F(TermiosDeviceTest, SecondOpenIsRefusedUntilTheFirstCloses) {
    auto first = open_slave();
    ASSERT_TRUE(first);
    auto second = open(strand_, pty_.path(), plain(), kPtys);
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.error().code, std::errc::device_or_resource_busy);
    EXPECT_NE(second.error().message.find("in use"), std::string::npos) << second.error().message;

    first->close();
    first->close();  // idempotent
    auto third = open(strand_, pty_.path(), plain(), kPtys);
    EXPECT_TRUE(third.ok()) << third.error().message;
}

TEST_F(TermiosDeviceTest, APtyHasNoModemLinesButKeepsRtsAndDtrAsVirtualLines) {
    auto dev = open_slave();
    ASSERT_TRUE(dev);
    auto lines = dev->modem_lines();
    ASSERT_FALSE(lines.ok());
    const auto code = lines.error().code;
    EXPECT_TRUE(code == std::errc::inappropriate_io_control_operation ||
                code == std::errc::invalid_argument)
        << code.message();
    EXPECT_NE(lines.error().message.find("TIOCMGET"), std::string::npos);
    // Issue 12: the outputs are kept as asked (on after open), so every mode can answer a client
    // what it set; the inputs stay unknown (modem_lines() still fails).
    EXPECT_EQ(dev->virtual_lines(), (ModemLines{.rts = true, .dtr = true}));
    EXPECT_FALSE(dev->set_rts(false));
    EXPECT_EQ(dev->virtual_lines(), (ModemLines{.rts = false, .dtr = true}));
    EXPECT_FALSE(dev->set_dtr(false));
    EXPECT_FALSE(dev->set_rts(true));
    EXPECT_EQ(dev->virtual_lines(), (ModemLines{.rts = true, .dtr = false}));
    EXPECT_FALSE(dev->modem_lines().ok());
    // No modem lines and no counters on a pty: nothing to poll, nothing counted.
    dev->on_notification([](const Notification&) { ADD_FAILURE() << "unexpected notification"; });
    EXPECT_EQ(dev->line_errors(), LineErrors{});
    dev->close();
    EXPECT_EQ(dev->virtual_lines(), std::nullopt);
    EXPECT_TRUE(dev->set_rts(false));  // closed: an error, as for every other call
}

TEST_F(TermiosDeviceTest, Rs485OnAPtyIsAClearErrorAndKeepsTheSettings) {
    auto dev = open_slave(plain(9600));
    ASSERT_TRUE(dev);
    auto* tty = dynamic_cast<TermiosDevice*>(dev.get());
    ASSERT_NE(tty, nullptr);
    auto s = plain(250000);
    s.interface = config::Interface::Rs485TwoWire;
    auto st = tty->configure(s);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, core::Errc::unsupported);
    EXPECT_NE(
        st.error().message.find("interface rs485_2wire not supported by driver of " + pty_.path()),
        std::string::npos)
        << st.error().message;
    // The same sentence through the Device interface, not just the concrete type.
    auto again = dev->configure(s);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().message, st.error().message);
    auto got = dev->settings();
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(got->baud, 9600u);  // restored: the 250000 of the failed attempt is gone
    EXPECT_EQ(got->interface, config::Interface::Rs232);

    // Through open(): the settings fail, so the open fails with the message and frees the tty.
    dev->close();
    auto opened = open(strand_, pty_.path(), s, kPtys);
    ASSERT_FALSE(opened.ok());
    EXPECT_NE(opened.error().message.find("rs485_2wire"), std::string::npos);
    EXPECT_TRUE(open(strand_, pty_.path(), plain(), kPtys).ok());
}

TEST_F(TermiosDeviceTest, DtrDsrFlowControlIsReportedUnsupported) {
    auto dev = open_slave(plain(9600));
    ASSERT_TRUE(dev);
    auto s = plain(19200);
    s.flow_control = config::FlowControl::DtrDsr;
    const auto st = dev->configure(s);
#ifndef CDTRDSR
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, core::Errc::unsupported);
    EXPECT_NE(st.error().message.find("dtr_dsr"), std::string::npos) << st.error().message;
    EXPECT_EQ(dev->settings()->baud, 9600u);
#else
    EXPECT_TRUE(st.ok()) << st.error().message;
#endif
}

TEST_F(TermiosDeviceTest, BreakFlushAndOutputQueueWorkOnAPty) {
    auto dev = open_slave();
    ASSERT_TRUE(dev);
    EXPECT_FALSE(dev->send_break(std::chrono::milliseconds(5)));
    EXPECT_FALSE(dev->set_break(false));
    EXPECT_FALSE(dev->flush(FlushDirection::Both));
    auto queued = dev->output_queue();
    ASSERT_TRUE(queued.ok()) << queued.error().message;
    EXPECT_EQ(*queued, 0u);
}

TEST_F(TermiosDeviceTest, InputQueueFlowCharsAndTransmitHold) {
    asio::posix::stream_descriptor master(strand_, pty_.release_master());
    auto dev = open_slave();
    ASSERT_TRUE(dev);
    // Bytes the master wrote wait in the slave's input queue until read.
    EXPECT_FALSE(run(io_, strand_, write_master(master, "abc")));
    std::size_t waiting = 0;
    for (int i = 0; i < 200 && waiting < 3; ++i) {  // the pty moves them in a kernel worker
        auto q = dev->input_queue();
        ASSERT_TRUE(q.ok()) << q.error().message;
        waiting = *q;
        if (waiting < 3) ::usleep(5000);
    }
    EXPECT_EQ(waiting, 3u);
    EXPECT_EQ(run(io_, strand_, read_exactly(*dev, 3)), "abc");

    // VSTART/VSTOP as set, and kept by a later configure().
    EXPECT_FALSE(dev->set_flow_chars(0x01, 0x02));
    auto xonxoff = plain(9600);
    xonxoff.flow_control = config::FlowControl::XonXoff;
    ASSERT_TRUE(dev->configure(xonxoff).ok());
    const int fd = ::open(pty_.path().c_str(), O_RDWR | O_NOCTTY);
    ASSERT_GE(fd, 0);
    struct termios t {};
    ASSERT_EQ(::tcgetattr(fd, &t), 0);
    EXPECT_EQ(t.c_cc[VSTART], 0x01);
    EXPECT_EQ(t.c_cc[VSTOP], 0x02);
    ::close(fd);

    // Held output does not leave (a stopped pty takes no bytes: the write waits) until released.
    EXPECT_FALSE(dev->hold_transmit(true));
    std::optional<std::error_code> written;
    asio::co_spawn(strand_, testing::write_string(*dev, "held"),
                   [&](std::exception_ptr, std::error_code ec) { written = ec; });
    testing::settle(io_);
    int available = -1;
    ASSERT_EQ(::ioctl(master.native_handle(), FIONREAD, &available), 0);
    EXPECT_EQ(available, 0);
    EXPECT_FALSE(dev->hold_transmit(false));
    EXPECT_EQ(run(io_, strand_, read_master(master, 4)), "held");
    io_.restart();
    while (!written && io_.run_one_for(std::chrono::seconds(10)) != 0) {
    }
    ASSERT_TRUE(written);
    EXPECT_FALSE(*written);
}

TEST_F(TermiosDeviceTest, CloseEndsAWriteWaitingForAFullTty) {
    // Nobody reads the master: the pty fills, write() waits for room, and close() must end the
    // wait with an error instead of leaving the writer hanging.
    auto dev = open_slave();
    ASSERT_TRUE(dev);
    std::optional<std::error_code> result;
    asio::co_spawn(strand_, testing::write_string(*dev, std::string(1024 * 1024, 'w')),
                   [&](std::exception_ptr, std::error_code ec) { result = ec; });
    testing::settle(io_);
    EXPECT_FALSE(result);  // the tty is full: the write waits
    asio::post(strand_, [&] { dev->close(); });
    io_.restart();
    while (!result && io_.run_one_for(std::chrono::seconds(10)) != 0) {
    }
    ASSERT_TRUE(result);
    EXPECT_TRUE(*result);  // aborted, not success
}

TEST_F(TermiosDeviceTest, AbortWriteEndsAWriteWaitingForAFullTtyAndLeavesTheReadPending) {
    // A client that left while its bytes waited (issue 14): abort_write() ends that write alone;
    // the port's read goes on, and the next write works once the tty has room.
    auto dev = open_slave();
    ASSERT_TRUE(dev);
    std::optional<std::error_code> read_result;
    asio::co_spawn(strand_, testing::read_once(*dev),
                   [&](std::exception_ptr, std::tuple<std::error_code, std::size_t> r) {
                       read_result = std::get<0>(r);
                   });
    std::optional<std::error_code> result;
    asio::co_spawn(strand_, testing::write_string(*dev, std::string(1024 * 1024, 'w')),
                   [&](std::exception_ptr, std::error_code ec) { result = ec; });
    testing::settle(io_);
    ASSERT_FALSE(result);  // the tty is full: the write waits
    const std::uint64_t progress = dev->tx_progress();
    EXPECT_GT(progress, 0u);  // what the pty took before it filled up
    asio::post(strand_, [&] { dev->abort_write(); });
    io_.restart();
    while (!result && io_.run_one_for(std::chrono::seconds(10)) != 0) {
    }
    ASSERT_TRUE(result);
    EXPECT_EQ(*result, std::errc::operation_canceled);
    EXPECT_FALSE(read_result);                // the read was not cancelled with it
    EXPECT_EQ(dev->tx_progress(), progress);  // nothing moved meanwhile
    // Drain what the pty holds; a new write goes through whole.
    ::fcntl(pty_.master(), F_SETFL, ::fcntl(pty_.master(), F_GETFL) | O_NONBLOCK);
    std::array<char, 65536> sink{};
    while (::read(pty_.master(), sink.data(), sink.size()) > 0) {
    }
    EXPECT_FALSE(run(io_, strand_, testing::write_string(*dev, "after")));
    dev->abort_write();  // no write in flight: no effect
    dev->close();
}

TEST_F(TermiosDeviceTest, CloseAbortsAPendingRead) {
    auto dev = open_slave();
    ASSERT_TRUE(dev);
    std::optional<std::error_code> result;
    asio::co_spawn(strand_, testing::read_once(*dev),
                   [&](std::exception_ptr, std::tuple<std::error_code, std::size_t> r) {
                       result = std::get<0>(r);
                   });
    testing::settle(io_);
    EXPECT_FALSE(result);  // nothing written: the read waits
    asio::post(strand_, [&] { dev->close(); });
    io_.restart();
    while (!result && io_.run_one_for(std::chrono::seconds(10)) != 0) {
    }
    ASSERT_TRUE(result);
    EXPECT_EQ(*result, std::errc::operation_canceled);
    // After close every call fails as a value, and a new read aborts at once.
    EXPECT_TRUE(dev->set_break(true));
    EXPECT_FALSE(dev->settings().ok());
    auto [ec, n] = run(io_, strand_, testing::read_once(*dev));
    EXPECT_EQ(ec, std::errc::operation_canceled);
}

TEST_F(TermiosDeviceTest, OpeningANonTerminalOrAMissingPathFails) {
    const std::vector<std::string> allowed{"/dev/null", "/dev/serialgate-no-such-tty"};
    auto null = open(strand_, "/dev/null", plain(), allowed);
    ASSERT_FALSE(null.ok());  // allowed by the list, but not of the tty class: never opened
    EXPECT_NE(null.error().message.find("not a serial line"), std::string::npos)
        << null.error().message;
    auto missing = open(strand_, "/dev/serialgate-no-such-tty", plain(), allowed);
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, std::errc::no_such_file_or_directory);
    EXPECT_NE(missing.error().message.find("/dev/serialgate-no-such-tty"), std::string::npos);
}

TEST_F(TermiosDeviceTest, ReadEndsWithAnErrorWhenTheOtherSideGoes) {
    auto dev = open_slave();
    ASSERT_TRUE(dev);
    ::close(pty_.release_master());  // like a USB adapter unplugged: the slave reads EIO
    auto [ec, n] = run(io_, strand_, testing::read_once(*dev));
    EXPECT_TRUE(ec) << n;
}

TEST_F(TermiosDeviceTest, ReadAvailableGathersABurstBeyondOneTtyBufferWithoutBlocking) {
    const int master = pty_.master();
    auto dev = open_slave();
    ASSERT_TRUE(dev);
    std::vector<std::byte> buf(64 * 1024);
    EXPECT_EQ(dev->read_available(buf), 0u);  // nothing there: returns at once

    // 16 KiB from the "serial device" (a blocking writer, as the pty takes only so much before
    // the slave reads). A tty gives at most its 4 KiB line-discipline buffer per read;
    // read_available takes what else is already there.
    std::string burst(16 * 1024, '\0');
    for (std::size_t i = 0; i < burst.size(); ++i) burst[i] = static_cast<char>(i * 7);
    std::thread writer([&] {
        std::size_t at = 0;
        while (at < burst.size()) {
            const ssize_t w = ::write(master, burst.data() + at, burst.size() - at);
            if (w <= 0) return;
            at += static_cast<std::size_t>(w);
        }
    });
    std::string got;
    std::size_t largest = 0;
    for (int round = 0; round < 200 && got.size() < burst.size(); ++round) {
        auto [ec, n] = run(io_, strand_, dev->read_some(buf));
        ASSERT_FALSE(ec) << ec.message();
        // The kernel refills the tty's buffer from a worker after each read: give it a moment,
        // as a busy data plane's other work would.
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        n += dev->read_available(std::span(buf).subspan(n));
        largest = std::max(largest, n);
        got.append(reinterpret_cast<const char*>(buf.data()), n);
    }
    writer.join();
    EXPECT_EQ(got, burst);                    // every byte once, in order
    EXPECT_GT(largest, 4096u);                // more than one tty buffer in one go
    EXPECT_EQ(dev->read_available(buf), 0u);  // drained: nothing more, no blocking

    dev->close();
    EXPECT_EQ(dev->read_available(buf), 0u);  // closed: nothing, no error
}

}  // namespace
}  // namespace sg::serial
