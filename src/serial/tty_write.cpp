// tty_write.cpp: write_tty() (tty_write.h).
#include "serial/tty_write.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/bulk_lane.h"
#include "core/limits.h"

namespace sg::serial {

core::Task<std::tuple<std::error_code, std::size_t>> write_tty(
    asio::posix::stream_descriptor& descriptor, std::span<const std::byte> bytes,
    std::uint64_t* handed, const bool* abandon) {
    std::size_t done = 0;
    // Issue 12 item 2: a bulk write (a streaming client's turn) takes its turns from the bulk
    // lane, not from the back of the event loop's queue, so a quiet port's byte is not queued
    // behind every streaming port's tty writes.
    const bool bulk = core::BulkLane::is_bulk(bytes.size(), core::limits::kNetReadTurnBytes);
    core::BulkLane* lane = bulk ? core::BulkLane::of(descriptor.get_executor()) : nullptr;
    bool from_lane = false;  // this attempt follows a turn in the lane: the tty had its chance
    while (done < bytes.size()) {
        if (!descriptor.is_open() || (abandon != nullptr && *abandon)) {
            co_return std::tuple<std::error_code, std::size_t>{
                boost::system::error_code(asio::error::operation_aborted), done};
        }
        const std::size_t piece = std::min(kTtyWriteChunk, bytes.size() - done);
        const ssize_t w = ::write(descriptor.native_handle(), bytes.data() + done, piece);
        if (w > 0) {
            done += static_cast<std::size_t>(w);
            if (handed != nullptr) *handed += static_cast<std::uint64_t>(w);
            from_lane = false;
            continue;
        }
        const int err = w < 0 ? errno : EIO;  // write(2) on a tty never returns 0 for a piece > 0
        if (err == EINTR) continue;
        if (err != EAGAIN && err != EWOULDBLOCK) {
            co_return std::tuple<std::error_code, std::size_t>{
                std::error_code(err, std::generic_category()), done};
        }
        // The tty is full. While other streaming turns wait in the lane, this one goes to its back
        // first: by the time it comes round the tty has drained, and a streaming port is served
        // from the lane alone, never through a wake-up of its own in the queue that quiet ports
        // wait in. Only a tty still full after a whole round waits for room.
        if (lane != nullptr && !from_lane && lane->others_waiting()) {
            co_await lane->yield();
            from_lane = true;
            continue;
        }
        auto [ec] = co_await descriptor.async_wait(asio::posix::stream_descriptor::wait_write,
                                                   core::use_nothrow);
        if (ec) co_return std::tuple<std::error_code, std::size_t>{std::error_code(ec), done};
        // The rest is written from the lane, not from where the wait completed.
        if (lane != nullptr) {
            co_await lane->yield();
            from_lane = true;
        }
    }
    co_return std::tuple<std::error_code, std::size_t>{std::error_code{}, done};
}

}  // namespace sg::serial
