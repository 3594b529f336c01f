// stream_test.cpp: common::Stream over loopback, plain and TLS (a fixture certificate): what a read
// returns, the fan-out fast path (TLS: none), gathered writes packed into records, the handshake
// timeout, a plain peer and a peer without a client certificate under mutual TLS, the peer's name
// kept from accept, TLS reads kept without a copy, no SIGPIPE from a TLS write to a reset peer.
#include "modes/common/stream.h"

#include <gtest/gtest.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <string>
#include <thread>

#include "modes/common/read_scratch.h"
#include "security/certs/test_fixtures.h"
#include "serial/test_util.h"

namespace sg::modes::common {
namespace {

using asio::ip::tcp;
using serial::testing::run;
namespace fx = security::certs::testing;
using Pair = std::tuple<std::error_code, std::error_code>;

std::span<const std::byte> bytes_of(const std::string& s) {
    return std::as_bytes(std::span(s.data(), s.size()));
}

std::string text_of(std::span<const std::byte> b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

/// A server context with a fixture certificate for "device.test"; with `mutual`, a client must
/// present one signed by the same key.
std::shared_ptr<asio::ssl::context> server_context(bool mutual = false) {
    static const fx::X509Ptr cert =
        fx::cert({.key = fx::key("EC:P-256"), .cn = "device.test", .dns = {"device.test"}});
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    ctx->set_options(asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    const std::string pem = fx::pem(cert);
    ctx->use_certificate_chain(asio::buffer(pem));
    const std::string key = fx::pkcs8(fx::key("EC:P-256"));
    ctx->use_private_key(asio::buffer(key), asio::ssl::context::pem);
    if (mutual) {
        ctx->add_certificate_authority(asio::buffer(pem));
        ctx->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
    }
    return ctx;
}

/// A client context that checks nothing (the server's checks are what these tests look at).
std::shared_ptr<asio::ssl::context> client_context() {
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    ctx->set_verify_mode(asio::ssl::verify_none);
    return ctx;
}

class StreamTest : public ::testing::Test {
protected:
    StreamTest() {
        tcp::socket c(strand_);
        c.connect(acceptor_.local_endpoint());
        tcp::socket s(strand_);
        acceptor_.accept(s);
        s.non_blocking(true);
        raw_client_ = std::move(c);
        raw_server_ = std::move(s);
    }

    /// Both sides' handshakes at once: (server's error, client's error).
    Pair handshake(Stream& server, Stream& client,
                   std::chrono::milliseconds timeout = kHandshakeTimeout) {
        using namespace asio::experimental::awaitable_operators;
        return run(io_, strand_, [&]() -> core::Task<Pair> {
            co_return co_await (server.handshake(asio::ssl::stream_base::server, timeout) &&
                                client.handshake(asio::ssl::stream_base::client, timeout));
        }());
    }
    /// Both sides' handshakes succeed (call under ASSERT_NO_FATAL_FAILURE).
    void handshake_ok(Stream& server, Stream& client) {
        const auto [sec, cec] = handshake(server, client);
        ASSERT_FALSE(sec) << sec.message();
        ASSERT_FALSE(cec) << cec.message();
    }

    asio::io_context io_;
    core::Strand strand_ = asio::make_strand(io_);
    tcp::acceptor acceptor_{strand_, {asio::ip::make_address("127.0.0.1"), 0}};
    tcp::socket raw_client_{strand_};
    tcp::socket raw_server_{strand_};
};

TEST_F(StreamTest, PlainReadsIntoTheThreadsBufferAndWritesStraightIn) {
    Stream server(std::move(raw_server_));
    EXPECT_FALSE(server.secure());
    EXPECT_EQ(server.ssl(), nullptr);
    asio::write(raw_client_, asio::buffer(std::string("hello")));
    auto [ec, data] = run(io_, strand_, server.read_some());
    ASSERT_FALSE(ec);
    EXPECT_EQ(text_of(data), "hello");
    EXPECT_EQ(data.data(), read_scratch().data());  // the io thread's buffer: none of its own

    boost::system::error_code wec;
    EXPECT_EQ(server.try_write(bytes_of("back"), wec), 4u);
    EXPECT_FALSE(wec);
    std::string got(4, '\0');
    asio::read(raw_client_, asio::buffer(got));
    EXPECT_EQ(got, "back");
}

// Issue 12 item 2: one read takes at most `max` bytes of what waits; the rest stays in the socket
// for the next turn.
TEST_F(StreamTest, PlainReadTakesAtMostMaxPerTurn) {
    Stream server(std::move(raw_server_));
    asio::write(raw_client_, asio::buffer(std::string(100, 'x')));
    for (int i = 0; i < 100 && server.available() < 100; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    auto [ec, data] = run(io_, strand_, server.read_some(10));
    ASSERT_FALSE(ec);
    EXPECT_EQ(data.size(), 10u);
    EXPECT_EQ(server.available(), 90u);
    std::size_t got = 10;
    while (got < 100) {
        auto [rec, more] = run(io_, strand_, server.read_some());
        ASSERT_FALSE(rec) << rec.message();
        got += more.size();
    }
    EXPECT_EQ(got, 100u);
}

// An idle plain read only waits (it holds no buffer); closing the Stream ends it with an error.
TEST_F(StreamTest, PlainIdleReadEndsWhenClosed) {
    Stream server(std::move(raw_server_));
    run(io_, strand_, [&]() -> core::Task<bool> {
        asio::steady_timer later(strand_, std::chrono::milliseconds(20));
        auto closer = [&]() -> core::Task<void> {
            co_await later.async_wait(core::use_nothrow);
            server.close();
        };
        using namespace asio::experimental::awaitable_operators;
        auto r = co_await (server.read_some() && closer());
        EXPECT_TRUE(r.first) << "a read of a closed Stream must fail";
        EXPECT_TRUE(r.second.empty());
        co_return true;
    }());
}

TEST_F(StreamTest, PlainReadSeesTheirFinAsTheEnd) {
    Stream server(std::move(raw_server_));
    raw_client_.shutdown(tcp::socket::shutdown_send);
    auto [ec, data] = run(io_, strand_, server.read_some());
    EXPECT_TRUE(is_eof(ec)) << ec.message();
    EXPECT_TRUE(data.empty());
}

TEST_F(StreamTest, PlainAvailableCountsTheReceiveQueue) {
    Stream server(std::move(raw_server_));
    asio::write(raw_client_, asio::buffer(std::string("12345")));
    for (int i = 0; i < 100 && server.available() < 5; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_EQ(server.available(), 5u);
}

TEST_F(StreamTest, TlsCarriesDataBothWaysAndTakesNoFastPath) {
    Stream server(std::move(raw_server_), server_context());
    Stream client(std::move(raw_client_), client_context());
    ASSERT_TRUE(server.secure());
    ASSERT_NO_FATAL_FAILURE(handshake_ok(server, client));

    // Fan-out fast path: none under TLS (never a synchronous SSL write on a non-blocking socket).
    boost::system::error_code wec;
    EXPECT_EQ(server.try_write(bytes_of("x"), wec), 0u);
    EXPECT_FALSE(wec);

    // Client → server: gathered small buffers arrive in order.
    const std::string a = "first,", b = "second,", c = "third";
    auto [ec, n] =
        run(io_, strand_, client.write({asio::buffer(a), asio::buffer(b), asio::buffer(c)}));
    ASSERT_FALSE(ec);
    EXPECT_EQ(n, a.size() + b.size() + c.size());
    std::string got;
    while (got.size() < n) {
        auto [rec, data] = run(io_, strand_, server.read_some(8));
        ASSERT_FALSE(rec) << rec.message();
        // TLS reads land in the Stream's own buffer, not the thread's, and take at most max.
        EXPECT_NE(data.data(), read_scratch().data());
        EXPECT_LE(data.size(), 8u);
        got += text_of(data);
    }
    EXPECT_EQ(got, "first,second,third");

    // Server → client: a mix of small buffers and one larger than a record.
    std::string big(40000, 'z');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
    const std::string head = "head:", tail = ":tail";
    auto [ec2, n2] = run(io_, strand_,
                         server.write({asio::buffer(head), asio::buffer(big), asio::buffer(tail)}));
    ASSERT_FALSE(ec2);
    EXPECT_EQ(n2, head.size() + big.size() + tail.size());
    std::string back;
    while (back.size() < n2) {
        auto [rec, data] = run(io_, strand_, client.read_some(kTlsReadBytes));
        ASSERT_FALSE(rec) << rec.message();
        EXPECT_LE(data.size(), kTlsReadBytes);
        back += text_of(data);
    }
    EXPECT_EQ(back, head + big + tail);

    // Graceful end: the client sees close_notify as the end of the stream.
    run(io_, strand_, [&]() -> core::Task<bool> {
        using namespace asio::experimental::awaitable_operators;
        // shutdown() yields nothing: the group's value is the client's read.
        auto r = co_await (server.shutdown() && client.read_some());
        EXPECT_TRUE(is_eof(r.first)) << r.first.message();
        co_return true;
    }());
}

TEST_F(StreamTest, TlsReadsStayValidUntilTheNextReadAndPlainOnesAreCopied) {
    // A TLS read lands in the Stream's own buffer: the reader may await the serial write with it
    // (InFlight::hold hands the same bytes back); a plain read is copied.
    Stream server(std::move(raw_server_), server_context());
    Stream client(std::move(raw_client_), client_context());
    ASSERT_NO_FATAL_FAILURE(handshake_ok(server, client));
    EXPECT_TRUE(server.own_read_buffer());
    const std::string a = "abc";
    auto [ec, n] = run(io_, strand_, client.write({asio::buffer(a)}));
    ASSERT_FALSE(ec);
    auto [rec, data] = run(io_, strand_, server.read_some());
    ASSERT_FALSE(rec) << rec.message();
    InFlight held;
    const auto kept = held.hold(data, server);
    EXPECT_EQ(kept.data(), data.data());
    EXPECT_EQ(text_of(kept), "abc");
    const Stream plain{tcp::socket(strand_)};
    EXPECT_FALSE(plain.own_read_buffer());
    const auto copied = held.hold(data, plain);
    EXPECT_NE(copied.data(), data.data());
    EXPECT_EQ(text_of(copied), "abc");
}

TEST_F(StreamTest, TlsWritesToAPeerThatResetFailWithoutSigpipe) {
    // A write to a peer that has reset must fail, not raise SIGPIPE (which ends this test binary,
    // as it would end serve: serve does not ignore the signal; OpenSSL's own socket BIO would
    // write with write(2), asio's SSL stream sends through the socket with MSG_NOSIGNAL).
    Stream server(std::move(raw_server_), server_context());
    Stream client(std::move(raw_client_), client_context());
    ASSERT_NO_FATAL_FAILURE(handshake_ok(server, client));
    client.reset();
    const std::string chunk(64 * 1024, 'p');
    std::error_code failed;
    for (int i = 0; i < 100 && !failed; ++i) {
        failed = run(io_, strand_, server.write({asio::buffer(chunk)})).first;
    }
    EXPECT_TRUE(failed) << "a write to a reset peer never failed";
    auto [rec, data] = run(io_, strand_, server.read_some());
    EXPECT_TRUE(rec);
    EXPECT_TRUE(data.empty());
}

TEST_F(StreamTest, HandshakeOfAPeerThatSaysNothingTimesOut) {
    Stream server(std::move(raw_server_), server_context());
    const auto start = std::chrono::steady_clock::now();
    const auto ec =
        run(io_, strand_,
            server.handshake(asio::ssl::stream_base::server, std::chrono::milliseconds(200)));
    EXPECT_EQ(ec, std::errc::timed_out);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
    EXPECT_NE(tls_failure(server, ec).find("no handshake within"), std::string::npos);
}

TEST_F(StreamTest, APlainPeerFailsTheHandshakeAndGetsNoData) {
    Stream server(std::move(raw_server_), server_context());
    asio::write(raw_client_, asio::buffer(std::string("GET / HTTP/1.0\r\n\r\n")));
    const auto ec = run(io_, strand_, server.handshake(asio::ssl::stream_base::server));
    ASSERT_TRUE(ec);
    EXPECT_FALSE(tls_failure(server, ec).empty());
}

TEST_F(StreamTest, MutualTlsRefusesAClientWithoutACertificate) {
    Stream server(std::move(raw_server_), server_context(true));
    Stream client(std::move(raw_client_), client_context());
    const auto [sec, cec] = handshake(server, client);
    ASSERT_TRUE(sec);
    EXPECT_NE(tls_failure(server, sec).find("no certificate"), std::string::npos)
        << tls_failure(server, sec);
}

TEST_F(StreamTest, APeerThatResetsAfterItsHandshakeIsStillNamed) {
    // A TLS client that checks the certificate after its handshake and then resets (gensio does)
    // is gone by the time its session starts: the name taken at accept still says who it was.
    const auto client_port = raw_client_.local_endpoint().port();
    Stream server(std::move(raw_server_), server_context());
    Stream client(std::move(raw_client_), client_context());
    ASSERT_NO_FATAL_FAILURE(handshake_ok(server, client));
    client.reset();
    auto [ec, data] = run(io_, strand_, server.read_some(8));
    ASSERT_TRUE(ec);
    boost::system::error_code gone;
    (void)server.socket().remote_endpoint(gone);
    ASSERT_TRUE(gone) << "the socket still knows its peer: the test proves nothing";
    EXPECT_EQ(peer_string(server), "127.0.0.1:" + std::to_string(client_port));
    EXPECT_EQ(peer_address(server), asio::ip::make_address("127.0.0.1"));
}

TEST_F(StreamTest, APlainStreamNamesItsPeerAndASocketWithoutOneIsUnnamed) {
    const auto client_port = raw_client_.local_endpoint().port();
    Stream server(std::move(raw_server_));
    EXPECT_EQ(peer_string(server), "127.0.0.1:" + std::to_string(client_port));
    Stream unconnected{tcp::socket(strand_)};
    EXPECT_EQ(peer_string(unconnected), "?");
    EXPECT_TRUE(peer_address(unconnected).is_unspecified());
}

}  // namespace
}  // namespace sg::modes::common
