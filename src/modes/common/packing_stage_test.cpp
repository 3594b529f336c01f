#include "modes/common/packing_stage.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sg::modes::common {
namespace {

std::span<const std::byte> bytes_of(const std::string& s) {
    return std::as_bytes(std::span(s.data(), s.size()));
}

/// The mode's side: collects frames as strings.
struct Frames final : FrameSink {
    void on_frame(std::span<const std::byte> f) override {
        out.emplace_back(reinterpret_cast<const char*>(f.data()), f.size());
    }
    std::vector<std::string> out;
};

class PackingStageTest : public ::testing::Test {
protected:
    PackingStage make(const config::PackingSettings& s) {
        return {strand_, s, frames_, [this] { ++settled_; }};
    }

    asio::io_context io_;
    core::Strand strand_ = asio::make_strand(io_);
    Frames frames_;
    int settled_ = 0;
};

TEST_F(PackingStageTest, PassthroughHandsEachReadToTheSink) {
    config::PackingSettings s;
    PackingStage stage = make(s);
    stage.feed(bytes_of("ab"));
    stage.feed(bytes_of(""));
    stage.feed(bytes_of("c"));
    EXPECT_EQ(frames_.out, (std::vector<std::string>{"ab", "c"}));
    EXPECT_FALSE(stage.waiting());
}

TEST_F(PackingStageTest, DelimiterFramesGoToTheSinkAtOnce) {
    config::PackingSettings s;
    s.delimiter_1 = ';';
    PackingStage stage = make(s);
    stage.feed(bytes_of("a;b"));
    stage.feed(bytes_of("c;"));
    EXPECT_EQ(frames_.out, (std::vector<std::string>{"a;", "bc;"}));
    EXPECT_FALSE(stage.waiting());  // no force transmit: nothing armed
}

TEST_F(PackingStageTest, ForceTransmitSendsWhatIsHeldAndSettles) {
    config::PackingSettings s;
    s.delimiter_1 = ';';
    s.force_transmit_ms = 1;
    PackingStage stage = make(s);
    stage.feed(bytes_of("a;bc"));
    EXPECT_EQ(frames_.out, (std::vector<std::string>{"a;"}));
    EXPECT_TRUE(stage.waiting());
    io_.run();
    EXPECT_EQ(frames_.out, (std::vector<std::string>{"a;", "bc"}));
    EXPECT_FALSE(stage.waiting());
    EXPECT_EQ(settled_, 1);
}

TEST_F(PackingStageTest, FlushSendsAndStopsTheTimer) {
    config::PackingSettings s;
    s.force_transmit_ms = 60'000;  // would keep io_.run() busy for a minute if not cancelled
    PackingStage stage = make(s);
    stage.feed(bytes_of("held"));
    EXPECT_TRUE(frames_.out.empty());
    stage.flush();
    EXPECT_EQ(frames_.out, (std::vector<std::string>{"held"}));
    io_.run();  // the cancelled wait completes, sends nothing more
    EXPECT_EQ(frames_.out, (std::vector<std::string>{"held"}));
    EXPECT_FALSE(stage.waiting());
    EXPECT_EQ(settled_, 1);
}

TEST_F(PackingStageTest, DiscardDropsWhatIsHeld) {
    config::PackingSettings s;
    s.force_transmit_ms = 60'000;
    PackingStage stage = make(s);
    stage.feed(bytes_of("purged"));
    stage.discard();
    io_.run();
    EXPECT_TRUE(frames_.out.empty());
    EXPECT_FALSE(stage.waiting());
    EXPECT_EQ(settled_, 1);
    stage.flush();  // nothing left to send
    EXPECT_TRUE(frames_.out.empty());
}

}  // namespace
}  // namespace sg::modes::common
