// aspp_codec_fuzz.cpp: libFuzzer target over the ASPP decoders (modes/real_com/aspp_codec.h),
// which read untrusted bytes from the network on both ends of Real COM. The first input byte
// picks a split point, the rest is fed to both decoders in two pieces. Invariants: never crashes,
// never holds more than one message, a split gives the same messages as one read, and every
// decoded command re-encodes to bytes that decode to the same command.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/assert.h"
#include "modes/real_com/aspp_codec.h"

namespace aspp = sg::modes::real_com::aspp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0 || size > 64 * 1024) return 0;
    const std::size_t split = data[0] % size;
    std::span<const std::byte> wire(reinterpret_cast<const std::byte*>(data + 1), size - 1);
    const std::size_t cut = std::min(split, wire.size());

    std::vector<aspp::Command> whole, parts;
    aspp::CommandDecoder a, b;
    a.feed(wire, whole);
    b.feed(wire.first(cut), parts);
    SG_ASSERT(b.pending() <= aspp::kMaxMessage);
    b.feed(wire.subspan(cut), parts);
    SG_ASSERT(a.pending() <= aspp::kMaxMessage);
    SG_ASSERT(whole.size() == parts.size());
    for (std::size_t i = 0; i < whole.size(); ++i) {
        SG_ASSERT(whole[i].index() == parts[i].index());
        if (std::holds_alternative<aspp::Skipped>(whole[i])) continue;
        std::vector<std::byte> again;
        aspp::encode(whole[i], again);
        std::vector<aspp::Command> round;
        aspp::CommandDecoder c;
        c.feed(again, round);
        SG_ASSERT(round.size() == 1 && round[0].index() == whole[i].index());
        SG_ASSERT(c.pending() == 0);
    }

    std::vector<aspp::Reply> r_whole, r_parts;
    aspp::ReplyDecoder ra, rb;
    ra.feed(wire, r_whole);
    rb.feed(wire.first(cut), r_parts);
    SG_ASSERT(rb.pending() <= aspp::kMaxMessage);
    rb.feed(wire.subspan(cut), r_parts);
    SG_ASSERT(r_whole.size() == r_parts.size());
    for (std::size_t i = 0; i < r_whole.size(); ++i) {
        SG_ASSERT(r_whole[i].index() == r_parts[i].index());
    }
    return 0;
}
