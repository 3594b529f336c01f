// pair_codec_fuzz.cpp: libFuzzer target over the Pair Connection decoder, which reads bytes from
// whoever connects to a pair_slave port (or answers a pair_master). Invariants: never crashes or
// buffers more than one frame; the same input split in two gives the same frames and the same
// verdict; and what the decoder delivers re-encodes to a stream it decodes identically.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/assert.h"
#include "modes/pair/pair_codec.h"

namespace {

using namespace sg::modes::pair;

struct Outcome {
    std::vector<Item> items;
    bool ok = true;
};

Outcome decode(std::span<const std::byte> wire, std::size_t split, Role peer) {
    Decoder d(peer);
    Outcome o;
    o.ok = d.feed(wire.first(split), o.items);
    if (o.ok) o.ok = d.feed(wire.subspan(split), o.items);
    return o;
}

// Merged DATA items may come out differently split; compare the flattened content.
std::vector<std::byte> flatten(const std::vector<Item>& items) {
    std::vector<std::byte> out;
    for (const auto& it : items) {
        out.push_back(static_cast<std::byte>(it.type));
        if (it.type == FrameType::Data) out.insert(out.end(), it.data.begin(), it.data.end());
        if (it.type == FrameType::Lines) {
            std::vector<std::byte> l;
            encode_lines(it.lines, l);
            out.push_back(l.back());
        }
    }
    return out;
}

std::vector<std::byte> reencode(const std::vector<Item>& items, Role peer) {
    std::vector<std::byte> w;
    for (const auto& it : items) {
        switch (it.type) {
            case FrameType::Hello: encode_hello(peer, w); break;
            case FrameType::Data: encode_data(it.data, w); break;
            case FrameType::Lines: encode_lines(it.lines, w); break;
        }
    }
    return w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1 || size > 256 * 1024) return 0;
    // First byte: which role the peer must have, and where to split the rest.
    const Role peer = (data[0] & 1) != 0 ? Role::Slave : Role::Master;
    std::span<const std::byte> wire(reinterpret_cast<const std::byte*>(data + 1), size - 1);
    const std::size_t split = wire.empty() ? 0 : data[0] % (wire.size() + 1);

    const Outcome whole = decode(wire, wire.size(), peer);
    const Outcome parts = decode(wire, split, peer);
    SG_ASSERT(whole.ok == parts.ok);
    std::size_t data_bytes = 0;
    for (const auto& it : whole.items) data_bytes += it.data.size();
    SG_ASSERT(data_bytes <= wire.size());
    // Item boundaries of merged DATA depend on the split; content and order do not.
    std::vector<std::byte> a, b;
    for (const auto& it : whole.items) a.insert(a.end(), it.data.begin(), it.data.end());
    for (const auto& it : parts.items) b.insert(b.end(), it.data.begin(), it.data.end());
    SG_ASSERT(a == b);

    // Round trip: what was delivered, encoded again, decodes to the same content without error.
    if (!whole.items.empty()) {
        const auto again = reencode(whole.items, peer);
        const Outcome back = decode(again, again.size(), peer);
        SG_ASSERT(back.ok);
        SG_ASSERT(flatten(back.items) == flatten(whole.items));
    }
    return 0;
}
