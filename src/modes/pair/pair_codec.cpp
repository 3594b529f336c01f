// pair_codec.cpp: encoder and decoder of the Pair Connection framing (docs/pair-protocol.md).
// Called on the port strand by pair_session.cpp for every read and every serial chunk; the
// libFuzzer target pair_codec_fuzz.cpp drives the decoder with arbitrary bytes. No I/O.
//
// The decoder is strict: the protocol is ours on both ends, so anything unexpected (an unknown
// type, a length out of range, a frame before HELLO, a second HELLO, reserved bits set) is a
// peer that does not speak it, and the session is closed rather than guessed at.
#include "modes/pair/pair_codec.h"

#include <algorithm>
#include <cstring>

namespace sg::modes::pair {

namespace {

constexpr char kMagic[4] = {'S', 'G', 'P', 'C'};

void put_header(FrameType type, std::size_t length, std::vector<std::byte>& out) {
    out.push_back(static_cast<std::byte>(type));
    out.push_back(static_cast<std::byte>((length >> 8) & 0xff));
    out.push_back(static_cast<std::byte>(length & 0xff));
}

std::uint8_t lines_byte(const Lines& l) {
    return static_cast<std::uint8_t>((l.cts ? 0x01 : 0) | (l.dsr ? 0x02 : 0) | (l.dcd ? 0x04 : 0) |
                                     (l.ri ? 0x08 : 0));
}

}  // namespace

const char* to_string(Role role) {
    return role == Role::Master ? "master" : "slave";
}

// ---------------------------------------------------------------- encoder

void encode_hello(Role self, std::vector<std::byte>& out) {
    put_header(FrameType::Hello, kHelloSize, out);
    for (char c : kMagic) out.push_back(static_cast<std::byte>(c));
    out.push_back(static_cast<std::byte>(kVersion));
    out.push_back(static_cast<std::byte>(self));
}

void encode_data(std::span<const std::byte> bytes, std::vector<std::byte>& out) {
    while (!bytes.empty()) {
        const std::size_t n = std::min(bytes.size(), kMaxData);
        put_header(FrameType::Data, n, out);
        out.insert(out.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
        bytes = bytes.subspan(n);
    }
}

void encode_lines(const Lines& lines, std::vector<std::byte>& out) {
    put_header(FrameType::Lines, 1, out);
    out.push_back(static_cast<std::byte>(lines_byte(lines)));
}

// ---------------------------------------------------------------- decoder

bool Decoder::fail(std::string why) {
    error_ = std::move(why);
    return false;
}

// The header is in: check type and length before taking a single payload byte, so that a
// hostile length never sizes a buffer.
bool Decoder::header_complete() {
    const std::uint8_t type = header_[0];
    length_ = (std::size_t{header_[1]} << 8) | header_[2];
    switch (type) {
        case static_cast<std::uint8_t>(FrameType::Hello):
            if (hello_seen_) return fail("second HELLO");
            if (length_ != kHelloSize) return fail("HELLO of length " + std::to_string(length_));
            break;
        case static_cast<std::uint8_t>(FrameType::Data):
            if (!hello_seen_) return fail("DATA before HELLO");
            if (length_ == 0 || length_ > kMaxData) {
                return fail("DATA of length " + std::to_string(length_));
            }
            break;
        case static_cast<std::uint8_t>(FrameType::Lines):
            if (!hello_seen_) return fail("LINES before HELLO");
            if (length_ != 1) return fail("LINES of length " + std::to_string(length_));
            break;
        default:
            if (!hello_seen_) return fail("not a pair connection peer (no HELLO)");
            return fail("unknown frame type " + std::to_string(type));
    }
    payload_.clear();
    payload_.reserve(length_);
    return true;
}

bool Decoder::frame_complete(std::vector<Item>& out) {
    const auto type = static_cast<FrameType>(header_[0]);
    switch (type) {
        case FrameType::Hello: {
            if (std::memcmp(payload_.data(), kMagic, sizeof kMagic) != 0) {
                return fail("not a pair connection peer (bad HELLO magic)");
            }
            const auto version = static_cast<std::uint8_t>(payload_[4]);
            if (version != kVersion) {
                return fail("pair protocol version " + std::to_string(version) +
                            " is not supported (this side speaks 1)");
            }
            const auto role = static_cast<std::uint8_t>(payload_[5]);
            if (role != static_cast<std::uint8_t>(peer_)) {
                return fail(std::string("peer is not a pair ") + to_string(peer_));
            }
            hello_seen_ = true;
            out.push_back(Item{FrameType::Hello, peer_, {}, {}});
            break;
        }
        case FrameType::Data:
            if (!out.empty() && out.back().type == FrameType::Data) {
                auto& d = out.back().data;
                d.insert(d.end(), payload_.begin(), payload_.end());
            } else {
                out.push_back(Item{FrameType::Data, peer_, payload_, {}});
            }
            break;
        case FrameType::Lines: {
            const auto b = static_cast<std::uint8_t>(payload_[0]);
            if ((b & 0xf0) != 0) return fail("LINES with reserved bits set");
            out.push_back(
                Item{FrameType::Lines,
                     peer_,
                     {},
                     Lines{(b & 0x01) != 0, (b & 0x02) != 0, (b & 0x04) != 0, (b & 0x08) != 0}});
            break;
        }
    }
    header_have_ = 0;
    length_ = 0;
    payload_.clear();
    return true;
}

bool Decoder::feed(std::span<const std::byte> wire, std::vector<Item>& out) {
    if (failed()) return false;
    while (!wire.empty()) {
        if (header_have_ < kHeaderSize) {
            header_[header_have_++] = static_cast<std::uint8_t>(wire.front());
            wire = wire.subspan(1);
            if (header_have_ < kHeaderSize) continue;
            if (!header_complete()) return false;
            if (length_ != 0) continue;
        } else {
            const std::size_t n = std::min(wire.size(), length_ - payload_.size());
            payload_.insert(payload_.end(), wire.begin(),
                            wire.begin() + static_cast<std::ptrdiff_t>(n));
            wire = wire.subspan(n);
        }
        if (payload_.size() == length_ && !frame_complete(out)) return false;
    }
    return true;
}

}  // namespace sg::modes::pair
