// stream_writer.cpp: the writer coroutine of one outgoing or accepted TCP connection (TCP Client
// links, Pair Connection sessions). Runs on the port strand; push() and finish() are called there
// too, from on_serial_data and stop().
#include "modes/common/stream_writer.h"

#include <algorithm>

#include "core/bulk_lane.h"
#include "core/limits.h"

namespace sg::modes::common {

namespace {
/// Queue storage kept after the queue drained, in chunks (pointers); more is given back.
constexpr std::size_t kKeepChunks = 64;
}  // namespace

void StreamWriter::push(Chunk chunk) {
    if (aborted_ || finishing_ || chunk->empty()) return;
    queued_ += chunk->size();
    queue_.push_back(std::move(chunk));
    wake_.notify();
}

std::size_t StreamWriter::try_write(Stream& stream, std::span<const std::byte> bytes,
                                    boost::system::error_code& ec) {
    ec = {};
    if (!empty() || aborted_ || finishing_ || bytes.empty()) return 0;
    return stream.try_write(bytes, ec);
}

void StreamWriter::finish() {
    finishing_ = true;
    wake_.notify();
}

void StreamWriter::abort() {
    aborted_ = true;
    std::vector<Chunk>().swap(queue_);
    head_ = 0;
    queued_ = 0;
    wake_.notify();
}

void StreamWriter::pop(std::size_t count) {
    for (std::size_t i = head_; i < head_ + count; ++i) queue_[i].reset();
    head_ += count;
    if (head_ == queue_.size()) {
        // Drained: a connection that streamed once and went quiet keeps no queue storage.
        if (queue_.capacity() > kKeepChunks) {
            std::vector<Chunk>().swap(queue_);
        } else {
            queue_.clear();
        }
        head_ = 0;
    } else if (head_ >= kKeepChunks && head_ * 2 >= queue_.size()) {
        // Written chunks make up half the storage: move the rest to the front (amortised O(1)
        // per chunk, as a deque's pop_front).
        queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(head_));
        head_ = 0;
    }
}

core::Task<std::error_code> StreamWriter::run(Stream& stream,
                                              const std::function<void(std::size_t)>& written) {
    bool bulk = false;  // the last write was a full turn: the client streams
    while (!aborted_) {
        if (empty()) {
            if (finishing_) break;
            co_await wake_.wait();
            continue;
        }
        if (bulk) {
            // Issue 12 item 2: a streaming client's next write waits in the bulk lane, so that a
            // quiet port's completions are not queued behind every streaming client's writes.
            // Then back to the top: abort() or a drain may have come meanwhile.
            bulk = false;
            if (core::BulkLane* lane = core::BulkLane::of(stream.socket().get_executor())) {
                co_await lane->yield();
                continue;
            }
        }
        // Gather what is queued into one write: fewer syscalls under load. The chunks stay in the
        // queue (alive) until the write completed.
        std::vector<asio::const_buffer> bufs;
        const std::size_t count = std::min<std::size_t>(queue_.size() - head_, 64);
        bufs.reserve(count);
        std::size_t n = 0;
        for (std::size_t i = head_; i < head_ + count; ++i) {
            bufs.emplace_back(asio::buffer(*queue_[i]));
            n += queue_[i]->size();
        }
        auto [ec, done] = co_await stream.write(bufs);
        if (ec) co_return ec;
        if (aborted_) break;  // abort() cleared the queue while the write was pending
        pop(count);
        queued_ -= n;
        bulk = core::BulkLane::is_bulk(done, core::limits::kNetReadTurnBytes);
        if (written) written(done);
    }
    co_return std::error_code{};
}

}  // namespace sg::modes::common
