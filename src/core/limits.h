// limits.h: every bound of the data plane in one place (STYLE.md §3.9). A full queue pauses its
// producer or drops with a counter; nothing grows without a limit.
#pragma once

#include <chrono>
#include <cstddef>

namespace sg::core::limits {

/// One serial read, the port's read buffer (per port: issue 12 item 1). A pty hands out 4 KiB per
/// read and a 921600-baud line 90 KiB/s; more per turn would only hold the other ports back.
inline constexpr std::size_t kSerialReadBytes = 16 * 1024;
/// One network read: the size of each io thread's read buffer (modes/common/read_scratch.h).
inline constexpr std::size_t kNetReadBytes = 64 * 1024;
/// What one session reads per turn of the event loop (at most kNetReadBytes): a flooding client
/// takes this much per turn, and then every other ready handler runs (issue 12 item 2).
inline constexpr std::size_t kNetReadTurnBytes = 16 * 1024;
/// Bytes queued for one TCP client before the serial reader pauses (or drops, with
/// ignore_jammed_ip).
inline constexpr std::size_t kClientQueueBytes = 256 * 1024;
/// Packing buffer: the device's largest packing length.
inline constexpr std::size_t kMaxPackingLength = 1024;
/// How long a graceful stop waits for queued bytes to reach clients before closing them.
inline constexpr std::chrono::milliseconds kDrainTimeout{2000};
/// Event log: rows kept (guide §3.6, device reference §9).
inline constexpr std::size_t kEventLogCapacity = 10000;
/// Event log: Security's own share of kEventLogCapacity (issue 14 item 8; AU-3). Rows of other
/// categories never push Security below this many rows; beyond it, the oldest row of any category
/// goes first. Security events themselves may fill the whole log.
inline constexpr std::size_t kEventLogSecurityShare = 5000;
/// Event log: the "log 90 % full" Warning (AU-3) is written when the log reaches this many rows.
inline constexpr std::size_t kEventLogNearlyFull = kEventLogCapacity / 10 * 9;
/// Backoff when a serial device cannot be opened or fails (USB unplug): first and largest wait.
inline constexpr std::chrono::milliseconds kReopenFirst{500};
inline constexpr std::chrono::milliseconds kReopenMax{10000};

}  // namespace sg::core::limits
