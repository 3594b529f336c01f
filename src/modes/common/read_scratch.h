// read_scratch.h: network reads that cost a plain connection nothing while it is idle (issue 12
// item 1). A session does not own a read buffer: Stream::read_some (stream.h) waits until a plain
// socket is readable, then reads what is there, without blocking, into a buffer of the io thread
// it runs on. An idle or slow connection then holds only its socket and coroutine frames; a busy
// one holds, beyond that, only what it has in flight (the copy it keeps while it awaits the serial
// write). TLS connections read through their SSL stream into the Stream's own buffer instead.
//
// The span a read returns points into the thread's buffer: it is valid until the caller's next
// co_await (every coroutine this thread runs reads into the same buffer). A caller that awaits
// with the bytes (the serial write) copies them first, into storage sized by what it read
// (InFlight below). On the port strand.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace sg::modes::common {

class Stream;

/// The calling thread's network read buffer (core::limits::kNetReadBytes), made at its first use,
/// freed when the thread ends. Valid until the caller's next co_await.
std::span<std::byte> read_scratch();

/// The calling thread's serial read buffer (core::limits::kSerialReadBytes), made at its first
/// use: a Port reads its line into it once the line is readable (serial::Device::wait_readable)
/// and hands the bytes to its mode before its next co_await, so that a port owns no read buffer
/// (issue 12 item 1). Apart from read_scratch(): a mode may start a network read while it handles
/// serial bytes.
std::span<std::byte> serial_scratch();

/// Bytes a session read and now awaits the serial write with: a copy out of read_scratch(),
/// sized by what was read. Large buffers are given back once the write is done, so a connection
/// that streamed once and then went quiet holds none (kKeepBytes at most).
class InFlight {
public:
    static constexpr std::size_t kKeepBytes = 4096;

    /// `bytes`, just read from `from`: copied out of the thread's buffer, or handed back as they
    /// are when they stay valid until `from`'s next read (Stream::own_read_buffer(): a TLS
    /// connection's own buffer, and `from` outlives the write).
    std::span<const std::byte> hold(std::span<const std::byte> bytes, const Stream& from);
    /// The write is done: keep a small buffer for the next read, free a large one.
    void release() {
        if (bytes_.capacity() > kKeepBytes) {
            std::vector<std::byte>().swap(bytes_);
        } else {
            bytes_.clear();
        }
    }

private:
    std::vector<std::byte> bytes_;
};

}  // namespace sg::modes::common
