#include "modes/real_com/aspp_codec.h"

#include <gtest/gtest.h>

#include <initializer_list>

namespace sg::modes::real_com::aspp {
namespace {

std::vector<std::byte> bytes(std::initializer_list<int> v) {
    std::vector<std::byte> out;
    for (int b : v) out.push_back(static_cast<std::byte>(b));
    return out;
}

std::vector<std::byte> cat(std::initializer_list<std::vector<std::byte>> parts) {
    std::vector<std::byte> out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

template <typename Out>
std::vector<std::byte> encode_all(const std::vector<Out>& messages) {
    std::vector<std::byte> out;
    for (const auto& m : messages) encode(m, out);
    return out;
}

// Feeds `wire` cut into pieces at `a` and `b` (a <= b), as TCP may deliver it.
template <typename Decoder, typename Out>
std::vector<Out> feed_split(const std::vector<std::byte>& wire, std::size_t a, std::size_t b) {
    Decoder d;
    std::vector<Out> out;
    std::span<const std::byte> all(wire);
    d.feed(all.first(a), out);
    d.feed(all.subspan(a, b - a), out);
    d.feed(all.subspan(b), out);
    EXPECT_EQ(d.pending(), 0U);
    return out;
}

// Every split into three pieces gives the same messages as one read.
template <typename Decoder, typename Out>
std::vector<Out> decode_any_split(const std::vector<std::byte>& wire) {
    Decoder whole;
    std::vector<Out> want;
    whole.feed(wire, want);
    const auto want_bytes = encode_all(want);
    for (std::size_t a = 0; a <= wire.size(); ++a) {
        for (std::size_t b = a; b <= wire.size(); ++b) {
            const auto got = feed_split<Decoder, Out>(wire, a, b);
            EXPECT_EQ(got.size(), want.size()) << "split at " << a << "," << b;
            EXPECT_TRUE(encode_all(got) == want_bytes) << "split at " << a << "," << b;
        }
    }
    // Byte by byte.
    Decoder d;
    std::vector<Out> one;
    for (auto byte : wire) d.feed(std::span(&byte, 1), one);
    EXPECT_TRUE(encode_all(one) == want_bytes);
    return want;
}

std::vector<Command> commands(const std::vector<std::byte>& wire) {
    return decode_any_split<CommandDecoder, Command>(wire);
}
std::vector<Reply> replies(const std::vector<std::byte>& wire) {
    return decode_any_split<ReplyDecoder, Reply>(wire);
}

std::vector<std::byte> encoded(const Command& c) {
    std::vector<std::byte> out;
    encode(c, out);
    return out;
}
std::vector<std::byte> encoded(const Reply& r) {
    std::vector<std::byte> out;
    encode(r, out);
    return out;
}

TEST(AsppBaud, TableBothWays) {
    EXPECT_EQ(baud_of_index(0), 300U);
    EXPECT_EQ(baud_of_index(6), 9600U);
    EXPECT_EQ(baud_of_index(13), 921600U);
    EXPECT_EQ(baud_of_index(14), 150U);
    EXPECT_EQ(baud_of_index(18), 50U);
    EXPECT_EQ(baud_of_index(19), std::nullopt);
    EXPECT_EQ(baud_of_index(kCustomBaudIndex), std::nullopt);
    EXPECT_EQ(baud_of_index_or_fallback(42), 38400U);  // spec §4: unknown → 38400
    for (std::uint8_t i = 0; i <= 18; ++i) EXPECT_EQ(index_of_baud(*baud_of_index(i)), i);
    EXPECT_EQ(index_of_baud(200), kCustomBaudIndex);
    EXPECT_EQ(index_of_baud(1800), kCustomBaudIndex);
}

TEST(AsppMode, DecodeAndEncode) {
    EXPECT_EQ(decode_mode(0x03), (Framing{8, config::Parity::None, config::StopBits::One}));
    EXPECT_EQ(decode_mode(0x02 | 0x08), (Framing{7, config::Parity::Even, config::StopBits::One}));
    EXPECT_EQ(decode_mode(0x03 | 0x10 | 0x04),
              (Framing{8, config::Parity::Odd, config::StopBits::Two}));
    EXPECT_EQ(decode_mode(0x00 | 0x04),
              (Framing{5, config::Parity::None, config::StopBits::OneAndHalf}));
    EXPECT_EQ(decode_mode(0x01 | 0x18).parity, config::Parity::Mark);
    EXPECT_EQ(decode_mode(0x01 | 0x20).parity, config::Parity::Space);
    EXPECT_EQ(decode_mode(0x01 | 0x28).parity, config::Parity::None);  // unknown → none
    for (int m = 0; m < 0x28; ++m) {
        if ((m & 0x38) > 0x20) continue;
        EXPECT_EQ(encode_mode(decode_mode(static_cast<std::uint8_t>(m))), m) << m;
    }
}

TEST(AsppFlow, Mapping) {
    EXPECT_EQ(flow_control_of({true, false, false, false}), config::FlowControl::RtsCts);
    EXPECT_EQ(flow_control_of({false, true, false, false}), config::FlowControl::RtsCts);
    EXPECT_EQ(flow_control_of({false, false, true, true}), config::FlowControl::XonXoff);
    EXPECT_EQ(flow_control_of({}), config::FlowControl::None);
    EXPECT_EQ(flow_control_of(flow_flags_of(config::FlowControl::XonXoff)),
              config::FlowControl::XonXoff);
}

TEST(AsppNotify, MsrAndDelta) {
    serial::ModemLines l;
    l.cts = true;
    l.dcd = true;
    EXPECT_EQ(msr_lines(l), msr::kCts | msr::kDcd);
    EXPECT_EQ(msr_with_delta(0, msr::kCts | msr::kDcd),
              msr::kCts | msr::kDcd | msr::kDeltaCts | msr::kDeltaDcd);
    EXPECT_EQ(msr_with_delta(msr::kDsr, 0), msr::kDeltaDsr);
    EXPECT_EQ(msr_with_delta(msr::kRi, 0), msr::kTrailingRi);  // trailing edge only
    EXPECT_EQ(msr_with_delta(0, msr::kRi), msr::kRi);
    EXPECT_EQ(msr_with_delta(msr::kCts, msr::kCts), msr::kCts);
}

TEST(AsppCommands, EveryOpcodeRoundTripsAtEverySplit) {
    const std::vector<Command> all = {
        Ioctl{6, 0x03},
        FlowCtrl{{true, true, false, false}},
        LineCtrl{true, false},
        LineStatusQuery{},
        Flush{2},
        InputQueueQuery{},
        OutputQueueQuery{},
        SetBaud{123456},
        XonXoff{0x11, 0x13},
        PortReset{},
        StartBreak{},
        StopBreak{},
        BreakSend{500},
        StartNotify{},
        StopNotify{},
        Alive{7},
        LinkName{"host-a"},
        PortInit{10, 0x03, true, true, {false, false, true, true}},
        ResentTime{500},
        WaitOutputQueue{1000},
        TxFifo{16},
        SetComm{6},
        DsrSensitivity{1},
        SetXon{},
        SetXoff{},
        FlushStart{2, 300},
        FlushStop{},
        BreakCountQuery{},
        DataStatusQuery{},
    };
    std::vector<std::byte> wire;
    for (const auto& c : all) encode(c, wire);
    CommandDecoder d;
    std::vector<Command> got;
    for (auto byte : wire) d.feed(std::span(&byte, 1), got);
    ASSERT_EQ(got.size(), all.size());
    for (std::size_t i = 0; i < all.size(); ++i) {
        EXPECT_EQ(got[i].index(), all[i].index()) << i;
        EXPECT_EQ(encoded(got[i]), encoded(all[i])) << i;
    }
    EXPECT_EQ(d.pending(), 0U);
}

TEST(AsppCommands, WireBytesFromTheSpec) {
    EXPECT_EQ(encoded(Ioctl{6, 0x03}), bytes({0x10, 2, 6, 3}));
    EXPECT_EQ(encoded(SetBaud{921600}), bytes({0x17, 4, 0x00, 0x10, 0x0E, 0x00}));
    EXPECT_EQ(encoded(BreakSend{0x0102}), bytes({0x23, 2, 0x01, 0x02}));  // big-endian
    EXPECT_EQ(encoded(PortReset{}), bytes({0x20, 3, '1', '6', 'a'}));
    EXPECT_EQ(encoded(LineStatusQuery{}), bytes({0x13, 0}));
    auto c = commands(bytes({0x23, 2, 0x03, 0xE8}));
    ASSERT_EQ(c.size(), 1U);
    EXPECT_EQ(std::get<BreakSend>(c[0]).duration_ms, 1000);
    c = commands(bytes({0x17, 4, 0x00, 0x96, 0x00, 0x00}));
    ASSERT_EQ(c.size(), 1U);
    EXPECT_EQ(std::get<SetBaud>(c[0]).baud, 38400U);  // bytes above 0x7F read unsigned
}

TEST(AsppCommands, CoalescedAndSplitMessagesAtEveryByte) {
    const auto wire = cat({encoded(Ioctl{8, 0x1B}), encoded(LineStatusQuery{}),
                           encoded(PortInit{0xFF, 0x03, true, false, {}}), encoded(SetBaud{200}),
                           encoded(Alive{255})});
    const auto c = commands(wire);
    ASSERT_EQ(c.size(), 5U);
    EXPECT_EQ(std::get<Ioctl>(c[0]).mode, 0x1B);
    EXPECT_TRUE(std::holds_alternative<LineStatusQuery>(c[1]));
    EXPECT_EQ(std::get<PortInit>(c[2]).baud_index, kCustomBaudIndex);
    EXPECT_TRUE(std::get<PortInit>(c[2]).dtr);
    EXPECT_FALSE(std::get<PortInit>(c[2]).rts);
    EXPECT_EQ(std::get<SetBaud>(c[3]).baud, 200U);
    EXPECT_EQ(std::get<Alive>(c[4]).id, 255);
}

TEST(AsppCommands, UnknownOpcodeSkippedByLength) {
    // 0x19 is not a command (one client wrongly uses it for SETXON); 0x7F with 200 bytes of
    // payload must not be buffered, and what follows must still parse.
    std::vector<std::byte> big = bytes({0x7F, 200});
    big.resize(202, std::byte{0x13});  // payload that looks like commands
    const auto wire = cat({bytes({0x19, 0}), big, encoded(LineStatusQuery{})});
    const auto c = commands(wire);
    ASSERT_EQ(c.size(), 3U);
    EXPECT_EQ(std::get<Skipped>(c[0]).opcode, 0x19);
    EXPECT_EQ(std::get<Skipped>(c[1]).length, 200);
    EXPECT_TRUE(std::holds_alternative<LineStatusQuery>(c[2]));
    CommandDecoder d;
    std::vector<Command> out;
    d.feed(std::span(big).first(50), out);
    EXPECT_LE(d.pending(), kMaxMessage);
}

TEST(AsppCommands, WrongLengthOfAKnownOpcodeIsSkipped) {
    const auto c = commands(
        cat({bytes({0x10, 3, 6, 3, 0}), bytes({0x13, 1, 0}), bytes({0x20, 3, 'x', 'y', 'z'}),
             bytes({0x2C, 2, 1, 2}), encoded(DataStatusQuery{})}));
    ASSERT_EQ(c.size(), 5U);
    EXPECT_EQ(std::get<Skipped>(c[0]).opcode, 0x10);
    EXPECT_EQ(std::get<Skipped>(c[1]).opcode, 0x13);
    EXPECT_EQ(std::get<Skipped>(c[2]).opcode, 0x20);
    EXPECT_EQ(std::get<Skipped>(c[3]).opcode, 0x2C);
    EXPECT_TRUE(std::holds_alternative<DataStatusQuery>(c[4]));
}

TEST(AsppCommands, MaxLengthLinkName) {
    const std::string name(255, 'n');
    const auto c = commands(encoded(LinkName{name + "cut"}));
    ASSERT_EQ(c.size(), 1U);
    EXPECT_EQ(std::get<LinkName>(c[0]).name, name);
}

TEST(AsppReplies, WireBytesFromTheSpec) {
    EXPECT_EQ(encoded(Ack{0x10, true}), bytes({0x10, 'O', 'K'}));
    EXPECT_EQ(encoded(Ack{0x17, false}), bytes({0x17, 'N', 'A'}));
    EXPECT_EQ(encoded(LineStatus{0x13, true, false, true}), bytes({0x13, 3, 1, 0, 1}));
    EXPECT_EQ(encoded(QueueLength{0x16, 0x1234}), bytes({0x16, 2, 0x34, 0x12}));
    EXPECT_EQ(encoded(BreakCount{0x0102}), bytes({0x37, 2, 0x01, 0x02}));
    EXPECT_EQ(encoded(DataStatus{0x03}), bytes({0x38, 1, 0x03}));
    EXPECT_EQ(encoded(Notify{0x20, 0x31, 0x80}), bytes({0x26, 0x20, 0x31, 0x80}));
    EXPECT_EQ(encoded(Poll{9}), bytes({0x27, 1, 9}));
    EXPECT_EQ(encoded(FlushStartReply{5, 0}), bytes({0x35, 4, 5, 0, 0, 0}));
}

TEST(AsppReplies, EveryShapeAtEverySplit) {
    const std::vector<Reply> all = {
        Ack{0x10, true},
        Ack{0x17, false},
        LineStatus{0x2C, true, true, false},
        QueueLength{0x15, 300},
        QueueLength{0x2F, 0},
        FlushStartReply{1, 2},
        BreakCount{513},
        DataStatus{0x0F},
        Notify{0x4F, 0x4E, 0x4B},
        Poll{1},
        Ack{0x38, true},
        SkippedReply{0x7E, 3},
        Notify{0x26, 0x26, 0x26},
        LineStatus{0x13, false, false, true},
    };
    std::vector<std::byte> wire;
    for (const auto& r : all) encode(r, wire);
    const auto got = replies(wire);
    ASSERT_EQ(got.size(), all.size());
    for (std::size_t i = 0; i < all.size(); ++i) {
        EXPECT_EQ(got[i].index(), all[i].index()) << i;
        EXPECT_EQ(encoded(got[i]), encoded(all[i])) << i;
    }
}

TEST(AsppReplies, LengthByteThatLooksLikeAnAck) {
    // An unknown reply of length 'O' (79) followed by a poll: the third byte is not 'K'.
    std::vector<std::byte> odd = bytes({0x7A, 'O'});
    odd.resize(2 + 'O', std::byte{0x27});
    const auto got = replies(cat({odd, encoded(Poll{3}), bytes({0x7A, 'O', 'K'})}));
    ASSERT_EQ(got.size(), 3U);
    EXPECT_EQ(std::get<SkippedReply>(got[0]).length, 'O');
    EXPECT_EQ(std::get<Poll>(got[1]).id, 3);
    EXPECT_TRUE(std::get<Ack>(got[2]).ok);
}

}  // namespace
}  // namespace sg::modes::real_com::aspp
