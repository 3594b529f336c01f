// telnet_codec.cpp: Telnet decoding and encoding for RFC 2217 mode. Called by the RFC 2217
// session on the port strand for every network read and every reply; also by the unit tests and
// the libFuzzer target. Pure byte work: no I/O, no clock, no allocation beyond the output vectors.
#include "modes/rfc2217/telnet_codec.h"

#include <cstring>

namespace sg::modes::rfc2217 {

namespace {

constexpr std::uint8_t kCr = 0x0D;
constexpr std::uint8_t kNul = 0x00;

std::uint8_t u8(std::byte b) {
    return std::to_integer<std::uint8_t>(b);
}

bool is_verb(std::uint8_t b) {
    return b >= static_cast<std::uint8_t>(Verb::Will) && b <= static_cast<std::uint8_t>(Verb::Dont);
}

}  // namespace

// ---------------------------------------------------------------- decoder

void TelnetDecoder::finish_subnegotiation(std::size_t at, Decoded& out) {
    if (sb_overflow_) {
        out.events.push_back({at, Malformed{Malformed::Why::SubnegotiationTooLong}});
    } else if (sb_option_ == kOptComPort) {
        ComPortRequest req{static_cast<std::uint8_t>(ComCommand::Signature), {}};
        if (sb_len_ > 0) {
            req.command = sb_[0];
            req.value.assign(sb_.begin() + 1, sb_.begin() + static_cast<std::ptrdiff_t>(sb_len_));
        }
        out.events.push_back({at, std::move(req)});
    }
    // Subnegotiations of other options are dropped: we never agreed to any of them.
    sb_len_ = 0;
    sb_overflow_ = false;
}

std::size_t TelnetDecoder::copy_data(std::span<const std::byte> run, Decoded& out) {
    // The common case, a run of plain data up to the next IAC, is copied in one piece: this is
    // the whole network → serial path of a binary-mode client, so it must not cost a branch and
    // a push_back per byte (a per-byte loop here was 80% of the process's instructions).
    const auto* p = run.data();
    const auto* end = p + run.size();
    const auto* iac = static_cast<const std::byte*>(std::memchr(p, kIac, run.size()));
    if (iac == nullptr) iac = end;
    if (!nvt_cr_nul_) {
        if (iac != p) {
            out.data.insert(out.data.end(), p, iac);
            last_cr_ = u8(iac[-1]) == kCr;
        }
    } else {
        // RFC 854: outside binary mode a bare CR is sent as CR NUL; the NUL is not data.
        while (p != iac) {
            if (last_cr_ && u8(*p) == kNul) {
                last_cr_ = false;
                ++p;
                continue;
            }
            const auto* cr = static_cast<const std::byte*>(
                std::memchr(p, kCr, static_cast<std::size_t>(iac - p)));
            const auto* stop = cr == nullptr ? iac : cr + 1;
            out.data.insert(out.data.end(), p, stop);
            last_cr_ = cr != nullptr;
            p = stop;
        }
    }
    return static_cast<std::size_t>(iac - run.data());
}

void TelnetDecoder::feed(std::span<const std::byte> wire, Decoded& out) {
    for (std::size_t i = 0; i < wire.size();) {
        if (state_ == State::Data) {
            i += copy_data(wire.subspan(i), out);
            if (i == wire.size()) break;
            state_ = State::Iac;  // wire[i] is an IAC
            ++i;
            continue;
        }
        const std::byte byte = wire[i++];
        const std::uint8_t b = u8(byte);
        switch (state_) {
            case State::Data: break;  // handled above
            case State::Iac:
                if (b == kIac) {  // IAC IAC: one data byte 255
                    last_cr_ = false;
                    out.data.push_back(byte);
                    state_ = State::Data;
                } else if (is_verb(b)) {
                    verb_ = static_cast<Verb>(b);
                    state_ = State::Verb;
                } else if (b == kSb) {
                    state_ = State::SbOption;
                } else {
                    // IAC SE outside a subnegotiation is noise; report every other command.
                    if (b != kSe) out.events.push_back({out.data.size(), TelnetCommand{b}});
                    state_ = State::Data;
                }
                break;
            case State::Verb:
                out.events.push_back({out.data.size(), Negotiation{verb_, b}});
                state_ = State::Data;
                break;
            case State::SbOption:
                sb_option_ = b;
                sb_len_ = 0;
                sb_overflow_ = false;
                state_ = State::Sb;
                break;
            case State::Sb:
                if (b == kIac) {
                    state_ = State::SbIac;
                    break;
                }
                if (sb_len_ < sb_.size()) {
                    sb_[sb_len_++] = b;
                } else {
                    sb_overflow_ = true;  // keep consuming up to IAC SE, keep nothing
                }
                break;
            case State::SbIac:
                if (b == kIac) {  // an escaped 255 inside the value
                    if (sb_len_ < sb_.size()) {
                        sb_[sb_len_++] = b;
                    } else {
                        sb_overflow_ = true;
                    }
                    state_ = State::Sb;
                } else if (b == kSe) {
                    finish_subnegotiation(out.data.size(), out);
                    state_ = State::Data;
                } else {
                    // RFC 855 allows only IAC IAC and IAC SE inside a subnegotiation. A peer that
                    // sends another command has lost framing: drop the subnegotiation and read
                    // the command as if the subnegotiation had ended (what ser2net does too).
                    out.events.push_back(
                        {out.data.size(), Malformed{Malformed::Why::SubnegotiationCut}});
                    sb_len_ = 0;
                    sb_overflow_ = false;
                    if (is_verb(b)) {
                        verb_ = static_cast<Verb>(b);
                        state_ = State::Verb;
                    } else if (b == kSb) {
                        state_ = State::SbOption;
                    } else {
                        out.events.push_back({out.data.size(), TelnetCommand{b}});
                        state_ = State::Data;
                    }
                }
                break;
        }
    }
}

// ---------------------------------------------------------------- encoder

void append_escaped(std::span<const std::byte> data, std::vector<std::byte>& out) {
    // Runs without 0xFF are copied whole (memchr + one insert): this is every serial byte of the
    // serial → network path, so no per-byte push_back.
    out.reserve(out.size() + data.size());
    const auto* p = data.data();
    const auto* end = p + data.size();
    while (p != end) {
        const auto* iac =
            static_cast<const std::byte*>(std::memchr(p, kIac, static_cast<std::size_t>(end - p)));
        if (iac == nullptr) {
            out.insert(out.end(), p, end);
            break;
        }
        out.insert(out.end(), p, iac + 1);
        out.push_back(std::byte{kIac});
        p = iac + 1;
    }
}

void append_negotiation(Verb verb, std::uint8_t option, std::vector<std::byte>& out) {
    out.push_back(std::byte{kIac});
    out.push_back(static_cast<std::byte>(verb));
    out.push_back(std::byte{option});
}

void append_com_port(std::uint8_t code, std::span<const std::uint8_t> value,
                     std::vector<std::byte>& out) {
    out.push_back(std::byte{kIac});
    out.push_back(std::byte{kSb});
    out.push_back(std::byte{kOptComPort});
    out.push_back(std::byte{code});
    if (code == kIac) out.push_back(std::byte{code});  // RFC 855: a 255 inside SB is doubled
    for (std::uint8_t v : value) {
        out.push_back(std::byte{v});
        if (v == kIac) out.push_back(std::byte{v});  // a 255 in a value is escaped too
    }
    out.push_back(std::byte{kIac});
    out.push_back(std::byte{kSe});
}

// ---------------------------------------------------------------- RFC 1143

void OptionTable::request_local(std::uint8_t option, std::vector<std::byte>& out) {
    if (local_[option] != Q::No) return;
    local_[option] = Q::WantYes;
    append_negotiation(Verb::Will, option, out);
}

void OptionTable::request_remote(std::uint8_t option, std::vector<std::byte>& out) {
    if (remote_[option] != Q::No) return;
    remote_[option] = Q::WantYes;
    append_negotiation(Verb::Do, option, out);
}

// One side of RFC 1143 §7: `yes` is true for WILL/DO, `agree`/`refuse` the verbs we answer with.
OptionTable::Change OptionTable::receive_one(Q& q, bool accept, bool yes, Verb agree, Verb refuse,
                                             std::uint8_t option, std::vector<std::byte>& out) {
    Change c;
    if (yes) {
        switch (q) {
            case Q::No:
                if (accept) {
                    q = Q::Yes;
                    c.enabled = true;
                    append_negotiation(agree, option, out);
                } else {
                    append_negotiation(refuse, option, out);
                }
                break;
            case Q::Yes: break;  // already on: answering would start a loop
            case Q::WantNo:
                q = Q::No;  // "DONT answered by WILL": an error by the peer; stay off
                break;
            case Q::WantYes:
                q = Q::Yes;
                c.enabled = true;
                break;
        }
    } else {
        switch (q) {
            case Q::No: break;
            case Q::Yes:
                q = Q::No;
                c.disabled = true;
                append_negotiation(refuse, option, out);
                break;
            case Q::WantNo:
            case Q::WantYes: q = Q::No; break;  // our request was refused or acknowledged
        }
    }
    return c;
}

OptionTable::Change OptionTable::receive(const Negotiation& n, std::vector<std::byte>& out) {
    const std::uint8_t o = n.option;
    switch (n.verb) {
        case Verb::Will:
        case Verb::Wont: {
            // The peer speaks of its own option: we answer DO or DONT.
            Change c = receive_one(remote_[o], accept_remote_[o], n.verb == Verb::Will, Verb::Do,
                                   Verb::Dont, o, out);
            c.local = false;
            return c;
        }
        case Verb::Do:
        case Verb::Dont: {
            // The peer speaks of ours: we answer WILL or WONT.
            Change c = receive_one(local_[o], accept_local_[o], n.verb == Verb::Do, Verb::Will,
                                   Verb::Wont, o, out);
            c.local = true;
            return c;
        }
    }
    return {};
}

}  // namespace sg::modes::rfc2217
