// tty_write.h: writing to a tty — the serial port (TermiosDevice::write) and the Real COM client's
// pty master — a tty-sized piece per write(2).
//
// Measured on Linux 6.x ptys (bench/run, and a writer -> pty -> reader loop without SerialGate):
// one 64 KiB write(2) fills the peer's flip buffer at once, and the reader then gets its data in
// lockstep with the kernel's flush work, about 4 KiB per wake-up (~95 MiB/s); smaller pieces keep
// the pty shallow, and reads come larger and overlap the writes (~105-130 MiB/s through the TCP
// Server mode). 8 KiB rather than 2 KiB (2026-12-08, bench/README.md "Interleaved checks"): the
// same through a plain port, but a TLS port hands over whole 16 KiB records, and 2 KiB pieces
// made it 8 writes (and kernel flush wake-ups) a record: 8 KiB cut its CPU per MiB net->serial by
// 12-16 % (14 of 15 interleaved rounds), and 256 ports x 8 clients moved 3-15 % more net->serial
// for less CPU (6 of 6 alternated pairs).
// Smaller pieces cost more than they gain (1 KiB: no faster, 512 B: slower). The pieces go back
// to back while the tty takes them, and only EAGAIN waits in the event loop (asio::async_write
// would queue a completion per piece, which cost ~0.5 ms of CPU per MiB). A real UART takes at
// most its transmit buffer per call whatever it is offered, so this costs it nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>
#include <tuple>

#include "core/asio.h"

namespace sg::serial {

inline constexpr std::size_t kTtyWriteChunk = 8192;

/// Writes all of `bytes` to the tty behind `descriptor`, whose fd must be O_NONBLOCK: pieces of
/// kTtyWriteChunk, waiting for room only on EAGAIN. Returns the first error (closing the
/// descriptor ends a wait with operation_aborted) and how many bytes the tty took. The caller
/// keeps `descriptor` alive until it returns, as with asio::async_write.
/// `handed`, when given, grows by every byte the tty took as it is taken (a progress counter
/// the owner reads meanwhile). `abandon`, when given, is checked before every piece: once true the
/// write returns operation_aborted (the owner sets it and cancels the wait; a wait that had
/// already completed would otherwise go on writing).
core::Task<std::tuple<std::error_code, std::size_t>> write_tty(
    asio::posix::stream_descriptor& descriptor, std::span<const std::byte> bytes,
    std::uint64_t* handed = nullptr, const bool* abandon = nullptr);

}  // namespace sg::serial
