// telnet_decoder_fuzz.cpp: libFuzzer target over the Telnet / RFC 2217 parser alone (the decoder,
// the encoder and the Q-method option table of telnet_codec.cpp), the untrusted input of RFC 2217
// mode (security requirements FZ-1: "RFC 2217/Telnet options"). Built with telnet_codec.cpp only,
// so clang's libFuzzer build instruments it; telnet_codec_fuzz.cpp, which also drives
// ComPortServer with a SimDevice (Asio), stays the replay target of the g++ builds.
// The first input byte picks how the rest is split into feeds, as TCP would split it (1..16 bytes)
// and, from 128 on, the NVT CR NUL rule; the rest is the wire. Invariants: never crashes; event
// offsets stay inside the data of their feed and in order; decoding in pieces gives the same data
// and events as decoding at once; no subnegotiation value reaches kMaxSubnegotiation; every request
// (command 255 too: its code byte is doubled) re-encodes and decodes to itself; the option table
// answers a negotiation with nothing or one negotiation (3 bytes) of the same option, in the other
// direction; and escaping the wire bytes as data and decoding that gives them back with no events,
// whatever the split.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include "core/assert.h"
#include "modes/rfc2217/telnet_codec.h"

namespace {

using namespace sg::modes::rfc2217;  // NOLINT(google-build-using-namespace): fuzz target

/// Below this many escaped bytes every two-piece split is tried; above it, one the input picks.
constexpr std::size_t kAllSplitsUpTo = 64;

/// Feeds `wire` to a fresh decoder in pieces of `chunk` bytes; returns all the data and all the
/// events, each event's offset made relative to the whole data. Checks the per-feed offsets.
Decoded decode_in_pieces(std::span<const std::byte> wire, std::size_t chunk, bool nvt_cr_nul) {
    TelnetDecoder d;
    d.set_nvt_cr_nul(nvt_cr_nul);
    Decoded all;
    for (std::size_t i = 0; i < wire.size(); i += chunk) {
        Decoded out;
        d.feed(wire.subspan(i, std::min(chunk, wire.size() - i)), out);
        std::size_t at = 0;
        for (Event& e : out.events) {
            SG_ASSERT(e.at >= at && e.at <= out.data.size());
            at = e.at;
            e.at += all.data.size();
            all.events.push_back(std::move(e));
        }
        all.data.insert(all.data.end(), out.data.begin(), out.data.end());
    }
    return all;
}

void check_request(const ComPortRequest& r) {
    SG_ASSERT(r.value.size() < kMaxSubnegotiation);
    std::vector<std::byte> again;
    append_com_port(r.command, r.value, again);
    TelnetDecoder d;
    Decoded back;
    d.feed(again, back);
    SG_ASSERT(back.data.empty() && back.events.size() == 1);
    SG_ASSERT(std::get<ComPortRequest>(back.events[0].what) == r);
}

void check_answer(const Negotiation& n, OptionTable& options) {
    std::vector<std::byte> answer;
    options.receive(n, answer);
    SG_ASSERT(answer.empty() || answer.size() == 3);
    if (answer.empty()) return;
    TelnetDecoder d;
    Decoded back;
    d.feed(answer, back);
    SG_ASSERT(back.data.empty() && back.events.size() == 1);
    const auto& a = std::get<Negotiation>(back.events[0].what);
    SG_ASSERT(a.option == n.option);
    // WILL/WONT (the peer's option) is answered DO/DONT; DO/DONT (ours) WILL/WONT.
    const bool peer_option = n.verb == Verb::Will || n.verb == Verb::Wont;
    SG_ASSERT(peer_option == (a.verb == Verb::Do || a.verb == Verb::Dont));
}

/// Escaped data decodes to itself, with no event, in two pieces split at `split`.
void check_escaped_split(std::span<const std::byte> escaped, std::size_t split,
                         std::span<const std::byte> data) {
    TelnetDecoder d;
    Decoded out;
    d.feed(escaped.first(split), out);
    d.feed(escaped.subspan(split), out);
    SG_ASSERT(out.events.empty());
    SG_ASSERT(std::ranges::equal(out.data, data));
}

void check_escaping(std::span<const std::byte> data, std::size_t chunk, std::uint8_t pick) {
    std::vector<std::byte> escaped;
    append_escaped(data, escaped);
    SG_ASSERT(escaped.size() <= escaped_size_bound(data.size()));
    const Decoded back = decode_in_pieces(escaped, chunk, false);
    SG_ASSERT(back.events.empty());
    SG_ASSERT(std::ranges::equal(back.data, data));
    if (escaped.size() <= kAllSplitsUpTo) {
        for (std::size_t s = 0; s <= escaped.size(); ++s) check_escaped_split(escaped, s, data);
    } else {
        check_escaped_split(escaped, escaped.size() * pick / 255, data);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0 || size > 64 * 1024) return 0;
    const std::size_t chunk = 1 + data[0] % 16;
    const bool nvt_cr_nul = data[0] >= 128;
    const auto in = std::as_bytes(std::span(data + 1, size - 1));

    const Decoded pieces = decode_in_pieces(in, chunk, nvt_cr_nul);
    const Decoded whole = decode_in_pieces(in, in.empty() ? 1 : in.size(), nvt_cr_nul);
    SG_ASSERT(pieces.data == whole.data && pieces.events == whole.events);

    OptionTable options;
    for (std::uint8_t o : {kOptBinary, kOptSga, kOptComPort}) {
        options.accept_local(o);
        options.accept_remote(o);
    }
    for (const Event& e : pieces.events) {
        if (const auto* n = std::get_if<Negotiation>(&e.what)) {
            check_answer(*n, options);
        } else if (const auto* r = std::get_if<ComPortRequest>(&e.what)) {
            check_request(*r);
        }
    }

    check_escaping(in, chunk, size > 1 ? data[size - 1] : 0);
    return 0;
}
