// host_protocol_fuzz.cpp: libFuzzer target over HostProtocol::feed (host_protocol.h), which reads
// the untrusted bytes a device sends on the command channel. The first input byte picks the
// line the session opens with and a split point; the rest is fed in two pieces. Invariants: never
// crashes, whatever it sends back is whole ALIVE messages (one per POLL), and a split gives the
// same answers and line state as one read.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "client/real_com/host_protocol.h"
#include "core/assert.h"

namespace rc = sg::client::real_com;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0 || size > 64 * 1024) return 0;
    std::span<const std::byte> wire(reinterpret_cast<const std::byte*>(data + 1), size - 1);
    const std::size_t cut = std::min<std::size_t>(data[0], wire.size());
    rc::PtyLine pty;
    pty.baud = (data[0] & 1) != 0 ? 9600 : 123457;  // with or without SETBAUD
    const rc::LineSettings line = rc::settings_of(pty, {});

    rc::HostProtocol whole;
    rc::HostProtocol parts;
    rc::Wire opened;
    whole.open(line, opened);
    parts.open(line, opened);
    rc::Wire out_whole;
    rc::Wire out_parts;
    std::vector<rc::Note> notes;
    whole.feed(wire, out_whole, notes);
    parts.feed(wire.first(cut), out_parts, notes);
    parts.feed(wire.subspan(cut), out_parts, notes);

    SG_ASSERT(out_whole == out_parts);
    SG_ASSERT(whole.polls() == parts.polls());
    SG_ASSERT(whole.settings_pending() == parts.settings_pending());
    SG_ASSERT(whole.line_state().notifies == parts.line_state().notifies);
    // Answers: ALIVE (0x28 1 id) per POLL, plus at most one START_NOTIFY (0x24 0).
    std::size_t i = 0;
    std::size_t alive = 0;
    std::size_t start_notify = 0;
    while (i < out_whole.size()) {
        const auto op = static_cast<std::uint8_t>(out_whole[i]);
        if (op == 0x28) {
            SG_ASSERT(i + 3 <= out_whole.size() &&
                      static_cast<std::uint8_t>(out_whole[i + 1]) == 1);
            ++alive;
            i += 3;
        } else {
            SG_ASSERT(op == 0x24 && i + 2 <= out_whole.size());
            ++start_notify;
            i += 2;
        }
    }
    SG_ASSERT(alive == whole.polls());
    SG_ASSERT(start_notify <= 1);
    return 0;
}
