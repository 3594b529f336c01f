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
            continue;
        }
        const int err = w < 0 ? errno : EIO;  // write(2) on a tty never returns 0 for a piece > 0
        if (err == EINTR) continue;
        if (err != EAGAIN && err != EWOULDBLOCK) {
            co_return std::tuple<std::error_code, std::size_t>{
                std::error_code(err, std::generic_category()), done};
        }
        auto [ec] = co_await descriptor.async_wait(asio::posix::stream_descriptor::wait_write,
                                                   core::use_nothrow);
        if (ec) co_return std::tuple<std::error_code, std::size_t>{std::error_code(ec), done};
        // Issue 12 item 2: the rest of a bulk write (a streaming client's turn) is written from
        // the bulk lane, not from the back of the queue where the wait completed: a quiet port's
        // byte is not queued behind every streaming port's tty writes.
        if (core::BulkLane::is_bulk(bytes.size(), core::limits::kNetReadTurnBytes)) {
            if (core::BulkLane* lane = core::BulkLane::of(descriptor.get_executor())) {
                co_await lane->yield();
            }
        }
    }
    co_return std::tuple<std::error_code, std::size_t>{std::error_code{}, done};
}

}  // namespace sg::serial
