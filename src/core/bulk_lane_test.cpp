#include "core/bulk_lane.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <set>
#include <thread>
#include <vector>

namespace sg::core {
namespace {

using namespace std::chrono_literals;

/// A busy loop as Port::pump runs it under load: one turn, then the bulk lane, on its own strand.
struct Busy {
    std::size_t turns = 0;
    bool stop = false;
    bool ended = false;
};

Task<void> busy_loop(BulkLane& lane, Busy& b, std::size_t& all_turns) {
    while (!b.stop) {
        ++b.turns;
        ++all_turns;
        co_await lane.yield();
    }
}

void spawn_busy(asio::io_context& io, BulkLane& lane, Busy& b, std::size_t& all_turns) {
    asio::co_spawn(asio::make_strand(io), busy_loop(lane, b, all_turns),
                   [&b](const std::exception_ptr&) { b.ended = true; });
}

/// Runs handlers one at a time until `done` or the io_context has nothing left.
template <typename Pred>
void run_until(asio::io_context& io, Pred done, std::size_t max_handlers = 1'000'000) {
    for (std::size_t i = 0; i < max_handlers && !done(); ++i) {
        if (io.run_one() == 0) break;
    }
}

/// Posts a handler on a strand of its own (a quiet port's completion) and runs the io_context
/// until it ran: returns the bulk turns taken in between (`all` counts them).
std::size_t turns_before_quiet(asio::io_context& io, const std::size_t& all) {
    const std::size_t before = all;
    std::size_t at_run = 0;
    bool ran = false;
    asio::post(asio::make_strand(io), [&] {
        at_run = all;
        ran = true;
    });
    run_until(io, [&] { return ran; });
    EXPECT_TRUE(ran);
    return at_run - before;
}

// of() remembers the last lane per thread (no registry lock per turn): an io_context made after
// another was destroyed, maybe at the same address, still gets a lane of its own (ASan: the old
// one, freed, is never used).
TEST(BulkLane, EachNewIoContextGetsItsOwnLane) {
    for (int round = 0; round < 20; ++round) {
        auto io = std::make_unique<asio::io_context>(1);
        BulkLane& lane = BulkLane::of(*io);
        EXPECT_EQ(&lane, &BulkLane::of(*io));
        EXPECT_EQ(&lane, BulkLane::of(io->get_executor()));
        bool resumed = false;
        asio::co_spawn(
            *io,
            [&]() -> Task<void> {
                co_await BulkLane::of(*io).yield();
                resumed = true;
            },
            asio::detached);
        io->run();
        EXPECT_TRUE(resumed);
        EXPECT_EQ(lane.waiting(), 0U);
    }
}

TEST(BulkLane, QuietHandlerWaitsAtMostOneDrainRun) {
    // Counted in turns, not time: 64 streaming loops in the lane, one thread. A handler posted
    // meanwhile (a quiet port's completion) runs after at most `turns` bulk turns, not 64.
    asio::io_context io(1);
    BulkLane& lane = BulkLane::of(io);
    constexpr std::size_t kTurns = 2;
    lane.set_limits(kTurns, 1h);  // the turn count alone bounds a drain run here
    std::vector<Busy> busy(64);
    std::size_t all = 0;
    for (Busy& b : busy) spawn_busy(io, lane, b, all);
    run_until(io, [&] { return all >= 1000; });
    ASSERT_GE(all, 1000U);
    EXPECT_EQ(lane.waiting(), busy.size());  // between two handlers, every loop is in the lane

    for (int round = 0; round < 20; ++round) {
        EXPECT_LE(turns_before_quiet(io, all), kTurns) << "round " << round;
    }
    for (Busy& b : busy) b.stop = true;
    run_until(io, [&] {
        return std::all_of(busy.begin(), busy.end(), [](const Busy& b) { return b.ended; });
    });
    for (const Busy& b : busy) EXPECT_TRUE(b.ended);
    EXPECT_EQ(lane.waiting(), 0U);
}

TEST(BulkLane, EveryBusyLoopProgresses) {
    // FIFO among the continuations: none starves, whatever the drain's bound.
    asio::io_context io(1);
    BulkLane& lane = BulkLane::of(io);
    lane.set_limits(3, 1h);
    std::vector<Busy> busy(50);
    std::size_t all = 0;
    for (Busy& b : busy) spawn_busy(io, lane, b, all);
    run_until(io, [&] { return all >= 5000; });
    const auto [lo, hi] = std::minmax_element(
        busy.begin(), busy.end(), [](const Busy& a, const Busy& b) { return a.turns < b.turns; });
    EXPECT_GE(lo->turns, 99U);
    EXPECT_LE(hi->turns - lo->turns, 1U);
    for (Busy& b : busy) b.stop = true;
    io.run();
    for (const Busy& b : busy) EXPECT_TRUE(b.ended);
}

TEST(BulkLane, TimeBudgetEndsADrainRunAfterOneTurn) {
    // A zero budget: each drain run resumes one continuation, then the queue runs.
    asio::io_context io(1);
    BulkLane& lane = BulkLane::of(io);
    lane.set_limits(100, 0us);
    std::vector<Busy> busy(10);
    std::size_t all = 0;
    for (Busy& b : busy) spawn_busy(io, lane, b, all);
    run_until(io, [&] { return all >= 100; });
    for (int round = 0; round < 10; ++round) EXPECT_LE(turns_before_quiet(io, all), 1U);
    for (Busy& b : busy) b.stop = true;
    io.run();
    for (const Busy& b : busy) EXPECT_TRUE(b.ended);
}

/// What a coroutine's frame owns: its destructor says the frame was destroyed.
struct FrameGuard {
    std::shared_ptr<int> destroyed;
    FrameGuard(const FrameGuard&) = delete;
    FrameGuard& operator=(const FrameGuard&) = delete;
    explicit FrameGuard(std::shared_ptr<int> d) : destroyed(std::move(d)) {}
    ~FrameGuard() { ++*destroyed; }
};

TEST(BulkLane, StoppedOwnerIsResumedAndEnds) {
    // A port stopped while its pump waits in the lane: the lane resumes it (nobody cancels it),
    // it sees the stop flag and ends; then its owner may go.
    asio::io_context io(1);
    BulkLane& lane = BulkLane::of(io);
    auto owner = std::make_unique<Busy>();
    std::size_t all = 0;
    auto destroyed = std::make_shared<int>(0);
    bool done = false;
    asio::co_spawn(
        asio::make_strand(io),
        [&lane, &b = *owner, &all, destroyed]() -> Task<void> {
            FrameGuard guard(destroyed);
            co_await busy_loop(lane, b, all);
        },
        [&done](const std::exception_ptr&) { done = true; });
    run_until(io, [&] { return lane.waiting() == 1; });
    ASSERT_EQ(lane.waiting(), 1U);
    owner->stop = true;  // stop() on the strand, while the pump is in the lane
    run_until(io, [&] { return done; });
    EXPECT_TRUE(done);
    EXPECT_EQ(*destroyed, 1);
    EXPECT_EQ(lane.waiting(), 0U);
    owner.reset();  // the Port goes once its coroutine ended (Port::stop's done)
    EXPECT_EQ(io.run(), 0U);
}

TEST(BulkLane, ShutdownDestroysWaitingContinuations) {
    // serve stops its data io_context and destroys it: continuations still in the lane are
    // destroyed with their coroutine frames, never resumed (ASan: nothing leaks, nothing runs
    // after its owner).
    auto destroyed = std::make_shared<int>(0);
    std::size_t all = 0;
    std::vector<Busy> busy(8);
    std::size_t turns_at_stop = 0;
    {
        asio::io_context io(1);
        BulkLane& lane = BulkLane::of(io);
        for (Busy& b : busy) {
            asio::co_spawn(
                asio::make_strand(io),
                [&lane, &b, &all, destroyed]() -> Task<void> {
                    FrameGuard guard(destroyed);
                    co_await busy_loop(lane, b, all);
                },
                asio::detached);
        }
        run_until(io, [&] { return lane.waiting() == busy.size(); });
        ASSERT_EQ(lane.waiting(), busy.size());
        io.stop();
        turns_at_stop = all;
    }  // destroyed here, with the lane full
    EXPECT_EQ(*destroyed, static_cast<int>(busy.size()));
    EXPECT_EQ(all, turns_at_stop);  // nothing was resumed
    for (const Busy& b : busy) EXPECT_FALSE(b.ended);
}

TEST(BulkLane, DrainsOnEveryThread) {
    // An io_context run by two threads (system.io_threads 2) drains on both: bulk work is not
    // confined to one core. Each loop counts on its own strand; the totals are read after join.
    asio::io_context io(2);
    BulkLane& lane = BulkLane::of(io);
    lane.set_limits(1, 1h);
    struct Loop {
        std::size_t turns = 0;
        std::set<std::thread::id> threads;
    };
    std::vector<Loop> loops(16);
    std::atomic<bool> stop{false};
    std::atomic<std::size_t> ended{0};
    for (Loop& l : loops) {
        asio::co_spawn(
            asio::make_strand(io),
            [&lane, &l, &stop]() -> Task<void> {
                while (!stop.load()) {
                    ++l.turns;
                    l.threads.insert(std::this_thread::get_id());
                    // A turn's worth of work, so that both threads find the lane non-empty.
                    const auto until = std::chrono::steady_clock::now() + 20us;
                    while (std::chrono::steady_clock::now() < until) {
                    }
                    co_await lane.yield();
                }
            },
            [&ended](const std::exception_ptr&) { ++ended; });
    }
    std::thread a([&] { io.run(); });
    std::thread b([&] { io.run(); });
    std::this_thread::sleep_for(300ms);
    stop = true;
    a.join();
    b.join();
    EXPECT_EQ(ended.load(), loops.size());
    std::set<std::thread::id> all_threads;
    for (const Loop& l : loops) {
        EXPECT_GT(l.turns, 10U);
        all_threads.insert(l.threads.begin(), l.threads.end());
    }
    EXPECT_EQ(all_threads.size(), 2U);
}

}  // namespace
}  // namespace sg::core
