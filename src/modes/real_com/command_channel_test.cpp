#include "modes/real_com/command_channel.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "modes/test_util.h"
#include "serial/sim_device.h"
#include "serial/test_util.h"
#include "store/store.h"

namespace sg::modes::real_com {
namespace {

using asio::ip::tcp;
using serial::testing::run;

std::vector<std::byte> bytes(std::initializer_list<int> v) {
    std::vector<std::byte> out;
    for (int b : v) out.push_back(static_cast<std::byte>(b));
    return out;
}

core::Task<std::vector<std::byte>> read_n(tcp::socket& s, std::size_t n) {
    std::vector<std::byte> out(n);
    auto [ec, k] = co_await asio::async_read(s, asio::buffer(out), core::use_nothrow);
    out.resize(k);
    co_return out;
}

// Writes one byte at a time: the channel must reassemble commands split anywhere.
core::Task<bool> write_bytewise(tcp::socket& s, std::vector<std::byte> wire) {
    for (auto b : wire) {
        auto [ec, k] = co_await asio::async_write(s, asio::buffer(&b, 1), core::use_nothrow);
        if (ec) co_return false;
    }
    co_return true;
}

core::Task<std::optional<tcp::socket>> accept_one(tcp::acceptor& a) {
    auto [ec, s] = co_await a.async_accept(core::use_nothrow);
    if (ec) co_return std::nullopt;
    co_return std::move(s);
}

class CommandChannelTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("sg_cc_test_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir_);
        auto s = store::Store::open(dir_);
        ASSERT_TRUE(s.ok());
        store_ = std::move(*s);
        log_ = std::make_unique<events::Log>(*store_);
        config::SerialSettings configured;
        configured.flow_control = config::FlowControl::None;
        const std::string cable = "sim:null-modem:cc_" + std::to_string(::getpid()) + "_" +
                                  ::testing::UnitTest::GetInstance()->current_test_info()->name();
        auto dev = serial::open(strand_, cable, configured);
        ASSERT_TRUE(dev.ok());
        device_ = std::move(*dev);
        auto far = serial::open(strand_, cable, configured);
        ASSERT_TRUE(far.ok());
        far_ = std::move(*far);
        ctx_.emplace(testing::port_context(strand_, *device_, *log_, stats_));
        line_.emplace(*ctx_);
    }
    void TearDown() override {
        if (channel_) channel_->close();
        serial::testing::settle(io_);
        channel_.reset();
        line_.reset();
        ctx_.reset();
        far_.reset();
        device_.reset();
        log_.reset();
        store_.reset();
        std::filesystem::remove_all(dir_);
    }

    /// Opens a channel with `rules`; client_ is the host's end.
    void connect(ChannelRules rules) {
        tcp::acceptor acceptor(strand_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        client_.emplace(strand_);
        client_->connect(acceptor.local_endpoint());
        auto server = run(io_, strand_, accept_one(acceptor));
        ASSERT_TRUE(server.has_value());
        channel_ =
            std::make_shared<CommandChannel>(common::Stream(std::move(*server)), *line_, rules, 0,
                                             [this](CommandChannel&) { closed_ = true; });
        channel_->start();
    }

    std::vector<std::byte> exchange(std::vector<std::byte> wire, std::size_t reply_bytes) {
        EXPECT_TRUE(run(io_, strand_, write_bytewise(*client_, std::move(wire))));
        return run(io_, strand_, read_n(*client_, reply_bytes));
    }

    config::SerialSettings settings() { return *device_->settings(); }

    asio::io_context io_;
    core::Strand strand_ = asio::make_strand(io_);
    std::filesystem::path dir_;
    std::unique_ptr<store::Store> store_;
    std::unique_ptr<events::Log> log_;
    PortStats stats_;
    serial::DevicePtr device_;
    serial::DevicePtr far_;
    std::optional<PortContext> ctx_;
    std::optional<LineControl> line_;
    std::optional<tcp::socket> client_;
    std::shared_ptr<CommandChannel> channel_;
    bool closed_ = false;
};

constexpr ChannelRules kRealTty{.line_control = true, .real_tty = true, .driver_mode = true};
constexpr ChannelRules kShared{.line_control = false, .real_tty = false, .driver_mode = true};

TEST_F(CommandChannelTest, LineCommandsActAndAreAnsweredInOrder) {
    connect(kRealTty);
    // IOCTL 9600 7E2, SETBAUD 250000, FLOWCTRL rts/cts, LINECTRL DTR off RTS on, LSTATUS.
    auto wire = bytes({0x10, 2,    6,    0x02 | 0x04 | 0x08,
                       0x17, 4,    0x90, 0xD0,
                       0x03, 0x00, 0x11, 4,
                       1,    1,    0,    0,
                       0x12, 2,    0,    1,
                       0x13, 0});
    EXPECT_EQ(exchange(wire, 3 + 3 + 3 + 3 + 5), bytes({0x10, 'O', 'K', 0x17, 'O', 'K', 0x11, 'O',
                                                        'K', 0x12, 'O', 'K', 0x13, 3, 1, 1, 1}));
    const auto s = settings();
    EXPECT_EQ(s.baud, 250000U);
    EXPECT_EQ(s.data_bits, 7);
    EXPECT_EQ(s.parity, config::Parity::Even);
    EXPECT_EQ(s.stop_bits, config::StopBits::Two);
    EXPECT_EQ(s.flow_control, config::FlowControl::RtsCts);
    const auto lines = *device_->modem_lines();
    EXPECT_FALSE(lines.dtr);
    EXPECT_TRUE(lines.rts);
    // Out of range: NA, and nothing changes.
    EXPECT_EQ(exchange(bytes({0x17, 4, 0x10, 0, 0, 0}), 3), bytes({0x17, 'N', 'A'}));
    EXPECT_EQ(settings().baud, 250000U);
}

TEST_F(CommandChannelTest, SharedModeAcknowledgesAndIgnoresLineSettings) {
    connect(kShared);
    const auto before = settings();
    auto wire = bytes({0x10, 2, 6, 0x02, 0x17, 4, 0x90, 0xD0, 0x03, 0x00,
                       0x12, 2, 0, 0,    0x2F, 4, 0xE8, 0x03, 0,    0});
    EXPECT_EQ(exchange(wire, 3 + 3 + 3 + 4),
              bytes({0x10, 'O', 'K', 0x17, 'O', 'K', 0x12, 'O', 'K', 0x2F, 2, 0, 0}));
    EXPECT_EQ(settings(), before);
    EXPECT_TRUE(device_->modem_lines()->dtr);
}

TEST_F(CommandChannelTest, UnknownAndMalformedAreSkippedUnanswered) {
    connect(kRealTty);
    auto wire = bytes({0x7E, 2, 0x13, 0, 0x10, 1, 6, 0x38, 0});
    EXPECT_EQ(exchange(wire, 3), bytes({0x38, 1, 0}));
}

TEST_F(CommandChannelTest, RestoreBringsBackTheConfiguredLine) {
    connect(kRealTty);
    const auto configured = settings();
    EXPECT_EQ(exchange(bytes({0x10, 2, 6, 0x02, 0x12, 2, 0, 0, 0x34, 0}), 9),
              bytes({0x10, 'O', 'K', 0x12, 'O', 'K', 0x34, 'O', 'K'}));
    EXPECT_NE(settings(), configured);
    auto* sim = dynamic_cast<serial::SimDevice*>(device_.get());
    ASSERT_NE(sim, nullptr);
    EXPECT_TRUE(sim->transmit_held());
    line_->restore();
    EXPECT_EQ(settings(), configured);
    EXPECT_TRUE(device_->modem_lines()->dtr);
    EXPECT_TRUE(device_->modem_lines()->rts);
    EXPECT_FALSE(sim->transmit_held());
}

TEST_F(CommandChannelTest, NotifyReportsALineChangeOnceEnabled) {
    connect(kRealTty);
    EXPECT_EQ(exchange(bytes({0x24, 0}), 3), bytes({0x24, 'O', 'K'}));
    ASSERT_FALSE(far_->set_rts(false));  // our CTS drops
    serial::testing::settle(io_);
    channel_->on_line_event(0, 0);  // what the mode does on ModemLinesChanged
    // CTS off (ΔCTS), DSR and DCD still on; hold: only the protocol bit (flow control none).
    EXPECT_EQ(run(io_, strand_, read_n(*client_, 4)), bytes({0x26, 0x20, 0xA1, 0x80}));
    channel_->on_line_event(0x01 | 0x10, 1);  // a parity error and a break
    EXPECT_EQ(run(io_, strand_, read_n(*client_, 4)), bytes({0x26, 0x11, 0xA0, 0x80}));
    EXPECT_EQ(exchange(bytes({0x37, 0, 0x38, 0}), 4 + 3), bytes({0x37, 2, 0, 1, 0x38, 1, 0x01}));
}

TEST_F(CommandChannelTest, PeerCloseEndsTheChannel) {
    connect(kRealTty);
    client_->close();
    io_.restart();
    while (!closed_ && io_.run_one_for(std::chrono::seconds(10)) != 0) {
    }
    EXPECT_TRUE(closed_);
}

}  // namespace
}  // namespace sg::modes::real_com
