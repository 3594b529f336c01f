#include "modes/rfc2217/com_port.h"

#include <gtest/gtest.h>

#include "serial/sim_device.h"
#include "serial/test_util.h"

namespace sg::modes::rfc2217 {
namespace {

using serial::testing::settle;

/// Decodes what the server appended: the COM-PORT answers and notifications, in order.
std::vector<ComPortRequest> answers(const std::vector<std::byte>& out) {
    TelnetDecoder d;
    Decoded dec;
    d.feed(out, dec);
    EXPECT_TRUE(dec.data.empty()) << "answers must be subnegotiations only";
    std::vector<ComPortRequest> got;
    for (const auto& e : dec.events) got.push_back(std::get<ComPortRequest>(e.what));
    return got;
}

class ComPortTest : public ::testing::Test {
protected:
    void SetUp() override {
        config::SerialSettings s;
        s.flow_control = config::FlowControl::None;
        auto dev = serial::open(strand_, "sim:loopback", s);
        ASSERT_TRUE(dev.ok());
        device_ = std::move(dev).value();
        device_->on_notification([this](const serial::Notification& n) { notes_.push_back(n); });
        server_.emplace(*device_, "SerialGate port 1");
    }

    /// One request, its answers.
    std::vector<ComPortRequest> ask(std::uint8_t command, std::vector<std::uint8_t> value) {
        std::vector<std::byte> out;
        server_->handle({command, std::move(value)}, out);
        return answers(out);
    }
    ComPortRequest one(std::uint8_t command, std::vector<std::uint8_t> value) {
        auto got = ask(command, std::move(value));
        EXPECT_EQ(got.size(), 1U);
        return got.empty() ? ComPortRequest{} : got.front();
    }
    config::SerialSettings settings() { return device_->settings().value(); }

    asio::io_context io_;
    core::Strand strand_ = asio::make_strand(io_);
    serial::DevicePtr device_;
    std::vector<serial::Notification> notes_;
    std::optional<ComPortServer> server_;
};

std::vector<std::uint8_t> be32(std::uint32_t v) {
    return {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
            static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
}

TEST_F(ComPortTest, BaudStandardCustomQueryAndOutOfRange) {
    EXPECT_EQ(one(1, be32(9600)), (ComPortRequest{101, be32(9600)}));
    EXPECT_EQ(settings().baud, 9600U);
    EXPECT_EQ(one(1, be32(250000)), (ComPortRequest{101, be32(250000)})) << "custom rate";
    EXPECT_EQ(settings().baud, 250000U);
    EXPECT_EQ(one(1, be32(0)), (ComPortRequest{101, be32(250000)})) << "0 queries";
    EXPECT_EQ(one(1, be32(1'000'000)), (ComPortRequest{101, be32(250000)})) << "over 921600";
    EXPECT_EQ(one(1, be32(49)), (ComPortRequest{101, be32(250000)})) << "under 50";
    EXPECT_EQ(settings().baud, 250000U);
    EXPECT_TRUE(ask(1, {0x25}).empty()) << "the 1-byte Cisco form is not answered";
}

TEST_F(ComPortTest, DataSizeParityStopBits) {
    EXPECT_EQ(one(2, {7}), (ComPortRequest{102, {7}}));
    EXPECT_EQ(one(2, {9}), (ComPortRequest{102, {7}}));
    EXPECT_EQ(one(2, {0}), (ComPortRequest{102, {7}}));
    EXPECT_EQ(one(3, {3}), (ComPortRequest{103, {3}}));
    EXPECT_EQ(settings().parity, config::Parity::Even);
    EXPECT_EQ(one(3, {5}), (ComPortRequest{103, {5}}));
    EXPECT_EQ(settings().parity, config::Parity::Space);
    EXPECT_EQ(one(3, {6}), (ComPortRequest{103, {5}}));
    EXPECT_EQ(one(4, {2}), (ComPortRequest{104, {2}}));
    EXPECT_EQ(settings().stop_bits, config::StopBits::Two);
    EXPECT_EQ(one(4, {0}), (ComPortRequest{104, {2}}));
    EXPECT_EQ(settings().data_bits, 7);
}

TEST_F(ComPortTest, RefusedSettingIsAnsweredWithTheOneInForce) {
    auto* sim = dynamic_cast<serial::SimDevice*>(device_.get());
    if (sim == nullptr) GTEST_SKIP() << "not a SimDevice";
    sim->inject_failure(serial::SimOp::Configure, 1);
    EXPECT_EQ(one(1, be32(19200)), (ComPortRequest{101, be32(115200)}));
}

TEST_F(ComPortTest, ControlLinesBreakAndFlow) {
    EXPECT_EQ(one(5, {9}), (ComPortRequest{105, {9}}));  // DTR off
    EXPECT_FALSE(device_->modem_lines()->dtr);
    EXPECT_EQ(one(5, {7}), (ComPortRequest{105, {9}}));
    EXPECT_EQ(one(5, {12}), (ComPortRequest{105, {12}}));  // RTS off
    EXPECT_FALSE(device_->modem_lines()->rts);
    EXPECT_EQ(one(5, {11}), (ComPortRequest{105, {11}}));
    EXPECT_TRUE(device_->modem_lines()->rts);
    EXPECT_EQ(one(5, {5}), (ComPortRequest{105, {5}}));  // break on
    EXPECT_EQ(one(5, {4}), (ComPortRequest{105, {5}}));
    EXPECT_EQ(one(5, {6}), (ComPortRequest{105, {6}}));
    EXPECT_EQ(one(5, {3}), (ComPortRequest{105, {3}}));  // hardware flow control
    EXPECT_EQ(settings().flow_control, config::FlowControl::RtsCts);
    EXPECT_EQ(one(5, {13}), (ComPortRequest{105, {16}})) << "inbound query, same setting";
    EXPECT_EQ(one(5, {15}), (ComPortRequest{105, {15}}));
    EXPECT_EQ(settings().flow_control, config::FlowControl::XonXoff);
    EXPECT_EQ(one(5, {0}), (ComPortRequest{105, {2}}));
    EXPECT_EQ(one(5, {19}), (ComPortRequest{105, {19}}));
    EXPECT_EQ(settings().flow_control, config::FlowControl::DtrDsr);
    EXPECT_EQ(one(5, {17}), (ComPortRequest{105, {19}})) << "DCD flow control: not ours";
    EXPECT_EQ(one(5, {1}), (ComPortRequest{105, {1}}));
    EXPECT_TRUE(ask(5, {20}).empty());
}

TEST_F(ComPortTest, SignatureMasksPurgeAndPolls) {
    const std::string sig = "SerialGate port 1";
    EXPECT_EQ(one(0, {}), (ComPortRequest{100, std::vector<std::uint8_t>(sig.begin(), sig.end())}));
    EXPECT_TRUE(ask(0, {'x'}).empty()) << "a client's own signature needs no answer";
    EXPECT_EQ(one(10, {0x1e}), (ComPortRequest{110, {0x1e}}));
    EXPECT_EQ(server_->line_mask(), 0x1e);
    EXPECT_EQ(one(11, {0x30}), (ComPortRequest{111, {0x30}}));
    EXPECT_EQ(one(12, {3}), (ComPortRequest{112, {3}}));
    EXPECT_TRUE(ask(12, {4}).empty());
    // Loopback: DTR drives DSR and DCD, RTS drives CTS; all on at open. Mask 0x30: CTS and DSR.
    EXPECT_EQ(one(7, {}), (ComPortRequest{107, {0x30}}));
    EXPECT_EQ(one(6, {}), (ComPortRequest{106, {0}}));
    EXPECT_TRUE(ask(8, {}).empty()) << "suspend is the session's";
    EXPECT_TRUE(ask(101, {0, 0, 0, 1}).empty()) << "a server's code from a client";
}

TEST_F(ComPortTest, ModemStateNotificationsCarryDeltasUnderTheMask) {
    std::vector<std::byte> out;
    server_->initial_modem_state(out);
    EXPECT_EQ(answers(out), (std::vector<ComPortRequest>{{107, {0xB0}}}));  // CD DSR CTS
    out.clear();
    ASSERT_FALSE(device_->set_rts(false));
    settle(io_);
    ASSERT_EQ(notes_.size(), 1U);
    server_->on_modem_lines(notes_.back().lines, out);
    EXPECT_EQ(answers(out), (std::vector<ComPortRequest>{{107, {0xA1}}})) << "CTS off + delta";
    out.clear();
    server_->on_modem_lines(notes_.back().lines, out);
    EXPECT_TRUE(out.empty()) << "no change, no notification";

    one(11, {0x10});  // CTS only
    ASSERT_FALSE(device_->set_dtr(false));
    settle(io_);
    server_->on_modem_lines(notes_.back().lines, out);
    EXPECT_TRUE(out.empty()) << "DSR and CD are masked out";
    ASSERT_FALSE(device_->set_rts(true));
    settle(io_);
    server_->on_modem_lines(notes_.back().lines, out);
    EXPECT_EQ(answers(out), (std::vector<ComPortRequest>{{107, {0x10}}}));
}

TEST_F(ComPortTest, LineStateNotificationsOnlyWhenMasked) {
    std::vector<std::byte> out;
    serial::LineErrors e;
    e.breaks = 1;
    server_->on_line_condition(e, out);
    EXPECT_TRUE(out.empty()) << "the line-state mask starts at 0";
    one(10, {kLineBreak | kLineFraming});
    e.breaks = 2;
    e.framing = 3;
    e.parity = 1;
    server_->on_line_condition(e, out);
    EXPECT_EQ(answers(out), (std::vector<ComPortRequest>{{106, {0x18}}}));
}

TEST(ModemState, DeltasAndRiTrailingEdge) {
    EXPECT_EQ(modem_state(0x00, 0x90), 0x99);
    EXPECT_EQ(modem_state(0x40, 0x00), 0x04) << "ring ended";
    EXPECT_EQ(modem_state(0x00, 0x40), 0x40) << "ring started: no delta";
    EXPECT_EQ(modem_state(0x30, 0x30), 0x30);
}

TEST(ValueCodes, RoundTrip) {
    for (std::uint8_t c = 1; c <= 5; ++c) EXPECT_EQ(parity_code(*parity_from_code(c)), c);
    for (std::uint8_t c = 1; c <= 3; ++c) EXPECT_EQ(stop_bits_code(*stop_bits_from_code(c)), c);
    EXPECT_FALSE(parity_from_code(0));
    EXPECT_FALSE(stop_bits_from_code(4));
    EXPECT_TRUE(runs_in_order(1) && runs_in_order(5));
    EXPECT_FALSE(runs_in_order(12) || runs_in_order(8) || runs_in_order(0));
    // SET-CONTROL: DTR and RTS (7..12) at once, like a UART's modem-control register; flow
    // control and break in order with the data.
    for (std::uint8_t v : {7, 8, 9, 10, 11, 12}) {
        EXPECT_FALSE(runs_in_order(5, std::vector<std::uint8_t>{v})) << int(v);
    }
    for (std::uint8_t v : {0, 1, 3, 5, 6, 13, 16, 19}) {
        EXPECT_TRUE(runs_in_order(5, std::vector<std::uint8_t>{v})) << int(v);
    }
    EXPECT_TRUE(runs_in_order(1, std::vector<std::uint8_t>{0, 0, 0x25, 0x80}));
    EXPECT_FALSE(runs_in_order(12, std::vector<std::uint8_t>{2}));
}

}  // namespace
}  // namespace sg::modes::rfc2217
