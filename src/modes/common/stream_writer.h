// stream_writer.h: the sending half of one TCP connection of the modes that fan serial data out
// to connections they made or accepted (TCP Client, Pair Connection; TCP Server and Real COM
// through common::FanOutSession). A bounded queue of shared, immutable chunks (one chunk may be
// queued on several connections) and the coroutine that writes them, gathering what is queued
// into one write. Everything on the port strand.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <system_error>
#include <vector>

#include "core/asio.h"
#include "core/signal.h"
#include "modes/common/stream.h"

namespace sg::modes::common {

using Chunk = std::shared_ptr<const std::vector<std::byte>>;

inline Chunk make_chunk(std::span<const std::byte> bytes) {
    return std::make_shared<const std::vector<std::byte>>(bytes.begin(), bytes.end());
}

class StreamWriter {
public:
    explicit StreamWriter(const core::Strand& strand) : wake_(strand) {}

    /// Queues a chunk. The caller enforces the bound (queued() against kClientQueueBytes): it
    /// either drops and counts, or pauses the serial reads until the queue drains.
    void push(Chunk chunk);
    std::size_t queued() const { return queued_; }
    /// Fast path for fan-out: when nothing is queued — so no write is in flight either, run()
    /// keeps a chunk queued until its write completed — writes `bytes` straight into `stream`
    /// (Stream::try_write: a plain socket, non-blocking) and returns how many it took; the caller
    /// queues the rest. Returns 0 without writing when something is queued, after
    /// finish()/abort(), when the socket is full, or under TLS (everything goes through run()).
    /// `ec` is set when the socket failed (would-block is not a failure).
    std::size_t try_write(Stream& stream, std::span<const std::byte> bytes,
                          boost::system::error_code& ec);
    /// Write what is queued, then let run() return (graceful end).
    void finish();
    /// Let run() return at once; queued chunks are discarded.
    void abort();
    bool finishing() const { return finishing_; }

    /// Writes queued chunks to `stream` until finish() emptied the queue, abort(), or a write
    /// fails (the error is returned; EOF-like errors are normal endings). `written(n)` runs after
    /// each write with the byte count, e.g. to count bytes and lift backpressure.
    core::Task<std::error_code> run(Stream& stream,
                                    const std::function<void(std::size_t)>& written);

private:
    bool empty() const { return head_ == queue_.size(); }
    /// The first `count` chunks were written: drop them; the storage goes back once empty.
    void pop(std::size_t count);

    // The queue: queue_[head_..]. A vector that allocates at the first queued chunk, not a deque
    // (whose empty map and first node cost every connection 576 bytes while idle: issue 12 item 1).
    std::vector<Chunk> queue_;
    std::size_t head_ = 0;
    std::size_t queued_ = 0;
    core::Signal wake_;
    bool finishing_ = false;
    bool aborted_ = false;
};

}  // namespace sg::modes::common
