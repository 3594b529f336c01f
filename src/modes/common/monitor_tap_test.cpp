#include "modes/common/monitor_tap.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>

namespace sg::modes::common {
namespace {

std::int64_t fixed_now() {
    return 1'700'000'000'000'000;
}

std::span<const std::byte> bytes_of(const std::string& s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

std::string text_of(const TapFrame& f) {
    return {reinterpret_cast<const char*>(f.bytes.data()), f.bytes.size()};
}

TEST(MonitorTap, NoSubscriberNoFrameAndNoLock) {
    MonitorHub hub({}, &fixed_now);
    auto tap = hub.tap(1);
    EXPECT_EQ(tap->subscribers(), 0U);
    tap->offer(TapDirection::FromSerial, bytes_of("abc"));  // nobody watches: nothing kept
    std::string why;
    auto sub = hub.subscribe(1, why);
    ASSERT_TRUE(sub);
    EXPECT_TRUE(sub->take().frames.empty());
}

TEST(MonitorTap, BothDirectionsInOrderWithTimestamps) {
    MonitorHub hub({}, &fixed_now);
    std::string why;
    auto sub = hub.subscribe(3, why);
    ASSERT_TRUE(sub);
    EXPECT_EQ(sub->port(), 3U);
    auto tap = hub.tap(3);
    EXPECT_EQ(tap->subscribers(), 1U);
    tap->offer(TapDirection::ToSerial, bytes_of("hello"));
    tap->offer(TapDirection::FromSerial, bytes_of("world"));
    tap->offer(TapDirection::FromSerial, {});  // empty reads are not frames
    auto b = sub->take();
    ASSERT_EQ(b.frames.size(), 2U);
    EXPECT_EQ(b.frames[0].dir, TapDirection::ToSerial);
    EXPECT_EQ(text_of(b.frames[0]), "hello");
    EXPECT_EQ(b.frames[1].dir, TapDirection::FromSerial);
    EXPECT_EQ(text_of(b.frames[1]), "world");
    EXPECT_EQ(b.frames[0].ts_us, fixed_now());
    EXPECT_EQ(b.lost_frames, 0U);
    EXPECT_TRUE(sub->take().frames.empty());  // taken once
    EXPECT_STREQ(to_string(TapDirection::FromSerial), "rx");
    EXPECT_STREQ(to_string(TapDirection::ToSerial), "tx");
}

TEST(MonitorTap, FullQueueLosesFramesCountedPerSubscriber) {
    MonitorHub hub({.per_port = 8, .total = 16, .queue_bytes = 10, .queue_frames = 3}, &fixed_now);
    std::string why;
    auto slow = hub.subscribe(1, why);
    auto fast = hub.subscribe(1, why);
    ASSERT_TRUE(slow && fast);
    auto tap = hub.tap(1);
    // Bytes bound: 4 + 4 fit, the third 4 would make 12 > 10.
    for (int i = 0; i < 3; ++i) {
        tap->offer(TapDirection::FromSerial, bytes_of("abcd"));
        if (i < 2) {
            EXPECT_EQ(fast->take().frames.size(), 1U);  // fast keeps up
        }
    }
    EXPECT_EQ(fast->take().frames.size(), 1U);
    auto b = slow->take();
    EXPECT_EQ(b.frames.size(), 2U);
    EXPECT_EQ(b.lost_frames, 1U);
    EXPECT_EQ(b.lost_bytes, 4U);
    // Frames bound: three 1-byte frames fit, the fourth is lost.
    for (int i = 0; i < 4; ++i) tap->offer(TapDirection::ToSerial, bytes_of("x"));
    b = slow->take();
    EXPECT_EQ(b.frames.size(), 3U);
    EXPECT_EQ(b.lost_frames, 2U);  // totals since the subscription began
    EXPECT_EQ(b.lost_bytes, 5U);
    EXPECT_EQ(fast->take().lost_frames, 1U);  // it did not take meanwhile either
    // A frame larger than the whole queue is lost, not split or grown into.
    tap->offer(TapDirection::FromSerial, bytes_of(std::string(11, 'z')));
    b = fast->take();
    EXPECT_TRUE(b.frames.empty());
    EXPECT_EQ(b.lost_frames, 2U);
}

TEST(MonitorTap, CapsPerPortAndTotalAndPlacesFreedOnLeave) {
    MonitorHub hub({.per_port = 2, .total = 3, .queue_bytes = 64, .queue_frames = 8}, &fixed_now);
    std::string why;
    auto a = hub.subscribe(1, why);
    auto b = hub.subscribe(1, why);
    ASSERT_TRUE(a && b);
    EXPECT_FALSE(hub.subscribe(1, why));
    EXPECT_EQ(why, "port");
    auto c = hub.subscribe(2, why);
    ASSERT_TRUE(c);
    EXPECT_FALSE(hub.subscribe(3, why));
    EXPECT_EQ(why, "device");
    a.reset();  // leaves its tap
    EXPECT_EQ(hub.tap(1)->subscribers(), 1U);
    EXPECT_TRUE(hub.subscribe(3, why));
}

TEST(MonitorTap, TapOutlivesTheHubWhileSubscribed) {
    std::shared_ptr<TapSubscription> sub;
    std::shared_ptr<MonitorTap> tap;
    {
        MonitorHub hub({}, &fixed_now);
        std::string why;
        sub = hub.subscribe(1, why);
        tap = hub.tap(1);
    }
    tap->offer(TapDirection::FromSerial, bytes_of("still"));
    EXPECT_EQ(sub->take().frames.size(), 1U);
    sub.reset();
    EXPECT_EQ(tap->subscribers(), 0U);
}

// The port strand offers while a management thread takes and subscribers come and go: no frame
// is both delivered and counted lost, and the totals add up (run under TSan in CI).
TEST(MonitorTap, ConcurrentOfferAndTake) {
    MonitorHub hub({.per_port = 8, .total = 16, .queue_bytes = 1024, .queue_frames = 64},
                   &fixed_now);
    std::string why;
    auto sub = hub.subscribe(1, why);
    auto tap = hub.tap(1);
    constexpr int kFrames = 20000;
    std::thread producer([&] {
        for (int i = 0; i < kFrames; ++i) tap->offer(TapDirection::FromSerial, bytes_of("0123"));
    });
    std::thread churn([&] {
        for (int i = 0; i < 200; ++i) {
            std::string w;
            auto s = hub.subscribe(1, w);
        }
    });
    std::uint64_t got = 0;
    TapSubscription::Batch last;
    while (got + last.lost_frames < kFrames) {
        last = sub->take();
        got += last.frames.size();
        if (got + last.lost_frames >= kFrames) break;
        std::this_thread::yield();
    }
    producer.join();
    churn.join();
    last = sub->take();
    got += last.frames.size();
    EXPECT_EQ(got + last.lost_frames, static_cast<std::uint64_t>(kFrames));
}

}  // namespace
}  // namespace sg::modes::common
