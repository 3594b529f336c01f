#include "web/http/server.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "web/http/websocket.h"

namespace sg::web::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using ErrorCode = boost::system::error_code;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// How long any client operation may take before the test gives up (never reached when the
// server behaves; keeps a broken server from hanging the suite).
constexpr auto kClientDeadline = 5s;

// ---- a self-signed ECDSA P-256 certificate, made in memory

struct TestCert {
    std::shared_ptr<ssl::context> ctx;
    std::string fingerprint;  // SHA-256 of the DER certificate, hex
};

std::string hex(const unsigned char* p, unsigned n) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string s;
    for (unsigned i = 0; i < n; ++i) {
        s += kHex[p[i] >> 4U];
        s += kHex[p[i] & 0xFU];
    }
    return s;
}

std::string fingerprint_of(X509* x) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    X509_digest(x, EVP_sha256(), md, &n);
    return hex(md, n);
}

TestCert make_cert(const char* cn, long serial) {
    EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                               -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_sign(x, key, EVP_sha256());
    TestCert out;
    out.ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    SSL_CTX_set_min_proto_version(out.ctx->native_handle(), TLS1_2_VERSION);
    SSL_CTX_use_certificate(out.ctx->native_handle(), x);
    SSL_CTX_use_PrivateKey(out.ctx->native_handle(), key);
    out.fingerprint = fingerprint_of(x);
    X509_free(x);
    EVP_PKEY_free(key);
    return out;
}

// ---- clients: asynchronous Beast streams driven by their own io_context, every operation
// under kClientDeadline.

template <typename Stream>
class ClientBase {
public:
    /// Reads one response; `head`: the request was HEAD (no body follows).
    std::pair<ErrorCode, bhttp::response<bhttp::string_body>> read_response(bool head = false) {
        bhttp::response_parser<bhttp::string_body> p;
        p.skip(head);
        ErrorCode result;
        lowest().expires_after(kClientDeadline);
        bhttp::async_read(stream_, buf_, p, [&](ErrorCode ec, std::size_t) { result = ec; });
        run();
        return {result, p.release()};
    }
    ErrorCode write(std::string_view bytes) {
        ErrorCode result;
        lowest().expires_after(kClientDeadline);
        asio::async_write(stream_, asio::buffer(bytes.data(), bytes.size()),
                          [&](ErrorCode ec, std::size_t) { result = ec; });
        run();
        return result;
    }
    std::pair<ErrorCode, bhttp::response<bhttp::string_body>> get(const std::string& target,
                                                                  bool head = false) {
        const std::string req =
            std::string(head ? "HEAD " : "GET ") + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        if (auto ec = write(req)) return {ec, {}};
        return read_response(head);
    }
    /// Reads until the server closes; returns how long that took (or kClientDeadline + 1 s
    /// when it did not close).
    SteadyClock::duration wait_closed() {
        const auto t = SteadyClock::now();
        lowest().expires_after(kClientDeadline);
        for (;;) {
            ErrorCode result;
            char byte[256];
            stream_.async_read_some(asio::buffer(byte),
                                    [&](ErrorCode ec, std::size_t) { result = ec; });
            run();
            if (result == beast::error::timeout) return kClientDeadline + 1s;
            if (result) return SteadyClock::now() - t;
        }
    }

protected:
    template <typename... Args>
    explicit ClientBase(Args&&... args) : stream_(std::forward<Args>(args)...) {}
    beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }
    void run() {
        io_.restart();
        io_.run();
    }
    /// `source`: the local address to connect from (127.0.0.0/8 on Linux: a source of its own).
    ErrorCode connect_tcp(std::uint16_t port, const char* source = nullptr) {
        ErrorCode result;
        if (source != nullptr) {
            auto& sock = lowest().socket();
            sock.open(tcp::v4(), result);
            if (!result) sock.bind(tcp::endpoint(asio::ip::make_address(source), 0), result);
            if (result) return result;
        }
        lowest().expires_after(kClientDeadline);
        lowest().async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                               [&](ErrorCode ec) { result = ec; });
        run();
        return result;
    }

    static inline asio::io_context io_;  // one per test thread's clients; run on demand
    Stream stream_;
    beast::flat_buffer buf_;
};

class TlsClient : public ClientBase<beast::ssl_stream<beast::tcp_stream>> {
public:
    TlsClient() : ClientBase(beast::tcp_stream(io_), client_ctx()) {}

    ErrorCode connect(std::uint16_t port, const char* source = nullptr) {
        if (auto ec = connect_tcp(port, source)) return ec;
        ErrorCode result;
        lowest().expires_after(kClientDeadline);
        stream_.async_handshake(ssl::stream_base::client, [&](ErrorCode ec) { result = ec; });
        run();
        return result;
    }
    std::string peer_fingerprint() {
        X509* x = SSL_get1_peer_certificate(stream_.native_handle());
        if (x == nullptr) return {};
        std::string f = fingerprint_of(x);
        X509_free(x);
        return f;
    }

private:
    static ssl::context& client_ctx() {
        static ssl::context ctx = [] {
            ssl::context c(ssl::context::tls_client);
            c.set_verify_mode(ssl::verify_none);  // the test certificates are self-signed
            return c;
        }();
        return ctx;
    }
};

class TcpClient : public ClientBase<beast::tcp_stream> {
public:
    TcpClient() : ClientBase(io_) {}
    ErrorCode connect(std::uint16_t port) { return connect_tcp(port); }
};

std::string header(const bhttp::response<bhttp::string_body>& res, std::string_view name) {
    return std::string(res[name]);
}

void expect_security_headers(const bhttp::response<bhttp::string_body>& res) {
    EXPECT_EQ(header(res, "Strict-Transport-Security"), "max-age=63072000");
    EXPECT_EQ(header(res, "Content-Security-Policy"),
              "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
              "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
              "frame-ancestors 'none'");
    EXPECT_EQ(header(res, "X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(header(res, "X-Frame-Options"), "DENY");
    EXPECT_EQ(header(res, "Referrer-Policy"), "no-referrer");
    EXPECT_EQ(header(res, "Cross-Origin-Opener-Policy"), "same-origin");
    EXPECT_EQ(header(res, "Cross-Origin-Resource-Policy"), "same-origin");
    EXPECT_EQ(header(res, "Permissions-Policy"),
              "camera=(), microphone=(), geolocation=(), usb=(), serial=()");
    EXPECT_EQ(header(res, "Cache-Control"), "no-store");
    EXPECT_EQ(res.count(bhttp::field::server), 0U);
    EXPECT_EQ(res.count("X-Powered-By"), 0U);
}

/// Test limits: short deadlines so that timeouts are observable within the 20 s budget.
Limits test_limits() {
    Limits lim;
    lim.handshake_timeout = 1s;
    lim.header_timeout = 1s;
    // The others are longer than any bound checked below, so that a deadline mixed up with
    // another (the idle one armed for the header, say) makes a test fail.
    lim.body_timeout = 5s;
    lim.idle_timeout = 10s;
    lim.write_timeout = 5s;
    lim.shutdown_timeout = 1s;
    return lim;
}

// ---- the fixture: a Server on an io_context run by one thread, like the daemon.

class ServerTest : public ::testing::Test {
protected:
    ServerTest() : cert1_(make_cert("one", 1)), cert2_(make_cert("two", 2)) {}

    /// Echoes the method and target; sets headers that must not reach the client.
    Response echo(Request&& req, const Peer& peer) {
        ++calls_;
        {
            const std::lock_guard lock(mutex_);
            handler_thread_ = std::this_thread::get_id();
            last_peer_ = peer;
        }
        Response res{bhttp::status::ok, req.version()};
        res.set(bhttp::field::content_type, "text/plain; charset=utf-8");
        res.set(bhttp::field::server, "Boost.Beast/345");  // WS-6: removed by the server
        res.set("X-Powered-By", "tests");
        res.set(bhttp::field::set_cookie, "from_handler=1");
        res.body() =
            std::string(req.method_string()) + " " + std::string(req.target()) + " " + req.body();
        if (req.target() == "/ws" && peer.upgrade != nullptr) {  // issue 13: a WebSocket feed
            peer.upgrade->feed = ws_feed_;
            return Response{bhttp::status::switching_protocols, req.version()};
        }
        if (req.target() == "/ws-nofeed") {
            return Response{bhttp::status::switching_protocols, req.version()};
        }
        if (req.target() == "/throw") throw std::runtime_error("handler bug");
        if (req.target() == "/error") return error_response(bhttp::status::not_found, "not_found");
        return res;
    }

    void start(Limits lim = test_limits()) {
        server_ = std::make_unique<Server>(
            io_, [this](Request&& r, const Peer& p) { return echo(std::move(r), p); }, lim);
        const auto st = server_->start("127.0.0.1", 0, cert1_.ctx);
        ASSERT_TRUE(st) << st.error().message;
        port_ = server_->local_port();
        ASSERT_NE(port_, 0);
        io_thread_ = std::thread([this] { io_.run(); });
    }

    /// stop() on the io thread; true when `done` ran within the bound.
    bool stop_server(std::chrono::seconds bound = 5s) {
        std::promise<void> done;
        auto f = done.get_future();
        asio::post(io_, [&] { server_->stop([&] { done.set_value(); }); });
        return f.wait_for(bound) == std::future_status::ready;
    }

    /// Counters once every connection has ended (stop() waits for that), so that a counter
    /// bumped just after the socket closed is included.
    Stats final_stats() {
        EXPECT_TRUE(stop_server());
        stopped_ = true;
        return server_->stats();
    }

    CountersSnapshot final_stats_counters() {
        EXPECT_TRUE(stop_server());
        stopped_ = true;
        return server_->counters();
    }

    void TearDown() override {
        if (server_ && !stopped_) {
            EXPECT_TRUE(stop_server());
        }
        work_.reset();
        io_.stop();
        if (io_thread_.joinable()) io_thread_.join();
        server_.reset();
    }

    TestCert cert1_;
    TestCert cert2_;
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
    std::thread io_thread_;
    std::unique_ptr<Server> server_;
    std::uint16_t port_ = 0;
    bool stopped_ = false;
    std::atomic<int> calls_{0};
    std::mutex mutex_;
    std::thread::id handler_thread_;
    Peer last_peer_;
    std::shared_ptr<WebSocketFeed> ws_feed_;  // what /ws upgrades to
};

TEST_F(ServerTest, GetReachesHandlerOffTheIoThreadAndCarriesSecurityHeaders) {
    start();
    TlsClient c;
    ASSERT_FALSE(c.connect(port_));
    EXPECT_EQ(c.peer_fingerprint(), cert1_.fingerprint);
    auto [ec, res] = c.get("/api/v1/x?y=1");
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(res.result_int(), 200U);
    EXPECT_EQ(res.body(), "GET /api/v1/x?y=1 ");
    EXPECT_EQ(header(res, "Content-Length"), std::to_string(res.body().size()));
    expect_security_headers(res);
    const std::lock_guard lock(mutex_);
    EXPECT_NE(handler_thread_, io_thread_.get_id());
    EXPECT_EQ(last_peer_.address, asio::ip::make_address("127.0.0.1"));
    EXPECT_NE(last_peer_.port, 0);
    EXPECT_EQ(last_peer_.to_string(), "127.0.0.1:" + std::to_string(last_peer_.port));
}

TEST_F(ServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
    start();
    TlsClient c;
    ASSERT_FALSE(c.connect(port_));
    auto [ec1, r1] = c.get("/one");
    ASSERT_FALSE(ec1);
    EXPECT_TRUE(r1.keep_alive());
    auto [ec2, r2] = c.get("/two");
    ASSERT_FALSE(ec2) << ec2.message();
    EXPECT_EQ(r2.body(), "GET /two ");
    EXPECT_EQ(server_->stats().connections, 1U);
    EXPECT_EQ(server_->stats().requests, 2U);
}

TEST_F(ServerTest, PostBodyHeadAndHttp10) {
    start();
    TlsClient c;
    ASSERT_FALSE(c.connect(port_));
    ASSERT_FALSE(
        c.write("POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                "2\r\n{}\r\n0\r\n\r\n"));
    auto [ec, res] = c.read_response();
    ASSERT_FALSE(ec);
    EXPECT_EQ(res.body(), "POST /p {}");
    // HEAD: the length of the GET body, no body bytes (the next read would see them).
    auto [ech, head] = c.get("/h", /*head=*/true);
    ASSERT_FALSE(ech);
    EXPECT_EQ(header(head, "Content-Length"), "8");  // "HEAD /h "
    EXPECT_TRUE(head.body().empty());
    auto [ecg, after] = c.get("/g");
    ASSERT_FALSE(ecg);
    EXPECT_EQ(after.body(), "GET /g ");
    // HTTP/1.0 without keep-alive: answered as 1.0, then closed.
    TlsClient c10;
    ASSERT_FALSE(c10.connect(port_));
    ASSERT_FALSE(c10.write("GET /old HTTP/1.0\r\n\r\n"));
    auto [ec10, r10] = c10.read_response();
    ASSERT_FALSE(ec10);
    EXPECT_EQ(r10.version(), 10U);
    EXPECT_EQ(r10.body(), "GET /old ");
    EXPECT_LT(c10.wait_closed(), 3s);
}

TEST_F(ServerTest, HeaderOverLimitIs431) {
    Limits lim = test_limits();
    lim.header_bytes = 1024;
    start(lim);
    TlsClient c;
    ASSERT_FALSE(c.connect(port_));
    ASSERT_FALSE(
        c.write("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n"));
    auto [ec, res] = c.read_response();
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(res.result_int(), 431U);
    EXPECT_EQ(res.body(), R"({"error":"header_too_large"})");
    expect_security_headers(res);
    EXPECT_LT(c.wait_closed(), 3s);
    EXPECT_EQ(calls_.load(), 0);
    EXPECT_EQ(server_->stats().rejected_size, 1U);
}

TEST_F(ServerTest, BodyOverLimitIs413) {
    Limits lim = test_limits();
    lim.body_bytes = 1000;
    start(lim);
    TlsClient c;
    ASSERT_FALSE(c.connect(port_));
    // Announced length over the limit: refused before a body byte is read.
    ASSERT_FALSE(c.write("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\n"));
    auto [ec, res] = c.read_response();
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(res.result_int(), 413U);
    EXPECT_EQ(res.body(), R"({"error":"body_too_large"})");
    expect_security_headers(res);
    EXPECT_LT(c.wait_closed(), 3s);
    // Chunked: the limit is found while reading.
    TlsClient c2;
    ASSERT_FALSE(c2.connect(port_));
    ASSERT_FALSE(
        c2.write("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "800\r\n" +
                 std::string(0x800, 'x') + "\r\n0\r\n\r\n"));
    auto [ec2, res2] = c2.read_response();
    ASSERT_FALSE(ec2) << ec2.message();
    EXPECT_EQ(res2.result_int(), 413U);
    EXPECT_EQ(calls_.load(), 0);
}

TEST_F(ServerTest, GarbageIs400) {
    start();
    TlsClient c;
    ASSERT_FALSE(c.connect(port_));
    ASSERT_FALSE(c.write("\x01\x02\x03 nonsense \xff\r\n\r\n"));
    auto [ec, res] = c.read_response();
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(res.result_int(), 400U);
    EXPECT_EQ(res.body(), R"({"error":"bad_request"})");
    EXPECT_EQ(header(res, "Content-Type"), "application/json; charset=utf-8");
    expect_security_headers(res);
    EXPECT_LT(c.wait_closed(), 3s);
    // A method nothing serves: the server's own precheck, not the handler.
    TlsClient c2;
    ASSERT_FALSE(c2.connect(port_));
    ASSERT_FALSE(c2.write("TRACE / HTTP/1.1\r\nHost: a\r\n\r\n"));
    auto [ec2, res2] = c2.read_response();
    ASSERT_FALSE(ec2);
    EXPECT_EQ(res2.result_int(), 501U);
    EXPECT_EQ(calls_.load(), 0);
}

TEST_F(ServerTest, SlowlorisIsCutAtHeaderTimeout) {
    start();  // header_timeout 1 s
    TlsClient c;
    ASSERT_FALSE(c.connect(port_));
    ASSERT_FALSE(c.write("GET / HTTP/1.1\r\nHost: a\r\nX-Slow: a"));  // and never the rest
    const auto took = c.wait_closed();
    EXPECT_GE(took, 500ms);
    EXPECT_LT(took, 4s);
    EXPECT_EQ(calls_.load(), 0);
    EXPECT_EQ(final_stats().timeouts, 1U);
}

TEST_F(ServerTest, SilentTcpClientIsCutAtHandshakeTimeout) {
    start();  // handshake_timeout 1 s
    TcpClient c;
    ASSERT_FALSE(c.connect(port_));
    const auto took = c.wait_closed();
    EXPECT_GE(took, 500ms);
    EXPECT_LT(took, 4s);
    const Stats st = final_stats();
    EXPECT_EQ(st.handshake_failures, 1U);
    EXPECT_EQ(st.timeouts, 1U);
}

TEST_F(ServerTest, PerSourceConnectionCap) {
    Limits lim = test_limits();
    lim.max_connections_per_source = 2;
    start(lim);
    TlsClient a;
    TlsClient b;
    ASSERT_FALSE(a.connect(port_));
    ASSERT_FALSE(b.connect(port_));
    TlsClient third;
    EXPECT_TRUE(third.connect(port_));  // closed at accept: the handshake cannot finish
    EXPECT_EQ(server_->stats().rejected_connections, 1U);
    // The two admitted ones still work.
    auto [ec, res] = a.get("/a");
    ASSERT_FALSE(ec);
    EXPECT_EQ(res.result_int(), 200U);
}

TEST_F(ServerTest, TotalConnectionCap) {
    Limits lim = test_limits();
    lim.max_connections = 1;
    start(lim);
    TlsClient a;
    ASSERT_FALSE(a.connect(port_));
    TlsClient b;
    EXPECT_TRUE(b.connect(port_));
    EXPECT_EQ(server_->stats().rejected_connections, 1U);
}

// Issue 14 item 9: at the global cap a newcomer from a source holding fewer takes the place of
// the oldest connection of the source holding the most, which is closed; counted.
TEST_F(ServerTest, FullCapEvictsTheOldestOfTheHeaviestSource) {
    Limits lim = test_limits();
    lim.max_connections = 3;
    start(lim);
    TlsClient a1;
    TlsClient a2;
    TlsClient b1;
    ASSERT_FALSE(a1.connect(port_, "127.0.0.2"));
    ASSERT_FALSE(a2.connect(port_, "127.0.0.2"));
    ASSERT_FALSE(b1.connect(port_, "127.0.0.3"));
    TlsClient c;
    ASSERT_FALSE(c.connect(port_, "127.0.0.4")) << "the newcomer was refused at the full cap";
    EXPECT_LT(a1.wait_closed(), kClientDeadline) << "the oldest of the heaviest stayed open";
    for (TlsClient* kept : {&a2, &b1, &c}) {
        auto [ec, res] = kept->get("/still");
        ASSERT_FALSE(ec) << ec.message();
        EXPECT_EQ(res.result_int(), 200U);
    }
    const auto counted = final_stats_counters();
    EXPECT_EQ(counted.evicted, 1U);
    EXPECT_EQ(counted.refused_global_cap, 0U);
}

TEST_F(ServerTest, FullCapWithEqualSharesRefusesTheNewcomer) {
    Limits lim = test_limits();
    lim.max_connections = 2;
    start(lim);
    TlsClient a;
    TlsClient b;
    ASSERT_FALSE(a.connect(port_, "127.0.0.2"));
    ASSERT_FALSE(b.connect(port_, "127.0.0.3"));
    TlsClient c;
    EXPECT_TRUE(c.connect(port_, "127.0.0.4"));  // one each: nobody holds two more
    TlsClient a_again;
    EXPECT_TRUE(a_again.connect(port_, "127.0.0.2"));  // never at its own expense
    for (TlsClient* kept : {&a, &b}) {
        auto [ec, res] = kept->get("/still");
        ASSERT_FALSE(ec) << ec.message();
    }
    const auto counted = final_stats_counters();
    EXPECT_EQ(counted.evicted, 0U);
    EXPECT_EQ(counted.refused_global_cap, 2U);
}

TEST_F(ServerTest, EvictionsClosingAtOnceAreBounded) {
    Limits lim = test_limits();
    lim.max_connections = 2;
    lim.max_evicting = 1;
    lim.shutdown_timeout = 5s;  // the evicted client below never answers our close_notify
    start(lim);
    TlsClient a1;
    TlsClient a2;
    ASSERT_FALSE(a1.connect(port_, "127.0.0.2"));
    ASSERT_FALSE(a2.connect(port_, "127.0.0.2"));
    TlsClient b;
    ASSERT_FALSE(b.connect(port_, "127.0.0.3"));  // evicts a1, which lingers in its TLS close
    TlsClient c;
    // a2 vs c's 0 would qualify, but one eviction is under way already.
    EXPECT_TRUE(c.connect(port_, "127.0.0.4"));
    const auto counted = server_->counters();
    EXPECT_EQ(counted.evicted, 1U);
    EXPECT_EQ(counted.refused_global_cap, 1U);
}

TEST_F(ServerTest, TokenBucketAnswers429WithRetryAfter) {
    Limits lim = test_limits();
    lim.burst_per_source = 3;
    lim.requests_per_second_per_source = 0.001;
    start(lim);
    TlsClient c;
    ASSERT_FALSE(c.connect(port_));
    for (int i = 0; i < 3; ++i) {
        auto [ec, res] = c.get("/ok");
        ASSERT_FALSE(ec);
        EXPECT_EQ(res.result_int(), 200U) << i;
    }
    auto [ec, res] = c.get("/limited");
    ASSERT_FALSE(ec);
    EXPECT_EQ(res.result_int(), 429U);
    EXPECT_EQ(header(res, "Retry-After"), "1000");
    EXPECT_EQ(res.body(), R"({"error":"too_many_requests"})");
    expect_security_headers(res);
    EXPECT_EQ(calls_.load(), 3);
    EXPECT_EQ(server_->stats().rejected_rate, 1U);
}

TEST_F(ServerTest, FullBacklogAnswers503) {
    Limits lim = test_limits();
    lim.max_queued_requests = 0;  // nothing may wait for a handler thread
    start(lim);
    TlsClient c;
    ASSERT_FALSE(c.connect(port_));
    auto [ec, res] = c.get("/x");
    ASSERT_FALSE(ec);
    EXPECT_EQ(res.result_int(), 503U);
    EXPECT_EQ(header(res, "Retry-After"), "1");
    EXPECT_EQ(calls_.load(), 0);
}

TEST_F(ServerTest, HandlerExceptionIs500AndErrorsKeepTheConnection) {
    start();
    TlsClient c;
    ASSERT_FALSE(c.connect(port_));
    auto [ec, res] = c.get("/throw");
    ASSERT_FALSE(ec);
    EXPECT_EQ(res.result_int(), 500U);
    EXPECT_EQ(res.body(), R"({"error":"internal_error"})");
    EXPECT_TRUE(res.keep_alive());
    // error_response() says "Connection: close" by default; the server decides keep-alive.
    auto [ec2, res2] = c.get("/error");
    ASSERT_FALSE(ec2);
    EXPECT_EQ(res2.result_int(), 404U);
    EXPECT_TRUE(res2.keep_alive());
    expect_security_headers(res2);
    auto [ec3, res3] = c.get("/after");
    ASSERT_FALSE(ec3);
    EXPECT_EQ(res3.result_int(), 200U);
}

TEST_F(ServerTest, MaxRequestsPerConnection) {
    Limits lim = test_limits();
    lim.max_requests_per_connection = 2;
    start(lim);
    TlsClient c;
    ASSERT_FALSE(c.connect(port_));
    auto [ec1, r1] = c.get("/1");
    ASSERT_FALSE(ec1);
    EXPECT_TRUE(r1.keep_alive());
    auto [ec2, r2] = c.get("/2");
    ASSERT_FALSE(ec2);
    EXPECT_FALSE(r2.keep_alive());
    EXPECT_EQ(header(r2, "Connection"), "close");
    EXPECT_LT(c.wait_closed(), 3s);
}

TEST_F(ServerTest, SetTlsContextSwapsCertificateForNewConnectionsOnly) {
    start();
    TlsClient old_conn;
    ASSERT_FALSE(old_conn.connect(port_));
    ASSERT_EQ(old_conn.peer_fingerprint(), cert1_.fingerprint);
    server_->set_tls_context(cert2_.ctx);
    TlsClient fresh;
    ASSERT_FALSE(fresh.connect(port_));
    EXPECT_EQ(fresh.peer_fingerprint(), cert2_.fingerprint);
    // CE-3: the established keep-alive connection goes on working with its certificate.
    auto [ec, res] = old_conn.get("/still");
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(res.result_int(), 200U);
    EXPECT_EQ(old_conn.peer_fingerprint(), cert1_.fingerprint);
    auto [ec2, res2] = fresh.get("/new");
    ASSERT_FALSE(ec2);
    EXPECT_EQ(res2.result_int(), 200U);
}

TEST_F(ServerTest, RedirectAnswers301WithoutCookie) {
    start();
    const auto st = server_->start_redirect("127.0.0.1", 0, 8443);
    ASSERT_TRUE(st) << st.error().message;
    ASSERT_NE(server_->redirect_port(), 0);
    TcpClient c;
    ASSERT_FALSE(c.connect(server_->redirect_port()));
    ASSERT_FALSE(
        c.write("GET /api/v1/x?y=1 HTTP/1.1\r\nHost: device.test:8080\r\n"
                "Cookie: __Host-sg_session=abc\r\n\r\n"));
    auto [ec, res] = c.read_response();
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(res.result_int(), 301U);
    EXPECT_EQ(header(res, "Location"), "https://device.test:8443/api/v1/x?y=1");
    EXPECT_EQ(res.count(bhttp::field::set_cookie), 0U);
    EXPECT_FALSE(res.keep_alive());
    expect_security_headers(res);
    EXPECT_LT(c.wait_closed(), 3s);
    EXPECT_EQ(calls_.load(), 0);  // never the handler
    // A request without Host cannot be redirected.
    TcpClient bad;
    ASSERT_FALSE(bad.connect(server_->redirect_port()));
    ASSERT_FALSE(bad.write("GET / HTTP/1.0\r\n\r\n"));
    auto [ec2, res2] = bad.read_response();
    ASSERT_FALSE(ec2);
    EXPECT_EQ(res2.result_int(), 400U);
}

TEST_F(ServerTest, StartErrorsAreValues) {
    start();
    Server other(
        io_, [](Request&&, const Peer&) { return Response{}; }, test_limits());
    const auto in_use = other.start("127.0.0.1", port_, cert1_.ctx);
    ASSERT_FALSE(in_use);
    EXPECT_EQ(in_use.error().code, std::errc::address_in_use);
    const auto bad = other.start("not-an-address", 0, cert1_.ctx);
    ASSERT_FALSE(bad);
    EXPECT_FALSE(other.start("127.0.0.1", 0, nullptr));
    // A Server never started stops at once.
    std::promise<void> done;
    asio::post(io_, [&] { other.stop([&] { done.set_value(); }); });
    EXPECT_EQ(done.get_future().wait_for(5s), std::future_status::ready);
}

TEST_F(ServerTest, StopCompletesWithIdleKeepAliveClient) {
    start();
    TlsClient c;
    ASSERT_FALSE(c.connect(port_));
    auto [ec, res] = c.get("/x");
    ASSERT_FALSE(ec);
    ASSERT_TRUE(res.keep_alive());
    // The client sits idle and does not read: stop still completes (shutdown_timeout 1 s).
    EXPECT_TRUE(stop_server());
    stopped_ = true;
    EXPECT_EQ(server_->stats().active, 0U);
    EXPECT_LT(c.wait_closed(), 2s);  // closed already
    // Nothing listens any more.
    TcpClient after;
    EXPECT_TRUE(after.connect(port_));
}

TEST_F(ServerTest, ConnectionRateClosesAtAcceptAndCounts) {
    Limits lim = test_limits();
    lim.connection_burst_per_source = 2;
    lim.connections_per_second_per_source = 0.001;
    lim.handshake_burst_per_source = 100;
    start(lim);
    TlsClient a;
    TlsClient b;
    ASSERT_FALSE(a.connect(port_));
    ASSERT_FALSE(b.connect(port_));
    TlsClient third;
    EXPECT_TRUE(third.connect(port_));  // closed at accept: no TLS
    const CountersSnapshot c = server_->counters();
    EXPECT_EQ(c.refused_connection_rate, 1U);
    EXPECT_EQ(c.refused_handshake_rate, 0U);
    EXPECT_EQ(server_->stats().rejected_connections, 1U);
    auto [ec, res] = b.get("/still");  // the admitted one is served
    ASSERT_FALSE(ec);
    EXPECT_EQ(res.result_int(), 200U);
}

TEST_F(ServerTest, HandshakeRateClosesBeforeTlsAndCounts) {
    Limits lim = test_limits();
    lim.handshake_burst_per_source = 2;
    lim.handshakes_per_second_per_source = 0.001;
    start(lim);
    for (int i = 0; i < 2; ++i) {
        TlsClient ok;
        ASSERT_FALSE(ok.connect(port_)) << i;
    }
    TlsClient refused;
    EXPECT_TRUE(refused.connect(port_));
    // The redirect port needs no handshake: it is not held back by the handshake bucket.
    ASSERT_TRUE(server_->start_redirect("127.0.0.1", 0, port_));
    TcpClient plain;
    ASSERT_FALSE(plain.connect(server_->redirect_port()));
    ASSERT_FALSE(plain.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
    auto [ec, res] = plain.read_response();
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(res.result_int(), 301U);
    const CountersSnapshot c = final_stats_counters();
    EXPECT_EQ(c.refused_handshake_rate, 1U);
    EXPECT_EQ(c.refused_connection_rate, 0U);
    EXPECT_EQ(c.handshake_failures, 0U);  // refused before any handshake started
}

TEST_F(ServerTest, SlowBodyIsCutAndAFastEnoughOneIsNot) {
    Limits lim = test_limits();
    lim.body_grace = 1s;
    lim.body_min_bytes_per_second = 1024;
    lim.body_timeout = 10s;
    start(lim);
    // Keeps up with 1 KiB/s: 4 × 1000 bytes, one every 500 ms (2 s in all: beyond the grace).
    TlsClient good;
    ASSERT_FALSE(good.connect(port_));
    ASSERT_FALSE(good.write("POST /good HTTP/1.1\r\nHost: a\r\nContent-Length: 4000\r\n\r\n"));
    for (int i = 0; i < 4; ++i) {
        std::this_thread::sleep_for(500ms);
        ASSERT_FALSE(good.write(std::string(1000, 'g'))) << i;
    }
    auto [ec, res] = good.read_response();
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(res.result_int(), 200U);
    // Falls behind: 10 bytes of 10000, then nothing. Cut after the grace, without an answer.
    TlsClient slow;
    ASSERT_FALSE(slow.connect(port_));
    ASSERT_FALSE(
        slow.write("POST /slow HTTP/1.1\r\nHost: a\r\nContent-Length: 10000\r\n\r\n"
                   "0123456789"));
    const auto took = slow.wait_closed();
    EXPECT_GE(took, 500ms);
    EXPECT_LT(took, 4s);
    EXPECT_EQ(calls_.load(), 1);
    const CountersSnapshot c = final_stats_counters();
    EXPECT_EQ(c.timeout_body, 1U);
    EXPECT_EQ(c.timeout_header, 0U);
}

TEST_F(ServerTest, TimeoutsAndSizeRefusalsAreCountedByKind) {
    Limits lim = test_limits();
    lim.header_bytes = 1024;
    lim.body_bytes = 1000;
    start(lim);
    TlsClient big_header;
    ASSERT_FALSE(big_header.connect(port_));
    ASSERT_FALSE(
        big_header.write("GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(2000, 'a') + "\r\n\r\n"));
    EXPECT_EQ(big_header.read_response().second.result_int(), 431U);
    TlsClient big_body;
    ASSERT_FALSE(big_body.connect(port_));
    ASSERT_FALSE(big_body.write("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n"));
    EXPECT_EQ(big_body.read_response().second.result_int(), 413U);
    TlsClient slowloris;
    ASSERT_FALSE(slowloris.connect(port_));
    ASSERT_FALSE(slowloris.write("GET / HTTP/1.1\r\nHost: a\r\nX-Slow: a"));
    TcpClient silent;
    ASSERT_FALSE(silent.connect(port_));
    slowloris.wait_closed();
    silent.wait_closed();
    const CountersSnapshot c = final_stats_counters();
    EXPECT_EQ(c.header_too_large, 1U);
    EXPECT_EQ(c.body_too_large, 1U);
    EXPECT_EQ(c.timeout_header, 1U);
    EXPECT_EQ(c.timeout_handshake, 1U);
    EXPECT_EQ(c.timeout_body, 0U);
}

TEST_F(ServerTest, HandlerSeesTheServersCounters) {
    start();
    TlsClient c;
    ASSERT_FALSE(c.connect(port_));
    ASSERT_FALSE(c.get("/x").first);
    Counters* seen = nullptr;
    {
        const std::lock_guard lock(mutex_);
        seen = last_peer_.counters;
    }
    ASSERT_NE(seen, nullptr);
    Counters::bump(seen->too_many_requests_session);  // what the API does for a session's 429
    EXPECT_EQ(server_->counters().too_many_requests_session, 1U);
    EXPECT_EQ(server_->counters().requests, 1U);
}

// ---- WebSocket (issue 13 item 4): an upgrade the handler accepts with a feed.

namespace websocket = boost::beast::websocket;

/// Sends `messages`, then closes with 4001 (or never, when `close` is false).
class TestFeed final : public WebSocketFeed {
public:
    TestFeed(std::vector<std::string> messages, bool close)
        : messages_(std::move(messages)), close_(close) {}
    Step poll() override {
        if (next_ < messages_.size()) return {.text = messages_[next_++]};
        if (close_) return {.close = true, .code = 4001, .reason = "done"};
        return {};
    }
    void ended(std::string_view why) override {
        const std::lock_guard lock(mutex_);
        why_ = std::string(why);
        ++ended_;
    }
    std::chrono::milliseconds poll_interval() const override { return 5ms; }
    /// Waits (bounded) until ended() ran; how often, and why.
    std::pair<int, std::string> wait_ended() {
        for (auto t = SteadyClock::now(); SteadyClock::now() - t < kClientDeadline;) {
            {
                const std::lock_guard lock(mutex_);
                if (ended_ > 0) return {ended_, why_};
            }
            std::this_thread::sleep_for(5ms);
        }
        return {0, ""};
    }

private:
    std::vector<std::string> messages_;
    bool close_;
    std::size_t next_ = 0;  // on the connection's strand
    std::mutex mutex_;
    int ended_ = 0;
    std::string why_;
};

/// A blocking WebSocket client over TLS (the server behaves in these tests; ctest bounds them).
struct WsClient {
    asio::io_context io;
    ssl::context tls{ssl::context::tls_client};
    websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws{io, tls};
    websocket::response_type res;

    ErrorCode open(std::uint16_t port, const char* target) {
        ErrorCode ec;
        beast::get_lowest_layer(ws).socket().connect(
            tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
        if (!ec) ws.next_layer().handshake(ssl::stream_base::client, ec);
        if (!ec) ws.handshake(res, "127.0.0.1", target, ec);
        return ec;
    }
    std::string read(ErrorCode& ec) {
        beast::flat_buffer b;
        ws.read(b, ec);
        return beast::buffers_to_string(b.data());
    }
};

TEST_F(ServerTest, WebSocketSendsTheFeedsMessagesThenItsClose) {
    auto feed = std::make_shared<TestFeed>(std::vector<std::string>{"one", "two"}, true);
    ws_feed_ = feed;
    start();
    WsClient c;
    ASSERT_FALSE(c.open(port_, "/ws"));
    EXPECT_EQ(c.res.result(), bhttp::status::switching_protocols);
    EXPECT_EQ(c.res["Strict-Transport-Security"], "max-age=63072000");  // WS-5 on the 101 too
    ErrorCode ec;
    EXPECT_EQ(c.read(ec), "one");
    EXPECT_EQ(c.read(ec), "two");
    ASSERT_FALSE(ec);
    c.read(ec);
    EXPECT_EQ(ec, websocket::error::closed);
    EXPECT_EQ(c.ws.reason().code, 4001);
    EXPECT_EQ(c.ws.reason().reason, "done");
    const auto [ended, why] = feed->wait_ended();
    EXPECT_EQ(ended, 1);
    EXPECT_EQ(why, "done");
}

TEST_F(ServerTest, WebSocketEndsOnStopAndWhenTheClientCloses) {
    auto feed = std::make_shared<TestFeed>(std::vector<std::string>{"hi"}, false);
    ws_feed_ = feed;
    start();
    WsClient first;
    ASSERT_FALSE(first.open(port_, "/ws"));
    ErrorCode ec;
    EXPECT_EQ(first.read(ec), "hi");
    first.ws.close(websocket::close_code::normal, ec);  // the client leaves
    auto [ended, why] = feed->wait_ended();
    EXPECT_EQ(ended, 1);
    EXPECT_EQ(why, "closed by the client");

    auto second = std::make_shared<TestFeed>(std::vector<std::string>{}, false);
    ws_feed_ = second;
    WsClient c;
    ASSERT_FALSE(c.open(port_, "/ws"));
    EXPECT_TRUE(stop_server());  // an open WebSocket does not hold the stop
    stopped_ = true;
    std::tie(ended, why) = second->wait_ended();
    EXPECT_EQ(ended, 1);
    EXPECT_EQ(why, "server stopping");
    c.read(ec);
    EXPECT_TRUE(ec);
}

TEST_F(ServerTest, A101WithoutAFeedIsAnError) {
    start();
    WsClient c;
    const auto ec = c.open(port_, "/ws-nofeed");
    EXPECT_EQ(ec, websocket::error::upgrade_declined);
    EXPECT_EQ(c.res.result(), bhttp::status::internal_server_error);
    // A plain request to the feed's target is answered as any other (no upgrade, no feed).
    TlsClient t;
    ASSERT_FALSE(t.connect(port_));
    auto [e2, res] = t.get("/ws");
    ASSERT_FALSE(e2);
    EXPECT_EQ(res.result_int(), 200U);
}

}  // namespace
}  // namespace sg::web::http
