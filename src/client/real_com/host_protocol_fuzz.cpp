// host_protocol_fuzz.cpp: libFuzzer target over HostProtocol::feed (host_protocol.h), which reads
// the untrusted bytes a device sends on the command channel. The first input byte picks the
// line the session opens with and a split point; the rest is fed in two pieces. Invariants: never
// crashes; whatever it sends back is whole ALIVE messages (one per read holding a POLL, with the
// newest id) and at most one START_NOTIFY; a split gives the same polls, line state and last ALIVE
// id as one read.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "client/real_com/host_protocol.h"
#include "core/assert.h"

namespace rc = sg::client::real_com;

namespace {

/// What a HostProtocol sent: the ids of its ALIVE answers (0x28 1 id) and its START_NOTIFYs
/// (0x24 0); anything else fails the invariant.
struct Sent {
    std::vector<std::uint8_t> alive_ids;
    std::size_t start_notify = 0;
};

Sent parse(const rc::Wire& out) {
    Sent sent;
    std::size_t i = 0;
    while (i < out.size()) {
        const auto op = static_cast<std::uint8_t>(out[i]);
        if (op == 0x28) {
            SG_ASSERT(i + 3 <= out.size() && static_cast<std::uint8_t>(out[i + 1]) == 1);
            sent.alive_ids.push_back(static_cast<std::uint8_t>(out[i + 2]));
            i += 3;
        } else {
            SG_ASSERT(op == 0x24 && i + 2 <= out.size());
            ++sent.start_notify;
            i += 2;
        }
    }
    return sent;
}

}  // namespace

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

    SG_ASSERT(whole.polls() == parts.polls());
    SG_ASSERT(whole.settings_pending() == parts.settings_pending());
    SG_ASSERT(whole.line_state().notifies == parts.line_state().notifies);
    const Sent w = parse(out_whole);
    const Sent p = parse(out_parts);
    // One ALIVE per read that held a POLL (issue 14 item 4): one read, or two.
    SG_ASSERT(w.alive_ids.size() == (whole.polls() > 0 ? 1U : 0U));
    SG_ASSERT(p.alive_ids.size() <= 2 && p.alive_ids.size() >= w.alive_ids.size());
    SG_ASSERT(w.alive_ids.empty() || w.alive_ids.back() == p.alive_ids.back());
    SG_ASSERT(w.start_notify == p.start_notify && w.start_notify <= 1);
    return 0;
}
