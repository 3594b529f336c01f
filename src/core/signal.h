// signal.h: a wake-up for coroutines on one strand. wait() returns after the next notify() (or at
// once if cancelled). A notify with no waiter is not remembered: waiters loop on their condition,
// which is safe because check and wait run on the same strand with no suspension between them.
#pragma once

#include <chrono>

#include "core/asio.h"

namespace sg::core {

class Signal {
public:
    explicit Signal(const Executor& ex)
        : timer_(ex, std::chrono::steady_clock::time_point::max()) {}

    Task<void> wait() { (void)co_await timer_.async_wait(use_nothrow); }
    /// Waits for a notify or until `deadline`, whichever comes first.
    Task<void> wait_until(std::chrono::steady_clock::time_point deadline) {
        asio::steady_timer t(timer_.get_executor(), deadline);
        using namespace asio::experimental::awaitable_operators;
        (void)co_await (timer_.async_wait(use_nothrow) || t.async_wait(use_nothrow));
    }
    void notify() { timer_.cancel(); }

private:
    asio::steady_timer timer_;
};

}  // namespace sg::core
