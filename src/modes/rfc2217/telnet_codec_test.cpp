#include "modes/rfc2217/telnet_codec.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace sg::modes::rfc2217 {
namespace {

std::vector<std::byte> wire(std::initializer_list<int> bytes) {
    std::vector<std::byte> out;
    for (int b : bytes) out.push_back(static_cast<std::byte>(b));
    return out;
}

std::vector<std::byte> wire(const std::string& s) {
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    return {p, p + s.size()};
}

std::vector<std::byte> cat(std::vector<std::byte> a, const std::vector<std::byte>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

/// The decoder's output in wire order, independent of how the input was split: data runs (as
/// strings, adjacent runs merged) interleaved with events (their `at` zeroed).
struct Item {
    std::string data;
    std::optional<Event> event;
    bool operator==(const Item&) const = default;
};

std::vector<Item> decode(const std::vector<std::byte>& in, std::size_t chunk = 0,
                         bool nvt = false) {
    TelnetDecoder d;
    d.set_nvt_cr_nul(nvt);
    std::vector<Item> items;
    auto add_data = [&](std::span<const std::byte> s) {
        if (s.empty()) return;
        std::string text(reinterpret_cast<const char*>(s.data()), s.size());
        if (!items.empty() && !items.back().event) {
            items.back().data += text;
        } else {
            items.push_back({text, std::nullopt});
        }
    };
    if (chunk == 0) chunk = std::max<std::size_t>(in.size(), 1);
    for (std::size_t i = 0; i < in.size(); i += chunk) {
        Decoded out;
        d.feed(std::span(in).subspan(i, std::min(chunk, in.size() - i)), out);
        std::size_t at = 0;
        for (Event e : out.events) {
            EXPECT_LE(at, e.at);
            EXPECT_LE(e.at, out.data.size());
            add_data(std::span(out.data).subspan(at, e.at - at));
            at = e.at;
            e.at = 0;
            items.push_back({"", e});
        }
        add_data(std::span(out.data).subspan(at));
    }
    return items;
}

// Every input must decode the same however TCP happens to split it.
void expect_any_split(const std::vector<std::byte>& in, const std::vector<Item>& want,
                      bool nvt = false) {
    for (std::size_t chunk = 1; chunk <= in.size(); ++chunk) {
        EXPECT_EQ(decode(in, chunk, nvt), want) << "chunk " << chunk;
    }
}

Item data(const std::string& s) {
    return {s, std::nullopt};
}
Item ev(std::variant<Negotiation, ComPortRequest, TelnetCommand, Malformed> what) {
    return {"", Event{0, std::move(what)}};
}

TEST(TelnetDecoder, PlainDataPassesThrough) {
    expect_any_split(wire("hello\r\n"), {data("hello\r\n")});
}

TEST(TelnetDecoder, IacIacIsOneDataByte255) {
    expect_any_split(wire({'a', 255, 255, 'b', 255, 255, 255, 255}),
                     {data(std::string("a\xff"
                                       "b\xff\xff"))});
}

TEST(TelnetDecoder, NegotiationsKeepTheirPlaceInTheData) {
    const auto in = cat(cat(wire("ab"), wire({255, 251, 0, 255, 253, 44})), wire("cd"));
    expect_any_split(in, {data("ab"), ev(Negotiation{Verb::Will, kOptBinary}),
                          ev(Negotiation{Verb::Do, kOptComPort}), data("cd")});
}

TEST(TelnetDecoder, EventOffsetsIndexTheDataOfTheSameFeed) {
    TelnetDecoder d;
    Decoded out;
    d.feed(cat(cat(wire("xyz"), wire({255, 243})), wire("!")), out);
    ASSERT_EQ(out.events.size(), 1U);
    EXPECT_EQ(out.events[0].at, 3U);
    EXPECT_EQ(out.events[0].what, (decltype(out.events[0].what){TelnetCommand{kBreak}}));
    EXPECT_EQ(out.data.size(), 4U);
}

TEST(TelnetDecoder, ComPortSubnegotiationWithEscapedValue) {
    // SET-BAUDRATE 0x00FF00FF: both 255s are doubled on the wire.
    const auto in = wire({255, 250, 44, 1, 0, 255, 255, 0, 255, 255, 255, 240});
    expect_any_split(in, {ev(ComPortRequest{1, {0, 255, 0, 255}})});
}

TEST(TelnetDecoder, EmptyComPortSubnegotiationAsksForTheSignature) {
    expect_any_split(wire({255, 250, 44, 255, 240}), {ev(ComPortRequest{0, {}})});
}

TEST(TelnetDecoder, OtherSubnegotiationsAreDropped) {
    expect_any_split(cat(wire({255, 250, 24, 0, 'x', 't', 'e', 'r', 'm', 255, 240}), wire("ok")),
                     {data("ok")});
}

TEST(TelnetDecoder, OverlongSubnegotiationIsDiscardedAndTheStreamRecovers) {
    std::vector<std::byte> in = wire({255, 250, 44, 0});
    for (std::size_t i = 0; i < kMaxSubnegotiation + 10; ++i) in.push_back(std::byte{'s'});
    in = cat(cat(in, wire({255, 240})), wire("after"));
    in = cat(in, wire({255, 250, 44, 5, 8, 255, 240}));
    expect_any_split(in, {ev(Malformed{Malformed::Why::SubnegotiationTooLong}), data("after"),
                          ev(ComPortRequest{5, {8}})});
}

TEST(TelnetDecoder, SubnegotiationAtTheLimitIsKept) {
    std::vector<std::byte> in = wire({255, 250, 44, 0});
    std::vector<std::uint8_t> text(kMaxSubnegotiation - 1, 'k');
    for (auto c : text) in.push_back(std::byte{c});
    in = cat(in, wire({255, 240}));
    expect_any_split(in, {ev(ComPortRequest{0, text})});
}

TEST(TelnetDecoder, CommandInsideSubnegotiationCutsIt) {
    // IAC WILL inside a subnegotiation: the subnegotiation is dropped, the WILL still counts.
    const auto in = cat(wire({255, 250, 44, 1, 0, 255, 251, 3}), wire("z"));
    expect_any_split(in, {ev(Malformed{Malformed::Why::SubnegotiationCut}),
                          ev(Negotiation{Verb::Will, kOptSga}), data("z")});
}

TEST(TelnetDecoder, OtherCommandsAreReportedAndIacSeAloneIsNoise) {
    expect_any_split(wire({'a', 255, 246, 255, 240, 255, 241, 'b'}),
                     {data("a"), ev(TelnetCommand{246}), ev(TelnetCommand{241}), data("b")});
}

TEST(TelnetDecoder, NvtCrNulDropsTheNulOnlyWhenAsked) {
    const auto in = wire({'a', '\r', 0, 'b', '\r', '\n', 0, '\r', 255, 255});
    expect_any_split(in, {data(std::string("a\rb\r\n\0\r\xff", 8))}, /*nvt=*/true);
    expect_any_split(in, {data(std::string("a\r\0b\r\n\0\r\xff", 9))}, /*nvt=*/false);
}

// The decoder copies runs of plain data in one piece; this is the byte-at-a-time state machine
// it must match (RFC 854/855 as the header states them), on inputs dense in IAC, CR and NUL, in
// both NVT modes and with random splits.
std::vector<Item> decode_reference(const std::vector<std::byte>& in, bool nvt) {
    enum class S { Data, Iac, Verb, SbOption, Sb, SbIac } st = S::Data;
    std::vector<Item> items;
    std::string sb;
    std::uint8_t opt = 0;
    std::uint8_t verb = 0;
    bool last_cr = false;
    bool overflow = false;
    auto put = [&](std::uint8_t b) {
        if (items.empty() || items.back().event) items.push_back({"", std::nullopt});
        items.back().data += static_cast<char>(b);
    };
    auto event = [&](std::variant<Negotiation, ComPortRequest, TelnetCommand, Malformed> w) {
        items.push_back(ev(std::move(w)));
    };
    auto sb_byte = [&](std::uint8_t b) {
        if (sb.size() < kMaxSubnegotiation) {
            sb += static_cast<char>(b);
        } else {
            overflow = true;
        }
    };
    for (std::byte x : in) {
        const auto b = std::to_integer<std::uint8_t>(x);
        const bool is_verb = b >= 251 && b <= 254;
        switch (st) {
            case S::Data:
                if (b == kIac) {
                    st = S::Iac;
                } else if (nvt && last_cr && b == 0) {
                    last_cr = false;
                } else {
                    last_cr = b == '\r';
                    put(b);
                }
                break;
            case S::Iac:
                st = S::Data;
                if (b == kIac) {
                    last_cr = false;
                    put(b);
                } else if (is_verb) {
                    verb = b;
                    st = S::Verb;
                } else if (b == kSb) {
                    st = S::SbOption;
                } else if (b != kSe) {
                    event(TelnetCommand{b});
                }
                break;
            case S::Verb:
                event(Negotiation{static_cast<Verb>(verb), b});
                st = S::Data;
                break;
            case S::SbOption:
                opt = b;
                sb.clear();
                overflow = false;
                st = S::Sb;
                break;
            case S::Sb:
                if (b == kIac) {
                    st = S::SbIac;
                } else {
                    sb_byte(b);
                }
                break;
            case S::SbIac:
                if (b == kIac) {
                    sb_byte(b);
                    st = S::Sb;
                } else if (b == kSe) {
                    if (overflow) {
                        event(Malformed{Malformed::Why::SubnegotiationTooLong});
                    } else if (opt == kOptComPort) {
                        ComPortRequest r{0, {}};
                        if (!sb.empty()) {
                            r.command = static_cast<std::uint8_t>(sb[0]);
                            for (std::size_t i = 1; i < sb.size(); ++i) {
                                r.value.push_back(static_cast<std::uint8_t>(sb[i]));
                            }
                        }
                        event(std::move(r));
                    }
                    sb.clear();
                    overflow = false;
                    st = S::Data;
                } else {
                    event(Malformed{Malformed::Why::SubnegotiationCut});
                    sb.clear();
                    overflow = false;
                    if (is_verb) {
                        verb = b;
                        st = S::Verb;
                    } else if (b == kSb) {
                        st = S::SbOption;
                    } else {
                        event(TelnetCommand{b});
                        st = S::Data;
                    }
                }
                break;
        }
    }
    return items;
}

TEST(TelnetDecoder, MatchesTheByteAtATimeStateMachine) {
    // A small linear congruential generator: the same inputs on every run.
    std::uint32_t seed = 12345;
    auto next = [&seed] {
        seed = seed * 1103515245U + 12345U;
        return seed >> 8;
    };
    const int alphabet[] = {255, 255, 255, '\r', '\r', 0,   0, 250, 240,
                            251, 252, 253, 254,  44,   243, 1, 'a', 'b'};
    for (int round = 0; round < 2000; ++round) {
        std::vector<std::byte> in(next() % 200);
        for (auto& b : in) {
            b = static_cast<std::byte>(next() % 4 == 0 ? next() % 256
                                                       : alphabet[next() % std::size(alphabet)]);
        }
        const bool nvt = round % 2 == 1;
        const auto want = decode_reference(in, nvt);
        EXPECT_EQ(decode(in, 0, nvt), want) << "round " << round;
        EXPECT_EQ(decode(in, 1 + next() % 17, nvt), want) << "round " << round;
    }
}

TEST(TelnetDecoder, LongDataRunsAroundIacAndCrNul) {
    // Kilobytes of plain data between the special bytes: the run-copying path, split anywhere.
    std::string text(5000, 'x');
    for (std::size_t i = 0; i < text.size(); i += 97) text[i] = static_cast<char>(i % 251);
    std::vector<std::byte> in = cat(wire(text), wire({'\r', 0, 255, 255, '\r', 255, 241, 0}));
    in = cat(in, wire(text));
    for (bool nvt : {false, true}) {
        const auto want = decode_reference(in, nvt);
        for (std::size_t chunk : {0, 1, 7, 4096, 5001, 5003}) {
            EXPECT_EQ(decode(in, chunk, nvt), want) << "chunk " << chunk << " nvt " << nvt;
        }
    }
}

// ---------------------------------------------------------------- encoder

TEST(TelnetEncoder, EscapesEvery255) {
    std::vector<std::byte> out;
    append_escaped(wire({1, 255, 2, 255, 255}), out);
    EXPECT_EQ(out, wire({1, 255, 255, 2, 255, 255, 255, 255}));
    EXPECT_LE(out.size(), escaped_size_bound(5));
}

TEST(TelnetEncoder, EscapesLongRunsAndAppends) {
    std::vector<std::byte> data_in(3000);
    for (std::size_t i = 0; i < data_in.size(); ++i) {
        data_in[i] = static_cast<std::byte>(i % 7 == 0 ? 255 : i % 256);
    }
    std::vector<std::byte> want = wire({9});
    for (std::byte b : data_in) {
        want.push_back(b);
        if (b == std::byte{255}) want.push_back(b);
    }
    std::vector<std::byte> out = wire({9});  // appends to what is there
    append_escaped(data_in, out);
    EXPECT_EQ(out, want);
    out.clear();
    append_escaped({}, out);
    EXPECT_TRUE(out.empty());
}

TEST(TelnetEncoder, ComPortFrameEscapesItsValue) {
    std::vector<std::byte> out;
    const std::vector<std::uint8_t> value{0, 255, 1};
    append_com_port(101, value, out);
    EXPECT_EQ(out, wire({255, 250, 44, 101, 0, 255, 255, 1, 255, 240}));
    // A code byte of 255 is doubled like any 255 inside SB, and decodes back (telnet_decoder_fuzz).
    out.clear();
    append_com_port(255, value, out);
    EXPECT_EQ(out, wire({255, 250, 44, 255, 255, 0, 255, 255, 1, 255, 240}));
    TelnetDecoder d;
    Decoded back;
    d.feed(out, back);
    ASSERT_EQ(back.events.size(), 1u);
    const auto* r = std::get_if<ComPortRequest>(&back.events[0].what);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->command, 255);
    EXPECT_EQ(r->value, value);
}

TEST(TelnetEncoder, RoundTripThroughTheDecoder) {
    std::vector<std::byte> data_in;
    for (int i = 0; i < 256; ++i) data_in.push_back(static_cast<std::byte>(i));
    std::vector<std::byte> out;
    append_escaped(data_in, out);
    append_negotiation(Verb::Dont, 7, out);
    append_com_port(12, std::vector<std::uint8_t>{255}, out);
    const std::string all(reinterpret_cast<const char*>(data_in.data()), data_in.size());
    expect_any_split(out,
                     {data(all), ev(Negotiation{Verb::Dont, 7}), ev(ComPortRequest{12, {255}})});
}

// ---------------------------------------------------------------- RFC 1143

TEST(OptionTable, RequestThenAgreementEnablesWithoutAnAnswer) {
    OptionTable t;
    t.accept_remote(kOptComPort);
    std::vector<std::byte> out;
    t.request_remote(kOptComPort, out);
    EXPECT_EQ(out, wire({255, 253, 44}));
    t.request_remote(kOptComPort, out);  // already asked: nothing more
    EXPECT_EQ(out.size(), 3U);
    out.clear();
    auto c = t.receive({Verb::Will, kOptComPort}, out);
    EXPECT_TRUE(c.enabled);
    EXPECT_FALSE(c.local);
    EXPECT_TRUE(out.empty()) << "answering an answer starts a loop";
    EXPECT_TRUE(t.remote_on(kOptComPort));
}

TEST(OptionTable, UnsolicitedRequestIsAgreedOrRefused) {
    OptionTable t;
    t.accept_local(kOptBinary);
    std::vector<std::byte> out;
    EXPECT_TRUE(t.receive({Verb::Do, kOptBinary}, out).enabled);
    EXPECT_EQ(out, wire({255, 251, 0}));
    out.clear();
    EXPECT_FALSE(t.receive({Verb::Do, kOptEcho}, out).enabled);
    EXPECT_EQ(out, wire({255, 252, 1}));
    out.clear();
    EXPECT_FALSE(t.receive({Verb::Will, 24}, out).enabled);
    EXPECT_EQ(out, wire({255, 254, 24}));
    EXPECT_FALSE(t.local_on(kOptEcho));
}

TEST(OptionTable, RepeatedRequestsAreNotAnsweredAgain) {
    OptionTable t;
    t.accept_local(kOptSga);
    std::vector<std::byte> out;
    t.receive({Verb::Do, kOptSga}, out);
    out.clear();
    EXPECT_FALSE(t.receive({Verb::Do, kOptSga}, out).enabled);
    EXPECT_TRUE(out.empty());
}

TEST(OptionTable, RefusalOfOurRequestAndLaterDisable) {
    OptionTable t;
    t.accept_local(kOptBinary);
    std::vector<std::byte> out;
    t.request_local(kOptBinary, out);
    out.clear();
    t.receive({Verb::Dont, kOptBinary}, out);
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(t.local_state(kOptBinary), OptionTable::Q::No);
    // Asked again by the peer later: agreed, then turned off by the peer: acknowledged.
    EXPECT_TRUE(t.receive({Verb::Do, kOptBinary}, out).enabled);
    out.clear();
    EXPECT_TRUE(t.receive({Verb::Dont, kOptBinary}, out).disabled);
    EXPECT_EQ(out, wire({255, 252, 0}));
    out.clear();
    t.receive({Verb::Dont, kOptBinary}, out);
    EXPECT_TRUE(out.empty());
}

// Two tables wired back to back settle without a loop, whatever both ask at once.
TEST(OptionTable, TwoPeersAskingAtOnceConverge) {
    OptionTable a;
    OptionTable b;
    for (auto* t : {&a, &b}) {
        t->accept_local(kOptBinary);
        t->accept_remote(kOptBinary);
    }
    std::vector<std::byte> to_b;
    std::vector<std::byte> to_a;
    a.request_local(kOptBinary, to_b);
    a.request_remote(kOptBinary, to_b);
    b.request_local(kOptBinary, to_a);
    b.request_remote(kOptBinary, to_a);
    for (int round = 0; round < 10 && !(to_a.empty() && to_b.empty()); ++round) {
        std::vector<std::byte> next_a;
        std::vector<std::byte> next_b;
        TelnetDecoder da;
        TelnetDecoder db;
        Decoded got;
        db.feed(to_b, got);
        for (const auto& e : got.events) b.receive(std::get<Negotiation>(e.what), next_a);
        got.clear();
        da.feed(to_a, got);
        for (const auto& e : got.events) a.receive(std::get<Negotiation>(e.what), next_b);
        to_a = std::move(next_a);
        to_b = std::move(next_b);
    }
    EXPECT_TRUE(to_a.empty() && to_b.empty()) << "negotiation did not settle";
    EXPECT_TRUE(a.local_on(kOptBinary) && a.remote_on(kOptBinary));
    EXPECT_TRUE(b.local_on(kOptBinary) && b.remote_on(kOptBinary));
}

}  // namespace
}  // namespace sg::modes::rfc2217
