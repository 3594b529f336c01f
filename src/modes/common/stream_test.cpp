// stream_test.cpp: common::Stream over loopback, plain and TLS (a fixture certificate): what a read
// returns, the fan-out fast path (TLS: none), gathered writes packed into records, the handshake
// timeout, a plain peer and a peer without a client certificate under mutual TLS, the peer's name
// kept from accept, TLS reads kept without a copy, no SIGPIPE from a TLS write to a reset peer;
// handshake steps that take their turn from the bulk lane (counted in turns, never timed).
#include "modes/common/stream.h"

#include <gtest/gtest.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/bulk_lane.h"
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

// --- Issue 11: handshake steps take their turn from the bulk lane (ADR 0016) -------------------

/// Counts the TLS handshake messages of type `type` that connections of a context wrote (OpenSSL's
/// message callback): a ServerHello (2) is the server's step on the client's hello, a client's
/// Finished (20) its step on the server's flight.
struct Written {
    int type = 0;
    int count = 0;
    static void on_message(int write_p, int /*version*/, int content_type, const void* buf,
                           std::size_t len, SSL* /*ssl*/, void* arg) {
        auto* self = static_cast<Written*>(arg);
        if (write_p == 1 && content_type == SSL3_RT_HANDSHAKE && len > 0 &&
            static_cast<const unsigned char*>(buf)[0] == self->type) {
            ++self->count;
        }
    }
    void watch(asio::ssl::context& ctx) {
        ::SSL_CTX_set_msg_callback(ctx.native_handle(), &Written::on_message);
        ::SSL_CTX_set_msg_callback_arg(ctx.native_handle(), this);
    }
};

/// Waits (bounded; nothing is timed) until `socket` has bytes to read.
bool wait_readable(const tcp::socket& socket) {
    for (int i = 0; i < 2000; ++i) {
        boost::system::error_code ec;
        if (socket.available(ec) > 0) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return false;
}

/// kN connections whose handshakes are tested (`side`, on io_, its lane at one turn per drain),
/// their peers on an io_context of their own that the test runs when it chooses, and one quiet
/// plain connection on io_ (another port's client).
class HandshakeLaneTest : public ::testing::Test {
protected:
    static constexpr int kN = 4;

    void SetUp() override {
        core::BulkLane::of(io_).set_limits(1, std::chrono::hours(1));
        tcp::acceptor acceptor(io_, {asio::ip::make_address("127.0.0.1"), 0});
        for (int i = 0; i < kN; ++i) {
            tcp::socket theirs(peers_);
            theirs.connect(acceptor.local_endpoint());
            tcp::socket ours(io_);
            acceptor.accept(ours);
            tested_sockets_.push_back(std::move(ours));
            peer_sockets_.push_back(std::move(theirs));
        }
        quiet_peer_.connect(acceptor.local_endpoint());
        acceptor.accept(quiet_);
    }

    /// Starts the tested side's handshakes (each on a strand of its own), the peers' after them;
    /// returns how many of the tested side's steps (`steps`) were done when the quiet
    /// connection's read ran, its byte having arrived after every peer's flight. Then lets every
    /// handshake end.
    int steps_before_quiet(asio::ssl::stream_base::handshake_type side, Written& steps) {
        const bool server = side == asio::ssl::stream_base::server;
        auto tested_ctx = server ? server_context() : client_context();
        auto peer_ctx = server ? client_context() : server_context();
        steps.watch(*tested_ctx);
        const auto peer_side =
            server ? asio::ssl::stream_base::client : asio::ssl::stream_base::server;
        for (int i = 0; i < kN; ++i) {
            tested_.push_back(std::make_unique<Stream>(std::move(tested_sockets_[i]), tested_ctx));
            peers_streams_.push_back(
                std::make_unique<Stream>(std::move(peer_sockets_[i]), peer_ctx));
        }
        for (auto& t : tested_) {
            asio::co_spawn(asio::make_strand(io_), t->handshake(side),
                           [this](const std::exception_ptr&, std::error_code ec) {
                               EXPECT_FALSE(ec) << ec.message();
                               ++tested_done_;
                           });
        }
        bool quiet_ran = false;
        int steps_at_quiet = -1;
        quiet_.async_wait(tcp::socket::wait_read,
                          asio::bind_executor(asio::make_strand(io_), [&](auto) {
                              quiet_ran = true;
                              steps_at_quiet = steps.count;
                          }));
        serial::testing::settle(io_);  // a client has sent its hello; a server waits for one
        for (auto& p : peers_streams_) {
            asio::co_spawn(peers_, p->handshake(peer_side),
                           [this](const std::exception_ptr&, std::error_code ec) {
                               EXPECT_FALSE(ec) << ec.message();
                               ++peers_done_;
                           });
        }
        serial::testing::settle(peers_);  // a client's hello, a server's whole flight
        for (auto& t : tested_) EXPECT_TRUE(wait_readable(t->socket()));
        EXPECT_EQ(steps.count, 0) << "a step ran before its input was there";
        asio::write(quiet_peer_, asio::buffer(std::string("q")));
        EXPECT_TRUE(wait_readable(quiet_));
        // The next pass finds kN connections' input and the quiet byte ready together.
        EXPECT_TRUE(serial::testing::run_until(io_, [&] { return quiet_ran; }));
        std::thread peers([this] {
            peers_.restart();
            peers_.run();
        });
        EXPECT_TRUE(serial::testing::run_until(io_, [&] { return tested_done_ == kN; }));
        peers.join();
        EXPECT_EQ(peers_done_, kN);
        EXPECT_EQ(steps.count, kN);
        return steps_at_quiet;
    }

    asio::io_context io_;
    asio::io_context peers_;
    std::vector<tcp::socket> tested_sockets_;
    std::vector<tcp::socket> peer_sockets_;
    std::vector<std::unique_ptr<Stream>> tested_;
    std::vector<std::unique_ptr<Stream>> peers_streams_;
    tcp::socket quiet_{io_};
    tcp::socket quiet_peer_{peers_};
    int tested_done_ = 0;
    int peers_done_ = 0;
};

TEST_F(HandshakeLaneTest, AQuietReadRunsBeforeEveryServerKeyExchangeOfAFlood) {
    // Inline in the reactor's completions, all kN server flights (key exchange, signature) ran
    // before the quiet read; from the lane at one turn per drain, at most one.
    Written hellos{.type = 2};
    EXPECT_LE(steps_before_quiet(asio::ssl::stream_base::server, hellos), 1);
}

TEST_F(HandshakeLaneTest, AQuietReadRunsBeforeEveryClientCertificateCheckOfAFlood) {
    // A client's step on the server's flight (the key exchange, the certificate and its
    // signature, then its Finished) takes its turn from the lane too.
    Written finished{.type = 20};
    EXPECT_LE(steps_before_quiet(asio::ssl::stream_base::client, finished), 1);
}

TEST_F(HandshakeLaneTest, AConnectionClosedWhileItsStepWaitsInTheLaneSpendsNoKeyExchange) {
    // Revoked by the allowlist, or its port stopping, while its step waits: the step is not run.
    Written hellos{.type = 2};
    auto ctx = server_context();
    hellos.watch(*ctx);
    Stream server(std::move(tested_sockets_[0]), ctx);
    Stream client(std::move(peer_sockets_[0]), client_context());
    std::optional<std::error_code> server_result;
    std::optional<std::error_code> client_result;
    asio::co_spawn(asio::make_strand(io_), server.handshake(asio::ssl::stream_base::server),
                   [&](const std::exception_ptr&, std::error_code ec) { server_result = ec; });
    serial::testing::settle(io_);
    asio::co_spawn(peers_, client.handshake(asio::ssl::stream_base::client),
                   [&](const std::exception_ptr&, std::error_code ec) { client_result = ec; });
    serial::testing::settle(peers_);
    ASSERT_TRUE(wait_readable(server.socket()));
    core::BulkLane& lane = core::BulkLane::of(io_);
    ASSERT_TRUE(serial::testing::run_until(io_, [&] { return lane.waiting() == 1; }));
    EXPECT_EQ(hellos.count, 0);
    server.close();
    ASSERT_TRUE(serial::testing::run_until(io_, [&] { return server_result.has_value(); }));
    EXPECT_TRUE(*server_result);
    EXPECT_EQ(hellos.count, 0) << "a closed connection's key exchange ran";
    EXPECT_TRUE(serial::testing::run_until(peers_, [&] { return client_result.has_value(); }));
}

}  // namespace
}  // namespace sg::modes::common
