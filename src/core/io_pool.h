// io_pool.h: the data plane's io threads (issue 12 item 3; docs/adr/0015-io-context-per-thread.md).
// One io_context per thread, each run by its own thread and nothing else; a port is placed on one
// of them for its life (the least-loaded at its start), with every connection it accepts or opens,
// so each port's work is still on one strand (ADR 0001) and each of its completions is run by the
// thread whose reactor saw it — no hand-off of a turn between threads, no wake-up of a second
// thread per completion, one lock-free fast path per thread (Asio's `one_thread_` scheduler).
//
// Thread-safety: place()/release() are called by the owner (serve's Manager, one thread); the
// contexts themselves are thread-safe (other threads post to their strands). start() and stop()
// from the owning thread only.
#pragma once

#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

#include "core/asio.h"

namespace sg::core {

class IoPool {
public:
    /// `threads` io_contexts (at least 1), none running yet.
    explicit IoPool(unsigned threads);
    ~IoPool();
    IoPool(const IoPool&) = delete;
    IoPool& operator=(const IoPool&) = delete;

    /// Runs each io_context on a thread of its own, held by a work guard until stop().
    void start();
    /// Drops the guards, stops every io_context and joins its thread. Idempotent.
    void stop();

    std::size_t size() const { return contexts_.size(); }
    asio::io_context& at(std::size_t i) { return *contexts_[i]; }

    /// The index of the io_context with the fewest placed items (the lowest index among equals),
    /// counted as placed; release() with the same index gives it back.
    std::size_t place();
    void release(std::size_t index);
    /// Items placed on each io_context now (for tests and status).
    const std::vector<std::size_t>& load() const { return load_; }

private:
    std::vector<std::unique_ptr<asio::io_context>> contexts_;
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
    std::vector<std::thread> threads_;
    std::vector<std::size_t> load_;
};

}  // namespace sg::core
