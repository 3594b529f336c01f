// read_scratch.cpp: the per-thread network read buffer (read_scratch.h). Filled by
// Stream::read_some on the port strands of TCP Server, Real COM (data and command channels),
// RFC 2217, TCP Client and Pair Connection; the buffer belongs to whichever io thread runs the
// coroutine when it reads.
#include "modes/common/read_scratch.h"

#include <memory>

#include "core/limits.h"
#include "modes/common/stream.h"

namespace sg::modes::common {

std::span<std::byte> read_scratch() {
    // Made at the first read of this thread (threads that never read a socket never pay for it).
    thread_local std::unique_ptr<std::byte[]> buf;
    if (!buf) buf = std::make_unique_for_overwrite<std::byte[]>(core::limits::kNetReadBytes);
    return {buf.get(), core::limits::kNetReadBytes};
}

std::span<std::byte> serial_scratch() {
    thread_local std::unique_ptr<std::byte[]> buf;
    if (!buf) buf = std::make_unique_for_overwrite<std::byte[]>(core::limits::kSerialReadBytes);
    return {buf.get(), core::limits::kSerialReadBytes};
}

std::span<const std::byte> InFlight::hold(std::span<const std::byte> bytes, const Stream& from) {
    if (from.own_read_buffer()) return bytes;
    bytes_.assign(bytes.begin(), bytes.end());
    return bytes_;
}

}  // namespace sg::modes::common
