#include "modes/pair/pair_codec.h"

#include <gtest/gtest.h>

#include <string>

namespace sg::modes::pair {
namespace {

std::vector<std::byte> bytes(std::initializer_list<int> v) {
    std::vector<std::byte> out;
    for (int b : v) out.push_back(static_cast<std::byte>(b));
    return out;
}

std::vector<std::byte> bytes(const std::string& s) {
    return {reinterpret_cast<const std::byte*>(s.data()),
            reinterpret_cast<const std::byte*>(s.data()) + s.size()};
}

std::string text(const std::vector<std::byte>& b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

/// A master's stream: HELLO, data, lines, more data split over two frames.
std::vector<std::byte> sample_stream() {
    std::vector<std::byte> w;
    encode_hello(Role::Master, w);
    encode_data(bytes("hello"), w);
    encode_lines({.cts = true, .dsr = false, .dcd = true, .ri = false}, w);
    encode_data(bytes("world"), w);
    encode_data(bytes("!"), w);
    return w;
}

/// What a decoder sees, flattened: "H" for HELLO, "D:<bytes>" for data (merged or not),
/// "L:<bits>" for lines.
std::string decode_all(const std::vector<std::byte>& wire, std::size_t chunk, Role peer,
                       std::string* error = nullptr) {
    Decoder d(peer);
    std::string data;
    std::string out;
    auto flush_data = [&] {
        if (!data.empty()) out += "D:" + data + " ";
        data.clear();
    };
    for (std::size_t i = 0; i < wire.size(); i += chunk) {
        std::vector<Item> items;
        const bool ok = d.feed(std::span(wire).subspan(i, std::min(chunk, wire.size() - i)), items);
        for (const auto& it : items) {
            if (it.type == FrameType::Data) {
                data += text(it.data);
                continue;
            }
            flush_data();
            if (it.type == FrameType::Hello) out += "H ";
            if (it.type == FrameType::Lines) {
                out += std::string("L:") + (it.lines.cts ? "C" : "-") + (it.lines.dsr ? "S" : "-") +
                       (it.lines.dcd ? "D" : "-") + (it.lines.ri ? "R" : "-") + " ";
            }
        }
        if (!ok) {
            flush_data();
            if (error) *error = d.error();
            return out + "ERR";
        }
    }
    flush_data();
    return out;
}

TEST(PairCodec, EncodesTheDocumentedBytes) {
    std::vector<std::byte> w;
    encode_hello(Role::Slave, w);
    EXPECT_EQ(w, bytes({0x00, 0x00, 0x06, 'S', 'G', 'P', 'C', 0x01, 0x01}));
    w.clear();
    encode_data(bytes("ab"), w);
    EXPECT_EQ(w, bytes({0x01, 0x00, 0x02, 'a', 'b'}));
    w.clear();
    encode_lines({.cts = true, .dsr = true, .dcd = false, .ri = true}, w);
    EXPECT_EQ(w, bytes({0x02, 0x00, 0x01, 0x0b}));
}

TEST(PairCodec, DecodesWhateverTheSplit) {
    const auto wire = sample_stream();
    for (std::size_t chunk = 1; chunk <= wire.size(); ++chunk) {
        EXPECT_EQ(decode_all(wire, chunk, Role::Master), "H D:hello L:C-D- D:world! ")
            << "chunk " << chunk;
    }
}

TEST(PairCodec, LargeDataIsSplitIntoBoundedFramesAndReassembled) {
    std::string big(3 * kMaxData + 17, 'x');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
    std::vector<std::byte> w;
    encode_hello(Role::Slave, w);
    const std::size_t before = w.size();
    encode_data(bytes(big), w);
    EXPECT_EQ(w.size() - before, big.size() + 4 * kHeaderSize);  // four frames
    for (std::size_t chunk : {std::size_t{1}, std::size_t{1000}, w.size()}) {
        EXPECT_EQ(decode_all(w, chunk, Role::Slave), "H D:" + big + " ") << "chunk " << chunk;
    }
}

TEST(PairCodec, EmptyDataEncodesNothing) {
    std::vector<std::byte> w;
    encode_data({}, w);
    EXPECT_TRUE(w.empty());
}

struct Bad {
    const char* name;
    std::vector<std::byte> wire;
    const char* why;  // a word the error must contain
};

TEST(PairCodec, RefusesWhatIsNotThePairProtocol) {
    auto hello = [](int role, int version, char magic0) {
        return bytes({0x00, 0x00, 0x06, magic0, 'G', 'P', 'C', version, role});
    };
    auto after_hello = [&](std::vector<std::byte> rest) {
        auto w = hello(0, 1, 'S');
        w.insert(w.end(), rest.begin(), rest.end());
        return w;
    };
    const Bad cases[] = {
        {"http request", bytes("GET / HTTP/1.1\r\n\r\n"), "HELLO"},
        {"data before hello", bytes({0x01, 0x00, 0x01, 'x'}), "before HELLO"},
        {"lines before hello", bytes({0x02, 0x00, 0x01, 0x00}), "before HELLO"},
        {"bad magic", hello(0, 1, 'X'), "magic"},
        {"wrong version", hello(0, 2, 'S'), "version 2"},
        {"wrong role", hello(1, 1, 'S'), "master"},
        {"short hello", bytes({0x00, 0x00, 0x05, 'S', 'G', 'P', 'C', 0x01}), "length 5"},
        {"second hello", after_hello(hello(0, 1, 'S')), "second HELLO"},
        {"empty data", after_hello(bytes({0x01, 0x00, 0x00})), "length 0"},
        {"oversized data", after_hello(bytes({0x01, 0x10, 0x01})), "length 4097"},
        {"long lines", after_hello(bytes({0x02, 0x00, 0x02, 0x00, 0x00})), "length 2"},
        {"reserved bits", after_hello(bytes({0x02, 0x00, 0x01, 0x10})), "reserved"},
        {"unknown type", after_hello(bytes({0x7f, 0x00, 0x00})), "unknown"},
    };
    for (const auto& c : cases) {
        for (std::size_t chunk = 1; chunk <= c.wire.size(); ++chunk) {
            std::string error;
            const auto got = decode_all(c.wire, chunk, Role::Master, &error);
            EXPECT_TRUE(got.ends_with("ERR")) << c.name << " chunk " << chunk << ": " << got;
            EXPECT_NE(error.find(c.why), std::string::npos) << c.name << ": " << error;
        }
    }
}

TEST(PairCodec, StaysFailedAfterAnError) {
    Decoder d(Role::Slave);
    std::vector<Item> items;
    EXPECT_FALSE(d.feed(bytes({0x01, 0x00, 0x01, 'x'}), items));
    EXPECT_TRUE(d.failed());
    std::vector<std::byte> good;
    encode_hello(Role::Slave, good);
    EXPECT_FALSE(d.feed(good, items));
    EXPECT_TRUE(items.empty());
    EXPECT_FALSE(d.hello_seen());
}

TEST(PairCodec, DataAfterAnErrorInTheSameReadIsNotDelivered) {
    std::vector<std::byte> w;
    encode_hello(Role::Master, w);
    encode_data(bytes("ok"), w);
    const auto bad = bytes({0x09, 0x00, 0x00});
    w.insert(w.end(), bad.begin(), bad.end());
    encode_data(bytes("late"), w);
    EXPECT_EQ(decode_all(w, w.size(), Role::Master), "H D:ok ERR");
}

}  // namespace
}  // namespace sg::modes::pair
