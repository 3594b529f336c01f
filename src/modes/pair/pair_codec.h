// pair_codec.h: the framing SerialGate's Pair Connection master and slave speak on their TCP
// connection (docs/pair-protocol.md), so that serial data and modem-line states interleave on
// one stream. Sans-I/O (STYLE.md §3.8): bytes in, frames out; no socket, timer or clock.
//
//   frame  = type:u8 length:u16 (big-endian) payload[length]
//   HELLO  type 0x00, length 6: "SGPC" version:u8 (1) role:u8 (0 master, 1 slave); first, once
//   DATA   type 0x01, length 1..kMaxData: serial bytes, in order
//   LINES  type 0x02, length 1: the sender's inputs, bit 0 CTS, 1 DSR, 2 DCD, 3 RI; bits 4-7 zero
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace sg::modes::pair {

inline constexpr std::uint8_t kVersion = 1;
inline constexpr std::size_t kHeaderSize = 3;
/// Largest DATA payload: bounds the decoder's buffer (a peer cannot make us hold more).
inline constexpr std::size_t kMaxData = 4096;
inline constexpr std::size_t kHelloSize = 6;

enum class FrameType : std::uint8_t { Hello = 0x00, Data = 0x01, Lines = 0x02 };
enum class Role : std::uint8_t { Master = 0, Slave = 1 };

const char* to_string(Role role);

/// Input lines of one side, as carried by a LINES frame.
struct Lines {
    bool cts = false;
    bool dsr = false;
    bool dcd = false;
    bool ri = false;
    bool operator==(const Lines&) const = default;
};

/// One decoded frame. Consecutive DATA frames of one feed() are merged into one item.
struct Item {
    FrameType type = FrameType::Data;
    Role role = Role::Master;     // Hello
    std::vector<std::byte> data;  // Data
    Lines lines;                  // Lines
};

class Decoder {
public:
    /// `peer` is the role the other side must announce in its HELLO.
    explicit Decoder(Role peer) : peer_(peer) {}

    /// Consumes wire bytes, appending each complete frame to `out`, whatever the split of the
    /// stream. Returns false on a protocol violation; error() then says which, and every later
    /// call returns false without reading.
    bool feed(std::span<const std::byte> wire, std::vector<Item>& out);

    bool failed() const { return !error_.empty(); }
    const std::string& error() const { return error_; }
    /// The peer's HELLO has been accepted.
    bool hello_seen() const { return hello_seen_; }

private:
    bool fail(std::string why);
    bool header_complete();
    bool frame_complete(std::vector<Item>& out);

    Role peer_;
    std::uint8_t header_[kHeaderSize] = {};
    std::size_t header_have_ = 0;
    std::size_t length_ = 0;
    std::vector<std::byte> payload_;
    bool hello_seen_ = false;
    std::string error_;
};

/// Appends a HELLO announcing `self`.
void encode_hello(Role self, std::vector<std::byte>& out);
/// Appends `bytes` as DATA frames of at most kMaxData bytes each (nothing for an empty span).
void encode_data(std::span<const std::byte> bytes, std::vector<std::byte>& out);
/// Appends a LINES frame.
void encode_lines(const Lines& lines, std::vector<std::byte>& out);

}  // namespace sg::modes::pair
