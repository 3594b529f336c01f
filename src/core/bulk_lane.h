// bulk_lane.h: the data plane's bulk lane (issue 12 item 2, docs/adr/0014-bulk-lane.md). Asio's
// scheduler is one FIFO: every ready completion goes to its back, and the reactor runs once per
// pass through it. When 256 ports stream, each pass holds every busy port's turn (a 16 KiB read
// fanned out to 8 clients, ~0.3 ms), and a quiet port's byte waits a whole pass per hop.
//
// A turn that moved a full buffer (Port::pump, Stream::read_some, StreamWriter::run,
// serial::write_tty) is bulk work: before its next read or write the coroutine suspends here
// (`co_await lane.yield()`) instead of going to the back of the FIFO at once. A drain handler,
// always queued while the lane holds anything, resumes a few continuations per run (at most `turns`
// or `budget`, whichever comes first), inline on their own strands, then goes to the back of the
// queue itself. So one pass runs a bounded amount of bulk work next to every quiet completion that
// became ready: a quiet hop waits about one drain run, not every busy port's turn. Bulk work always
// progresses (the drain is in the queue while the lane holds a continuation; FIFO among them).
//
// One lane per io_context (an Asio service); as many drains at once as the io_context has threads
// (its concurrency hint: serve's data plane sets it to system.io_threads), so bulk work still uses
// every core. Thread-safe (a mutex around the queue). A continuation is never lost: at stop, the
// coroutine is resumed by the next drain and sees its owner's stop flag; at the io_context's
// shutdown the ones still here are destroyed like any queued Asio handler.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <utility>

#include "core/asio.h"

namespace sg::core {

class BulkLane final : public asio::io_context::service {
public:
    static inline asio::io_context::id id;  // NOLINT: Asio's service key

    /// Continuations resumed by one drain run, at most; and its time budget (the run stops once
    /// it has resumed at least one continuation and spent this long).
    static constexpr std::size_t kTurnsPerDrain = 4;
    static constexpr std::chrono::microseconds kDrainBudget{200};

    explicit BulkLane(asio::io_context& io);
    BulkLane(const BulkLane&) = delete;
    BulkLane& operator=(const BulkLane&) = delete;
    ~BulkLane() override;

    /// The lane of `io` (made at first use). Asio's service lookup takes the io_context's
    /// registry lock; every streaming turn asks, so the thread remembers its last answer (one
    /// io_context per data thread, ADR 0015), checked against a count of lanes destroyed, so an
    /// io_context made where a destroyed one was never gets the old lane.
    static BulkLane& of(asio::io_context& io);
    /// The lane of the io_context behind `ex`; null when `ex` does not run on an io_context.
    static BulkLane* of(const Executor& ex);

    /// Suspends the caller until a drain resumes it, on the caller's executor (its strand).
    Task<void> yield() {
        asio::use_awaitable_t<> token;
        return asio::async_initiate<asio::use_awaitable_t<>, void()>(
            [this](auto handler) { push(Continuation(std::move(handler))); }, token);
    }

    /// Whether a turn that moved `moved` bytes of at most `max` was bulk work (the source
    /// streams): half the turn's bound or more. A quiet line or client moves a few bytes.
    static bool is_bulk(std::size_t moved, std::size_t max) { return moved * 2 >= max; }

    /// Tests: the drain's bounds.
    void set_limits(std::size_t turns, std::chrono::microseconds budget);
    /// Continuations waiting now.
    std::size_t waiting() const;
    /// Whether other bulk work waits in the lane (no lock: a hint, as of a moment ago). A turn
    /// that finds its I/O not ready while others stream goes back to the lane once before it
    /// waits in the reactor (serial::write_tty): by its next turn the line has usually drained.
    bool others_waiting() const { return size_.load(std::memory_order_relaxed) != 0; }

private:
    /// A suspended coroutine's completion handler, type-erased and move-only (Boost 1.81's
    /// any_completion_handler recurses when a dispatch copies it from an lvalue).
    class Continuation {
    public:
        Continuation() = default;
        template <typename Handler>
        explicit Continuation(Handler h) : impl_(std::make_unique<Impl<Handler>>(std::move(h))) {}
        /// On the handler's own executor (the coroutine's strand): inline when it is idle.
        void resume() && {
            auto impl = std::move(impl_);
            impl->resume();
        }

    private:
        struct Base {
            Base() = default;
            Base(const Base&) = delete;
            Base& operator=(const Base&) = delete;
            virtual ~Base() = default;
            virtual void resume() = 0;
        };
        template <typename H>
        struct Impl final : Base {
            explicit Impl(H&& h) : handler(std::move(h)) {}
            void resume() override { asio::dispatch(std::move(handler)); }
            H handler;
        };
        std::unique_ptr<Base> impl_;
    };

    void shutdown() override;
    void push(Continuation c);
    void drain();

    static std::atomic<std::uint64_t> destroyed_;  // lanes destroyed so far (of()'s cache)

    asio::io_context& io_;
    const unsigned max_drains_;  // the io_context's threads (concurrency hint), 1..64
    mutable std::mutex mutex_;
    std::deque<Continuation> queue_;      // under mutex_
    std::atomic<std::size_t> size_{0};    // queue_.size(), written under mutex_
    unsigned drains_ = 0;                 // drain handlers queued or running; under mutex_
    bool shut_down_ = false;              // under mutex_
    std::size_t turns_ = kTurnsPerDrain;  // under mutex_ (set_limits)
    std::chrono::microseconds budget_ = kDrainBudget;  // under mutex_
};

}  // namespace sg::core
