// tty_write.h: how much one write(2) hands a tty (TermiosDevice::write).
//
// Measured on Linux 6.x ptys (bench/run, and a writer -> pty -> reader loop without SerialGate):
// one 64 KiB write(2) fills the peer's flip buffer at once, and the reader then gets its data in
// lockstep with the kernel's flush work, about 4 KiB per wake-up (~95 MiB/s); handing the tty
// 2 KiB per call — the size the kernel splits every tty write into anyway — keeps the pty shallow,
// and reads come larger and overlap the writes (~115-135 MiB/s through the TCP Server and RFC 2217
// modes). The price is more syscalls: ~+0.5 ms of CPU per MiB at full speed. Smaller chunks cost
// more than they gain (1 KiB: no faster, 512 B: slower); a real UART takes at most its transmit
// buffer per call whatever it is offered, so this costs it nothing.
#pragma once

#include <cstddef>

namespace sg::serial {

inline constexpr std::size_t kTtyWriteChunk = 2048;

}  // namespace sg::serial
