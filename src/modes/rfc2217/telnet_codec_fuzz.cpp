// telnet_codec_fuzz.cpp: libFuzzer target over the RFC 2217 / Telnet decoder, the Q-method option
// table and the COM-PORT server (security requirements FZ-1: "RFC 2217/Telnet options"). The
// first input byte picks how the rest is split into feeds, as TCP would split it. Invariants:
// never crashes; event offsets stay inside the data of their feed; no subnegotiation value
// exceeds kMaxSubnegotiation; every request re-encodes and decodes to itself; one negotiation is
// answered with at most one negotiation; every answer of the server decodes as COM-PORT only.
#include <cstddef>
#include <cstdint>
#include <span>

#include "core/assert.h"
#include "modes/rfc2217/com_port.h"
#include "modes/rfc2217/telnet_codec.h"

using namespace sg;                  // NOLINT(google-build-using-namespace): fuzz target
using namespace sg::modes::rfc2217;  // NOLINT(google-build-using-namespace)

namespace {

void check_answers(const std::vector<std::byte>& out) {
    TelnetDecoder d;
    Decoded dec;
    d.feed(out, dec);
    SG_ASSERT(dec.data.empty());
    for (const auto& e : dec.events) SG_ASSERT(std::holds_alternative<ComPortRequest>(e.what));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0 || size > 64 * 1024) return 0;
    const std::size_t chunk = 1 + data[0] % 16;
    const auto in = std::as_bytes(std::span(data + 1, size - 1));

    asio::io_context io;
    config::SerialSettings s;
    auto dev = serial::open(asio::make_strand(io), "sim:loopback", s);
    SG_ASSERT(dev.ok());
    ComPortServer server(**dev, "fuzz");
    OptionTable options;
    for (std::uint8_t o : {kOptBinary, kOptSga, kOptComPort}) {
        options.accept_local(o);
        options.accept_remote(o);
    }
    TelnetDecoder decoder;
    decoder.set_nvt_cr_nul(data[0] >= 128);

    for (std::size_t i = 0; i < in.size(); i += chunk) {
        Decoded out;
        decoder.feed(in.subspan(i, std::min(chunk, in.size() - i)), out);
        std::size_t at = 0;
        for (const Event& e : out.events) {
            SG_ASSERT(e.at >= at && e.at <= out.data.size());
            at = e.at;
            if (const auto* n = std::get_if<Negotiation>(&e.what)) {
                std::vector<std::byte> answer;
                options.receive(*n, answer);
                SG_ASSERT(answer.size() == 0 || answer.size() == 3);
            } else if (const auto* r = std::get_if<ComPortRequest>(&e.what)) {
                SG_ASSERT(r->value.size() < kMaxSubnegotiation);
                std::vector<std::byte> again;
                append_com_port(r->command, r->value, again);
                TelnetDecoder d2;
                Decoded back;
                d2.feed(again, back);
                SG_ASSERT(back.data.empty() && back.events.size() == 1);
                SG_ASSERT(std::get<ComPortRequest>(back.events[0].what) == *r);
                std::vector<std::byte> answer;
                server.handle(*r, answer);
                check_answers(answer);
            }
        }
    }
    (*dev)->close();
    return 0;
}
