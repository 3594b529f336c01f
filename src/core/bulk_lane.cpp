// bulk_lane.cpp: the bulk lane (bulk_lane.h). yield() is called on a port or connection strand by
// Port::pump, Stream::read_some and StreamWriter::run after a full turn; drain() runs on any
// thread of the io_context, outside every strand, and resumes continuations on their strands.
#include "core/bulk_lane.h"

#include <algorithm>
#include <utility>

namespace sg::core {

namespace {

/// The io_context's concurrency hint (serve: system.io_threads) as a drain count: Asio keeps it in
/// its scheduler (no public accessor); the special values (no locking) and the default (-1) mean
/// one.
unsigned drains_for(asio::io_context& io) {
    const int hint = asio::use_service<asio::detail::io_context_impl>(io).concurrency_hint();
    return hint >= 1 && hint <= 64 ? static_cast<unsigned>(hint) : 1U;
}

}  // namespace

std::atomic<std::uint64_t> BulkLane::destroyed_{0};

BulkLane::BulkLane(asio::io_context& io)
    : asio::io_context::service(io), io_(io), max_drains_(drains_for(io)) {}

BulkLane::~BulkLane() {
    destroyed_.fetch_add(1, std::memory_order_release);
}

BulkLane& BulkLane::of(asio::io_context& io) {
    struct Cache {
        asio::io_context* io = nullptr;
        BulkLane* lane = nullptr;
        std::uint64_t destroyed = 0;
    };
    thread_local Cache cache;
    const std::uint64_t destroyed = destroyed_.load(std::memory_order_acquire);
    if (cache.io != &io || cache.destroyed != destroyed) {
        cache = {&io, &asio::use_service<BulkLane>(io), destroyed};
    }
    return *cache.lane;
}

BulkLane* BulkLane::of(const Executor& ex) {
    // The data plane's objects run on a port strand; a test's may use the io_context's executor.
    if (const auto* strand = ex.target<Strand>())
        return &of(strand->get_inner_executor().context());
    if (const auto* plain = ex.target<asio::io_context::executor_type>()) {
        return &of(plain->context());
    }
    return nullptr;
}

void BulkLane::set_limits(std::size_t turns, std::chrono::microseconds budget) {
    const std::lock_guard lock(mutex_);
    turns_ = std::max<std::size_t>(turns, 1);
    budget_ = budget;
}

std::size_t BulkLane::waiting() const {
    const std::lock_guard lock(mutex_);
    return queue_.size();
}

void BulkLane::push(Continuation c) {
    {
        std::unique_lock lock(mutex_);
        if (!shut_down_) {
            queue_.push_back(std::move(c));
            size_.store(queue_.size(), std::memory_order_relaxed);
            if (drains_ >= max_drains_) return;
            ++drains_;
            lock.unlock();
            // defer: onto this thread's queue, without waking another io thread for it (a lone
            // streaming port would otherwise move between threads at every turn).
            asio::defer(io_, [this] { drain(); });
            return;
        }
    }
    // The io_context is shutting down: destroyed here like any handler it still held (outside
    // the lock: destroying a coroutine's handler posts its frames' destruction).
    Continuation dropped = std::move(c);
}

void BulkLane::drain() {
    std::size_t turns = 0;
    std::chrono::microseconds budget{};
    {
        const std::lock_guard lock(mutex_);
        turns = turns_;
        budget = budget_;
    }
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < turns; ++i) {
        Continuation next;
        {
            const std::lock_guard lock(mutex_);
            if (queue_.empty() || shut_down_) {
                --drains_;
                return;
            }
            next = std::move(queue_.front());
            queue_.pop_front();
            size_.store(queue_.size(), std::memory_order_relaxed);
        }
        // On its strand: at once when the strand is idle (its turn runs inside this one, so the
        // budget measures it), else queued behind what the strand is running.
        std::move(next).resume();
        if (std::chrono::steady_clock::now() - start >= budget) break;
    }
    {
        const std::lock_guard lock(mutex_);
        if (queue_.empty() || shut_down_) {
            --drains_;
            return;
        }
    }
    // More waits: to the back of the queue, behind every completion that became ready meanwhile.
    asio::defer(io_, [this] { drain(); });
}

void BulkLane::shutdown() {
    std::deque<Continuation> left;
    {
        const std::lock_guard lock(mutex_);
        shut_down_ = true;
        left.swap(queue_);
        size_.store(0, std::memory_order_relaxed);
    }
    // Destroyed, not resumed (the io_context no longer runs), like the handlers Asio still holds.
    left.clear();
}

}  // namespace sg::core
