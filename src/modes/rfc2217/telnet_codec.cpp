// telnet_codec.cpp: Telnet decoding and encoding for RFC 2217 mode. Called by the RFC 2217
// session on the port strand for every network read and every reply; also by the unit tests and
// the libFuzzer target. Pure byte work: no I/O, no clock, no allocation beyond the output vectors.
#include "modes/rfc2217/telnet_codec.h"

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

void TelnetDecoder::feed(std::span<const std::byte> wire, Decoded& out) {
    for (std::byte byte : wire) {
        const std::uint8_t b = u8(byte);
        switch (state_) {
            case State::Data:
                if (b == kIac) {
                    state_ = State::Iac;
                    break;
                }
                // RFC 854: outside binary mode a bare CR is sent as CR NUL; the NUL is not data.
                if (nvt_cr_nul_ && last_cr_ && b == kNul) {
                    last_cr_ = false;
                    break;
                }
                last_cr_ = b == kCr;
                out.data.push_back(byte);
                break;
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
    out.reserve(out.size() + data.size());
    for (std::byte b : data) {
        out.push_back(b);
        if (u8(b) == kIac) out.push_back(b);
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
