#include "modes/common/packer.h"

#include <gtest/gtest.h>

#include <string>

namespace sg::modes::common {
namespace {

/// Collects the frames as strings.
struct Frames final : FrameSink {
    void on_frame(std::span<const std::byte> f) override {
        out.emplace_back(reinterpret_cast<const char*>(f.data()), f.size());
    }
    std::vector<std::string> out;
};

std::vector<std::string> run(const config::PackingSettings& s, const std::string& input,
                             std::size_t chunk = 0, bool flush_at_end = false) {
    Packer p(s);
    Frames emit;
    const auto* bytes = reinterpret_cast<const std::byte*>(input.data());
    if (chunk == 0) chunk = input.size();
    for (std::size_t i = 0; i < input.size(); i += chunk) {
        p.feed(std::span(bytes + i, std::min(chunk, input.size() - i)), emit);
    }
    if (flush_at_end) p.flush(emit);
    return emit.out;
}

// Every rule must give the same frames however the serial reads happen to split the input.
void expect_any_split(const config::PackingSettings& s, const std::string& in,
                      const std::vector<std::string>& want, bool flush = false) {
    for (std::size_t chunk = 1; chunk <= in.size(); ++chunk) {
        EXPECT_EQ(run(s, in, chunk, flush), want) << "chunk " << chunk;
    }
}

TEST(Packer, PassthroughWhenAllOff) {
    config::PackingSettings s;
    Packer p(s);
    EXPECT_TRUE(p.passthrough());
    EXPECT_EQ(run(s, "abc", 1), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(Packer, PackingLength) {
    config::PackingSettings s;
    s.packing_length = 4;
    expect_any_split(s, "abcdefghij", {"abcd", "efgh"});
    expect_any_split(s, "abcdefghij", {"abcd", "efgh", "ij"}, true);
}

TEST(Packer, SingleDelimiterDoNothing) {
    config::PackingSettings s;
    s.delimiter_1 = '\r';
    expect_any_split(s, "ab\rcd\rx", {"ab\r", "cd\r"});
}

TEST(Packer, DelimiterPairMustMatchInOrder) {
    config::PackingSettings s;
    s.delimiter_1 = '\r';
    s.delimiter_2 = '\n';
    expect_any_split(s, "a\n\rb\r\nc", {"a\n\rb\r\n"});
}

TEST(Packer, StripDelimiter) {
    config::PackingSettings s;
    s.delimiter_1 = '\r';
    s.delimiter_2 = '\n';
    s.delimiter_process = config::DelimiterProcess::StripDelimiter;
    expect_any_split(s, "ab\r\n\r\ncd\r\n", {"ab", "cd"});
}

TEST(Packer, DelimiterPlusOneAndTwo) {
    config::PackingSettings s;
    s.delimiter_1 = 0x03;  // ETX followed by a checksum byte
    s.delimiter_process = config::DelimiterProcess::DelimiterPlus1;
    expect_any_split(s, "ab\x03Kcd\x03", {"ab\x03K"});
    s.delimiter_process = config::DelimiterProcess::DelimiterPlus2;
    expect_any_split(s, "ab\x03KLcd", {"ab\x03KL"});
    // The byte after the delimiter is taken even when it is the delimiter itself.
    s.delimiter_process = config::DelimiterProcess::DelimiterPlus1;
    expect_any_split(s, "a\x03\x03z\x03y", {"a\x03\x03", "z\x03y"});
}

TEST(Packer, LengthAndDelimiterWhicheverFirst) {
    config::PackingSettings s;
    s.packing_length = 4;
    s.delimiter_1 = ';';
    expect_any_split(s, "a;bcdefg;", {"a;", "bcde", "fg;"});
}

TEST(Packer, ForceTransmitHoldsUntilFlush) {
    config::PackingSettings s;
    s.force_transmit_ms = 100;
    Packer p(s);
    EXPECT_FALSE(p.passthrough());
    ASSERT_TRUE(p.force_transmit().has_value());
    EXPECT_EQ(p.force_transmit()->count(), 100);
    expect_any_split(s, "hello", {"hello"}, true);
    expect_any_split(s, "hello", {}, false);
}

TEST(Packer, DiscardDropsWhatIsHeld) {
    config::PackingSettings s;
    s.delimiter_1 = ';';
    s.delimiter_process = config::DelimiterProcess::DelimiterPlus2;
    Packer p(s);
    Frames f;
    const std::string in = "ab;x";
    p.feed(std::as_bytes(std::span(in.data(), in.size())), f);
    EXPECT_TRUE(p.holding());
    p.discard();
    EXPECT_FALSE(p.holding());
    // The pending "plus 2" is gone with the bytes: the next delimiter starts afresh.
    const std::string next = "cd;ef";
    p.feed(std::as_bytes(std::span(next.data(), next.size())), f);
    EXPECT_EQ(f.out, (std::vector<std::string>{"cd;ef"}));
}

TEST(Packer, BufferNeverExceedsDeviceLimit) {
    config::PackingSettings s;
    s.delimiter_1 = '\n';
    std::string big(2500, 'x');
    auto frames = run(s, big, 333);
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[0].size(), 1024u);
    EXPECT_EQ(frames[1].size(), 1024u);
}

}  // namespace
}  // namespace sg::modes::common
