// termios_map_test.cpp: the pty termios → ASPP mapping (termios_map.h), checked on the wire bytes
// of spec §3/§4 so that the expectations read like the spec's tables.
#include "client/real_com/termios_map.h"

#include <gtest/gtest.h>

namespace sg::client::real_com {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes wire(const std::vector<aspp::Command>& commands) {
    std::vector<std::byte> out;
    for (const auto& c : commands) aspp::encode(c, out);
    Bytes b;
    for (auto x : out) b.push_back(static_cast<std::uint8_t>(x));
    return b;
}

LineSettings line(PtyLine pty, FixedFraming fixed = {}) {
    return settings_of(pty, fixed);
}

TEST(SettingsOf, TakesRateStopBitsAndFlowFromThePtyAndFramingFromTheConfiguration) {
    PtyLine p;
    p.baud = 57600;
    p.two_stop_bits = true;
    p.rts_cts = true;
    const auto s = line(p, {7, config::Parity::Even});
    EXPECT_EQ(s.baud, 57600U);
    EXPECT_EQ(s.framing.data_bits, 7);
    EXPECT_EQ(s.framing.parity, config::Parity::Even);
    EXPECT_EQ(s.framing.stop_bits, config::StopBits::Two);
    EXPECT_TRUE(s.flow.cts_out);
    EXPECT_TRUE(s.flow.rts_in);
    EXPECT_FALSE(s.flow.xon_out);
    EXPECT_FALSE(s.flow.xoff_in);
}

TEST(SettingsOf, MoreStopBitsWithFiveDataBitsIsOneAndAHalf) {
    PtyLine p;
    p.two_stop_bits = true;
    EXPECT_EQ(line(p, {5, config::Parity::None}).framing.stop_bits, config::StopBits::OneAndHalf);
}

TEST(SettingsOf, SoftwareFlowDirectionsStayApart) {
    PtyLine p;
    p.ixon = true;
    auto s = line(p);
    EXPECT_TRUE(s.flow.xon_out);
    EXPECT_FALSE(s.flow.xoff_in);
    p.ixon = false;
    p.ixoff = true;
    s = line(p);
    EXPECT_FALSE(s.flow.xon_out);
    EXPECT_TRUE(s.flow.xoff_in);
}

TEST(OpenCommands, StandardRateIsOnePortInitWithDtrAndRtsRaised) {
    PtyLine p;
    p.baud = 115200;
    // PORT_INIT: index 10 (115200), mode 0x03 (8N1), DTR 1, RTS 1, no flow.
    EXPECT_EQ(wire(open_commands(line(p))), (Bytes{0x2C, 8, 10, 0x03, 1, 1, 0, 0, 0, 0}));
}

TEST(OpenCommands, ModeByteCarriesConfiguredFramingAndPtyStopBits) {
    PtyLine p;
    p.baud = 9600;
    p.two_stop_bits = true;
    p.rts_cts = true;
    // 7 data bits (2) | 2 stop bits (0x04) | even (0x08) = 0x0E; CTS-out and RTS-in flow.
    EXPECT_EQ(wire(open_commands(line(p, {7, config::Parity::Even}))),
              (Bytes{0x2C, 8, 6, 0x0E, 1, 1, 1, 1, 0, 0}));
    // odd 0x10, mark 0x18, space 0x20 (spec §4)
    EXPECT_EQ(wire(open_commands(line(p, {8, config::Parity::Odd})))[3], 0x17);
    EXPECT_EQ(wire(open_commands(line(p, {8, config::Parity::Mark})))[3], 0x1F);
    EXPECT_EQ(wire(open_commands(line(p, {8, config::Parity::Space})))[3], 0x27);
}

TEST(OpenCommands, RateMissingFromTheIndexTableGoesAsCustomPlusSetBaud) {
    PtyLine p;
    p.baud = 123457;  // 0x0001E241
    EXPECT_EQ(wire(open_commands(line(p))), (Bytes{0x2C, 8, 0xFF, 0x03, 1, 1, 0, 0, 0, 0,  //
                                                   0x17, 4, 0x41, 0xE2, 0x01, 0x00}));
    p.baud = 200;  // a Bxxx rate the ASPP table lacks (spec §4)
    const auto w = wire(open_commands(line(p)));
    ASSERT_EQ(w.size(), 16U);
    EXPECT_EQ(w[2], 0xFF);
    EXPECT_EQ((Bytes{w[10], w[11], w[12], w[13]}), (Bytes{0x17, 4, 200, 0}));
}

TEST(OpenCommands, EveryTableRateUsesItsIndex) {
    const std::uint32_t rates[] = {300,   600,   1200,  2400,   4800,   7200,   9600,
                                   19200, 38400, 57600, 115200, 230400, 460800, 921600,
                                   150,   134,   110,   75,     50};
    for (std::uint8_t i = 0; i < std::size(rates); ++i) {
        PtyLine p;
        p.baud = rates[i];
        const auto w = wire(open_commands(line(p)));
        ASSERT_EQ(w.size(), 10U) << rates[i];
        EXPECT_EQ(w[2], i) << rates[i];
    }
}

TEST(OpenCommands, NonDefaultFlowCharactersFollowAsXonXoff) {
    PtyLine p;
    p.ixon = p.ixoff = true;
    p.xon = 0x01;
    p.xoff = 0x02;
    EXPECT_EQ(wire(open_commands(line(p))),
              (Bytes{0x2C, 8, 6, 0x03, 1, 1, 0, 0, 1, 1, 0x18, 2, 0x01, 0x02}));
}

TEST(OpenCommands, HungUpLineOpensWithDtrAndRtsOff) {
    PtyLine p;
    p.baud = 0;
    EXPECT_EQ(wire(open_commands(line(p))), (Bytes{0x2C, 8, 6, 0x03, 0, 0, 0, 0, 0, 0}));
}

TEST(ChangeCommands, NothingChangedSendsNothing) {
    PtyLine p;
    EXPECT_TRUE(change_commands(line(p), line(p)).empty());
    // The pty's HUPCL is no line setting.
    PtyLine q = p;
    q.hupcl = true;
    EXPECT_TRUE(change_commands(line(p), line(q)).empty());
}

TEST(ChangeCommands, RateChangeIsOneIoctl) {
    PtyLine a;
    PtyLine b;
    b.baud = 19200;
    EXPECT_EQ(wire(change_commands(line(a), line(b))), (Bytes{0x10, 2, 7, 0x03}));
    b.baud = 250000;  // 0x0003D090
    EXPECT_EQ(wire(change_commands(line(a), line(b))),
              (Bytes{0x10, 2, 0xFF, 0x03, 0x17, 4, 0x90, 0xD0, 0x03, 0x00}));
}

TEST(ChangeCommands, StopBitsChangeIsAnIoctlWithTheCurrentRate) {
    PtyLine a;
    a.baud = 38400;
    PtyLine b = a;
    b.two_stop_bits = true;
    EXPECT_EQ(wire(change_commands(line(a), line(b))), (Bytes{0x10, 2, 8, 0x07}));
}

TEST(ChangeCommands, FlowAndCharactersGoAlone) {
    PtyLine a;
    PtyLine b = a;
    b.rts_cts = true;
    EXPECT_EQ(wire(change_commands(line(a), line(b))), (Bytes{0x11, 4, 1, 1, 0, 0}));
    PtyLine c = a;
    c.ixon = c.ixoff = true;
    EXPECT_EQ(wire(change_commands(line(b), line(c))), (Bytes{0x11, 4, 0, 0, 1, 1}));
    PtyLine d = c;
    d.xon = 'Q';
    EXPECT_EQ(wire(change_commands(line(c), line(d))), (Bytes{0x18, 2, 'Q', 0x13}));
}

TEST(ChangeCommands, BaudZeroHangsUpAndLeavingItRaisesTheLinesAgain) {
    PtyLine a;
    a.baud = 9600;
    PtyLine down = a;
    down.baud = 0;
    EXPECT_EQ(wire(change_commands(line(a), line(down))), (Bytes{0x12, 2, 0, 0}));
    PtyLine up = a;
    up.baud = 4800;
    EXPECT_EQ(wire(change_commands(line(down), line(up))),
              (Bytes{0x10, 2, 4, 0x03, 0x12, 2, 1, 1}));
    // While hung up, a stop-bit change waits for the line to come back.
    PtyLine down2 = down;
    down2.two_stop_bits = true;
    EXPECT_TRUE(change_commands(line(down), line(down2)).empty());
}

TEST(Describe, ReadsLikeTheUsualShorthand) {
    PtyLine p;
    p.baud = 115200;
    p.rts_cts = true;
    EXPECT_EQ(describe(line(p)), "115200 8N1, flow rts_cts");
    p.two_stop_bits = true;
    p.rts_cts = false;
    p.ixon = true;
    EXPECT_EQ(describe(line(p, {7, config::Parity::Even})), "115200 7E2, flow xon_xoff(tx)");
    p.baud = 0;
    EXPECT_EQ(describe(line(p, {5, config::Parity::Mark})),
              "B0 (hung up) 5M1.5, flow xon_xoff(tx)");
}

}  // namespace
}  // namespace sg::client::real_com
