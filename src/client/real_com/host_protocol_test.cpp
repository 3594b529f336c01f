// host_protocol_test.cpp: the host side of the command channel (host_protocol.h). Device bytes are
// written out from spec §2–§5 and fed whole, split at every byte, and coalesced.
#include "client/real_com/host_protocol.h"

#include <gtest/gtest.h>

namespace sg::client::real_com {
namespace {

using Bytes = std::vector<std::uint8_t>;

Wire w(const Bytes& b) {
    Wire out;
    for (auto x : b) out.push_back(static_cast<std::byte>(x));
    return out;
}
Bytes b(const Wire& wire) {
    Bytes out;
    for (auto x : wire) out.push_back(static_cast<std::uint8_t>(x));
    return out;
}

struct Fed {
    Bytes sent;
    std::vector<Note> notes;
};

Fed feed(HostProtocol& p, const Bytes& device) {
    Wire out;
    Fed f;
    p.feed(w(device), out, f.notes);
    f.sent = b(out);
    return f;
}

Fed feed_bytewise(HostProtocol& p, const Bytes& device) {
    Wire out;
    Fed f;
    for (auto x : device) p.feed(w({x}), out, f.notes);
    f.sent = b(out);
    return f;
}

LineSettings at(std::uint32_t baud) {
    PtyLine l;
    l.baud = baud;
    return settings_of(l, {});
}

TEST(HostProtocol, OpenSendsPortInitAndWaitsForItsLineStatus) {
    HostProtocol p;
    Wire out;
    p.open(at(9600), out);
    EXPECT_EQ(b(out), (Bytes{0x2C, 8, 6, 0x03, 1, 1, 0, 0, 0, 0}));
    EXPECT_TRUE(p.settings_pending());
    EXPECT_FALSE(p.line_state().known);

    auto f = feed(p, {0x2C, 3, 1, 0, 1});  // DSR on, CTS off, DCD on
    EXPECT_TRUE(f.sent.empty()) << "PORT_INIT with line status enables notify: no START_NOTIFY";
    EXPECT_FALSE(p.settings_pending());
    EXPECT_TRUE(p.line_state().known);
    EXPECT_TRUE(p.line_state().dsr);
    EXPECT_FALSE(p.line_state().cts);
    EXPECT_TRUE(p.line_state().dcd);
}

TEST(HostProtocol, PortInitAnsweredWithoutLineStatusIsFollowedByStartNotify) {
    for (const Bytes& reply : {Bytes{0x2C, 'O', 'K'}, Bytes{0x2C, 'N', 'A'}}) {
        HostProtocol p;
        Wire out;
        p.open(at(9600), out);
        auto f = feed(p, reply);
        EXPECT_EQ(f.sent, (Bytes{0x24, 0})) << int(reply[1]);
        EXPECT_FALSE(p.settings_pending());
    }
}

TEST(HostProtocol, CustomRateWaitsForBothReplies) {
    HostProtocol p;
    Wire out;
    p.open(at(200), out);
    EXPECT_EQ(b(out).size(), 16U);
    (void)feed(p, {0x2C, 3, 0, 0, 0});
    EXPECT_TRUE(p.settings_pending()) << "SETBAUD not answered yet";
    (void)feed(p, {0x17, 'O', 'K'});
    EXPECT_FALSE(p.settings_pending());
}

TEST(HostProtocol, PollIsAnsweredWithAliveAtOnceEvenSplitAtEveryByte) {
    HostProtocol p;
    EXPECT_EQ(feed(p, {0x27, 1, 0x05}).sent, (Bytes{0x28, 1, 0x05}));
    EXPECT_EQ(feed_bytewise(p, {0x27, 1, 0xFE}).sent, (Bytes{0x28, 1, 0xFE}));
    EXPECT_EQ(p.polls(), 2U);
    EXPECT_FALSE(p.settings_pending()) << "ALIVE expects no reply";
}

TEST(HostProtocol, NotifyUpdatesLinesAndCountsEvents) {
    HostProtocol p;
    // parity (0x01) + framing (0x02) + break (0x10) + modem change (0x20); MSR: DCD, DSR, CTS
    // on with ΔCTS; hold: new protocol bit.
    auto f = feed(p, {0x26, 0x33, 0xB1, 0x80});
    EXPECT_TRUE(f.sent.empty());
    const auto& s = p.line_state();
    EXPECT_TRUE(s.known);
    EXPECT_TRUE(s.cts);
    EXPECT_TRUE(s.dsr);
    EXPECT_TRUE(s.dcd);
    EXPECT_FALSE(s.ri);
    EXPECT_EQ(s.parity_errors, 1U);
    EXPECT_EQ(s.framing_errors, 1U);
    EXPECT_EQ(s.breaks, 1U);
    EXPECT_EQ(s.overruns, 0U);
    EXPECT_EQ(s.hold, 0x80);
    ASSERT_FALSE(f.notes.empty());
    EXPECT_EQ(f.notes[0].level, Note::Level::Debug);

    (void)feed(p, {0x26, 0x0C, 0x40, 0x80});  // both overruns count once; RI only
    EXPECT_EQ(p.line_state().overruns, 1U);
    EXPECT_TRUE(p.line_state().ri);
    EXPECT_FALSE(p.line_state().cts);
    EXPECT_EQ(p.line_state().notifies, 2U);
}

TEST(HostProtocol, AFloodOfPollsInOneReadGetsOneAlive) {
    // issue 14 item 4: a device flooding POLL gets one 3-byte answer per read, not one per poll.
    HostProtocol p;
    Bytes device;
    for (int i = 1; i <= 170; ++i) {
        device.insert(device.end(), {0x27, 1, static_cast<std::uint8_t>(i)});
    }
    auto f = feed(p, device);
    EXPECT_EQ(f.sent, (Bytes{0x28, 1, 170}));
    EXPECT_EQ(p.polls(), 170U);
    EXPECT_EQ(f.notes.size(), 1U);
}

TEST(HostProtocol, CoalescedAndSplitStreamsGiveTheSameResult) {
    const Bytes device = {0x2C, 3,    1,    1,    1,  // PORT_INIT reply
                          0x26, 0x01, 0x30, 0x80,     // NOTIFY: parity error, CTS + DSR
                          0x27, 1,    9,              // POLL 9
                          0x10, 'O',  'K',            // IOCTL OK
                          0x99, 2,    'x',  'y',      // unknown opcode, skipped by length
                          0x27, 1,    10};            // POLL 10
    for (bool split : {false, true}) {
        HostProtocol p;
        Wire out;
        p.open(at(9600), out);
        p.change(at(19200), out);
        EXPECT_TRUE(p.settings_pending());
        auto f = split ? feed_bytewise(p, device) : feed(p, device);
        // Polls of one read get one ALIVE (the newest id); split, each read has its own.
        EXPECT_EQ(f.sent, split ? (Bytes{0x28, 1, 9, 0x28, 1, 10}) : (Bytes{0x28, 1, 10})) << split;
        EXPECT_EQ(p.polls(), 2U) << split;
        EXPECT_FALSE(p.settings_pending()) << split;
        EXPECT_EQ(p.line_state().parity_errors, 1U);
        EXPECT_TRUE(p.line_state().cts);
        EXPECT_TRUE(p.line_state().dsr);
        EXPECT_FALSE(p.line_state().dcd) << "the NOTIFY after the PORT_INIT reply wins";
    }
}

TEST(HostProtocol, ChangeSendsOnlyTheDifferenceFromWhatWasSent) {
    HostProtocol p;
    Wire out;
    p.open(at(9600), out);
    out.clear();
    p.change(at(9600), out);
    EXPECT_TRUE(out.empty());
    p.change(at(38400), out);
    EXPECT_EQ(b(out), (Bytes{0x10, 2, 8, 0x03}));
    EXPECT_EQ(p.sent().baud, 38400U);
}

TEST(HostProtocol, RefusalIsCountedAndReportedWithTheRate) {
    HostProtocol p;
    Wire out;
    p.open(at(9600), out);
    (void)feed(p, {0x2C, 3, 0, 0, 0});
    p.change(at(1000000), out);
    auto f = feed(p, {0x10, 'O', 'K', 0x17, 'N', 'A'});
    EXPECT_EQ(p.refusals(), 1U);
    EXPECT_FALSE(p.settings_pending());
    bool warned = false;
    for (const auto& n : f.notes) {
        if (n.level == Note::Level::Warn && n.text.find("SETBAUD 1000000") != std::string::npos) {
            warned = true;
        }
    }
    EXPECT_TRUE(warned);
}

TEST(HostProtocol, UnexpectedRepliesAreHarmless) {
    HostProtocol p;
    auto f = feed(p, {0x11, 'O', 'K', 0x13, 3, 1, 1, 1, 0x15, 2, 0, 0});
    EXPECT_TRUE(f.sent.empty());
    EXPECT_FALSE(p.settings_pending());
    EXPECT_TRUE(p.line_state().dsr);
}

TEST(HostProtocol, ForgettingUnansweredReleasesWaitingData) {
    HostProtocol p;
    Wire out;
    p.open(at(9600), out);
    EXPECT_TRUE(p.settings_pending());
    p.forget_unanswered();
    EXPECT_FALSE(p.settings_pending());
    auto f = feed(p, {0x2C, 3, 0, 0, 0});  // late: still understood, no harm
    EXPECT_TRUE(f.sent.empty());
}

TEST(HostProtocol, FlushHangUpAndWaitOutput) {
    HostProtocol p;
    Wire out;
    p.flush(FlushWhich::Receive, out);
    p.flush(FlushWhich::Transmit, out);
    p.flush(FlushWhich::Both, out);
    p.hang_up(out);
    p.wait_output(2000, out);
    EXPECT_EQ(b(out), (Bytes{0x14, 1, 0, 0x14, 1, 1, 0x14, 1, 2, 0x12, 2, 0, 0,  //
                             0x2F, 4, 0xD0, 0x07, 0, 0}));
    EXPECT_FALSE(p.settings_pending()) << "FLUSH, LINECTRL and WAIT_OQUEUE set no line";
    EXPECT_TRUE(p.output_pending());
    (void)feed(p, {0x14, 'O', 'K', 0x14, 'O', 'K', 0x14, 'O', 'K', 0x12, 'O', 'K'});
    EXPECT_TRUE(p.output_pending());
    (void)feed(p, {0x2F, 2, 0, 0});
    EXPECT_FALSE(p.output_pending());
}

TEST(HostProtocol, UnansweredCommandsAreBounded) {
    HostProtocol p;
    Wire out;
    p.open(at(9600), out);
    for (std::size_t i = 0; i < HostProtocol::kMaxUnanswered + 5; ++i) {
        p.flush(FlushWhich::Both, out);
    }
    EXPECT_FALSE(p.settings_pending()) << "the oldest (PORT_INIT) was forgotten";
}

}  // namespace
}  // namespace sg::client::real_com
