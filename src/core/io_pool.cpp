// io_pool.cpp: see io_pool.h.
#include "core/io_pool.h"

#include <algorithm>

namespace sg::core {

IoPool::IoPool(unsigned threads) {
    const unsigned n = std::max(threads, 1U);
    contexts_.reserve(n);
    // Concurrency hint 1: one thread runs it, so Asio's scheduler keeps the work a handler posts
    // on that thread's private queue (no wake-up, no shared-queue lock on the fast path). It still
    // locks for posts from other threads (Manager, status, the simulated cable).
    for (unsigned i = 0; i < n; ++i) contexts_.push_back(std::make_unique<asio::io_context>(1));
    load_.assign(n, 0);
}

IoPool::~IoPool() {
    stop();
}

void IoPool::start() {
    if (!threads_.empty()) return;
    guards_.reserve(contexts_.size());
    threads_.reserve(contexts_.size());
    for (auto& c : contexts_) {
        guards_.push_back(asio::make_work_guard(*c));
        threads_.emplace_back([ctx = c.get()] { ctx->run(); });
    }
}

void IoPool::stop() {
    guards_.clear();
    for (auto& c : contexts_) c->stop();
    for (auto& t : threads_) {
        if (t.joinable()) t.join();
    }
    threads_.clear();
}

std::size_t IoPool::place() {
    const auto it = std::min_element(load_.begin(), load_.end());
    ++*it;
    return static_cast<std::size_t>(it - load_.begin());
}

void IoPool::release(std::size_t index) {
    if (index < load_.size() && load_[index] > 0) --load_[index];
}

}  // namespace sg::core
