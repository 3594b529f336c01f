#include "web/http/precheck.h"

#include <gtest/gtest.h>

#include <boost/asio/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/parser.hpp>
#include <string>

#include "web/http/limits.h"

namespace sg::web::http {
namespace {

namespace bhttp = boost::beast::http;

/// Parses a whole request the way the server does (same limits); fails the test on error.
Request parse(std::string_view wire, const Limits& lim = {}) {
    bhttp::request_parser<bhttp::string_body> p;
    p.header_limit(static_cast<std::uint32_t>(lim.header_bytes));
    p.body_limit(lim.body_bytes);
    p.eager(true);
    boost::system::error_code ec;
    p.put(boost::asio::buffer(wire.data(), wire.size()), ec);
    EXPECT_FALSE(ec) << ec.message() << " for " << wire;
    return p.release();
}

boost::system::error_code parse_error(std::string_view wire, const Limits& lim = {}) {
    bhttp::request_parser<bhttp::string_body> p;
    p.header_limit(static_cast<std::uint32_t>(lim.header_bytes));
    p.body_limit(lim.body_bytes);
    p.eager(true);
    boost::system::error_code ec;
    p.put(boost::asio::buffer(wire.data(), wire.size()), ec);
    return ec;
}

unsigned status_of(const std::optional<Response>& r) {
    return r ? r->result_int() : 0;
}

TEST(LimitsFrom, EveryServerKeyOfHttpsDosReachesTheServersLimits) {
    // Each key set to a value no default has: a key that limits_from() forgot would keep its
    // default and fail here (the API's per-session and Argon2id keys are not the server's).
    config::DosSettings d;
    d.max_connections = 301;
    d.max_connections_per_source = 7;
    d.connections_per_second_per_source = 3;
    d.connection_burst_per_source = 9;
    d.handshakes_per_second_per_source = 4;
    d.handshake_burst_per_source = 11;
    d.requests_per_second_per_source = 5;
    d.request_burst_per_source = 13;
    d.header_bytes = 2048;
    d.body_bytes = 4096;
    d.handshake_timeout_s = 21;
    d.header_timeout_s = 22;
    d.body_timeout_s = 23;
    d.body_min_bytes_per_second = 99;
    d.idle_timeout_s = 24;
    const Limits l = limits_from(d);
    EXPECT_EQ(l.max_connections, 301u);
    EXPECT_EQ(l.max_connections_per_source, 7u);
    EXPECT_EQ(l.connections_per_second_per_source, 3.0);
    EXPECT_EQ(l.connection_burst_per_source, 9.0);
    EXPECT_EQ(l.handshakes_per_second_per_source, 4.0);
    EXPECT_EQ(l.handshake_burst_per_source, 11.0);
    EXPECT_EQ(l.requests_per_second_per_source, 5.0);
    EXPECT_EQ(l.burst_per_source, 13.0);
    EXPECT_EQ(l.header_bytes, 2048u);
    EXPECT_EQ(l.body_bytes, 4096u);
    EXPECT_EQ(l.handshake_timeout, std::chrono::seconds(21));
    EXPECT_EQ(l.header_timeout, std::chrono::seconds(22));
    EXPECT_EQ(l.body_timeout, std::chrono::seconds(23));
    EXPECT_EQ(l.body_min_bytes_per_second, 99u);
    EXPECT_EQ(l.idle_timeout, std::chrono::seconds(24));
}

TEST(Precheck, AcceptsOrdinaryRequests) {
    const Limits lim;
    EXPECT_FALSE(precheck(parse("GET /api/v1/x?y=1 HTTP/1.1\r\nHost: a\r\n\r\n"), lim));
    EXPECT_FALSE(precheck(parse("GET / HTTP/1.0\r\n\r\n"), lim));
    EXPECT_FALSE(
        precheck(parse("POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}"), lim));
    EXPECT_FALSE(precheck(
        parse("PUT /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), lim));
    EXPECT_FALSE(precheck(
        parse("PATCH /a HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 0\r\n\r\n"),
        lim));
    for (const char* m : {"HEAD", "DELETE", "OPTIONS"}) {
        EXPECT_FALSE(precheck(parse(std::string(m) + " / HTTP/1.1\r\nHost: a\r\n\r\n"), lim)) << m;
    }
}

TEST(Precheck, RefusesVersionsMethodsAndTargets) {
    const Limits lim;
    // Beast's parser already refuses anything but HTTP/1.x on the wire (bad_version → 400);
    // precheck() also holds for requests built elsewhere.
    EXPECT_EQ(status_of(parse_error_response(parse_error("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"))),
              400U);
    Request v12{bhttp::verb::get, "/", 12};
    v12.set(bhttp::field::host, "a");
    EXPECT_EQ(status_of(precheck(v12, lim)), 505U);
    Request v09{bhttp::verb::get, "/", 9};
    EXPECT_EQ(status_of(precheck(v09, lim)), 505U);
    EXPECT_EQ(status_of(precheck(parse("TRACE / HTTP/1.1\r\nHost: a\r\n\r\n"), lim)), 501U);
    EXPECT_EQ(status_of(precheck(parse("CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n"), lim)), 501U);
    EXPECT_EQ(status_of(precheck(parse("FOO / HTTP/1.1\r\nHost: a\r\n\r\n"), lim)), 501U);
    EXPECT_EQ(status_of(precheck(parse("GET http://x/ HTTP/1.1\r\nHost: a\r\n\r\n"), lim)), 400U);
    EXPECT_EQ(status_of(precheck(parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"), lim)), 400U);
}

TEST(Precheck, HostRules) {
    const Limits lim;
    EXPECT_EQ(status_of(precheck(parse("GET / HTTP/1.1\r\n\r\n"), lim)), 400U);
    EXPECT_EQ(status_of(precheck(parse("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), lim)),
              400U);
    EXPECT_EQ(status_of(precheck(parse("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"), lim)),
              400U);
    EXPECT_FALSE(precheck(parse("GET / HTTP/1.0\r\nHost: a\r\n\r\n"), lim));
}

TEST(Precheck, TransferEncodingOnlyChunkedOn11) {
    const Limits lim;
    // Not framed by the parser: the bytes after the header would be read as the next request.
    EXPECT_EQ(status_of(precheck(
                  parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"), lim)),
              501U);
    EXPECT_EQ(status_of(precheck(parse("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"
                                       "0\r\n\r\n"),
                                 lim)),
              400U);
}

TEST(Precheck, ContentLengthAndExpect) {
    Limits lim;
    lim.body_bytes = 10;
    // The parser refuses it first (body_limit); precheck agrees on a request built elsewhere.
    Request big{bhttp::verb::post, "/", 11};
    big.set(bhttp::field::host, "a");
    big.set(bhttp::field::content_length, "11");
    EXPECT_EQ(status_of(precheck(big, lim)), 413U);
    big.set(bhttp::field::content_length, "99999999999999999999999999");
    EXPECT_EQ(status_of(precheck(big, lim)), 413U);
    big.set(bhttp::field::content_length, "10");
    EXPECT_FALSE(precheck(big, lim));
    big.set(bhttp::field::expect, "something-else");
    EXPECT_EQ(status_of(precheck(big, lim)), 417U);
    big.set(bhttp::field::expect, " 100-continue ");
    EXPECT_FALSE(precheck(big, lim));
    EXPECT_TRUE(expects_continue(big));
    big.version(10);
    EXPECT_FALSE(expects_continue(big));  // 1.0 clients do not wait for 100
}

TEST(ParseError, MapsLimitsAndGarbage) {
    Limits lim;
    lim.header_bytes = 64;
    lim.body_bytes = 4;
    EXPECT_EQ(status_of(parse_error_response(
                  parse_error("GET / HTTP/1.1\r\nX: " + std::string(100, 'a') + "\r\n\r\n", lim))),
              431U);
    EXPECT_EQ(status_of(parse_error_response(
                  parse_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", lim))),
              413U);
    EXPECT_EQ(status_of(parse_error_response(
                  parse_error("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "9\r\n123456789\r\n0\r\n\r\n",
                              lim))),
              413U);
    const auto garbage = parse_error_response(parse_error("\x01\x02 nonsense\r\n\r\n"));
    ASSERT_TRUE(garbage);
    EXPECT_EQ(garbage->result_int(), 400U);
    EXPECT_EQ(garbage->body(), R"({"error":"bad_request"})");
    EXPECT_EQ(status_of(parse_error_response(parse_error(
                  "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"))),
              400U);
    EXPECT_EQ(status_of(parse_error_response(parse_error(
                  "POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"))),
              400U);
}

TEST(ParseError, NobodyToAnswer) {
    EXPECT_FALSE(parse_error_response({}));
    EXPECT_FALSE(parse_error_response(bhttp::error::end_of_stream));
    EXPECT_FALSE(parse_error_response(bhttp::error::partial_message));
    EXPECT_FALSE(parse_error_response(boost::asio::error::connection_reset));
    EXPECT_FALSE(parse_error_response(boost::asio::error::operation_aborted));
}

TEST(Finalize, SetsVersionConnectionLengthAndHeaders) {
    Response res{bhttp::status::ok, 11};
    res.body() = "hello";
    finalize_response(res, 10, true);
    EXPECT_EQ(res.version(), 10U);
    EXPECT_TRUE(res.keep_alive());
    EXPECT_EQ(res[bhttp::field::content_length], "5");
    EXPECT_EQ(res[bhttp::field::strict_transport_security], "max-age=63072000");

    Response none{bhttp::status::no_content, 11};
    none.body() = "not allowed";
    finalize_response(none, 11, false);  // must not throw
    EXPECT_TRUE(none.body().empty());
    EXPECT_FALSE(none.keep_alive());
}

TEST(Finalize, RefusesResponseSplitting) {
    Response res{bhttp::status::ok, 11};
    res.set(bhttp::field::content_disposition, "attachment; filename=\"a\r\nSet-Cookie: x=1\"");
    res.body() = "data";
    finalize_response(res, 11, true);
    EXPECT_EQ(res.result_int(), 500U);
    EXPECT_EQ(res.count(bhttp::field::content_disposition), 0U);
    EXPECT_EQ(res.body(), R"({"error":"internal_error"})");
    EXPECT_TRUE(res.keep_alive());
    EXPECT_EQ(res[bhttp::field::x_frame_options], "DENY");
}

TEST(Retry, RateLimitedAndOverloaded) {
    auto r = rate_limited_response(std::chrono::seconds(0), 11, true);
    EXPECT_EQ(r.result_int(), 429U);
    EXPECT_EQ(r[bhttp::field::retry_after], "1");  // never 0
    EXPECT_EQ(r.body(), R"({"error":"too_many_requests"})");
    EXPECT_TRUE(r.keep_alive());
    r = rate_limited_response(std::chrono::seconds(1000), 11, false);
    EXPECT_EQ(r[bhttp::field::retry_after], "1000");
    const auto o = overloaded_response(11, false);
    EXPECT_EQ(o.result_int(), 503U);
    EXPECT_EQ(o[bhttp::field::retry_after], "1");
}

TEST(Redirect, HostWithoutPort) {
    EXPECT_EQ(host_without_port("device.local:80"), "device.local");
    EXPECT_EQ(host_without_port("10.0.0.1"), "10.0.0.1");
    EXPECT_EQ(host_without_port("10.0.0.1:"), "10.0.0.1");
    EXPECT_EQ(host_without_port("[::1]:8080"), "[::1]");
    EXPECT_EQ(host_without_port("[fe80::1%25eth0]"), "[fe80::1%25eth0]");
    EXPECT_FALSE(host_without_port(""));
    EXPECT_FALSE(host_without_port(":80"));
    EXPECT_FALSE(host_without_port("a b"));
    EXPECT_FALSE(host_without_port("evil.example/path"));
    EXPECT_FALSE(host_without_port("a@b"));
    EXPECT_FALSE(host_without_port("a:80:90"));
    EXPECT_FALSE(host_without_port("a:123456"));
    EXPECT_FALSE(host_without_port("[::1"));
    EXPECT_FALSE(host_without_port("[abc]"));
    EXPECT_FALSE(host_without_port("[::1]x"));
    EXPECT_FALSE(host_without_port(std::string(254, 'a')));
}

TEST(Redirect, LocationKeepsTargetAndSetsNoCookie) {
    auto res =
        redirect_response(parse("GET /a/b?c=d HTTP/1.1\r\nHost: dev.local:8080\r\n\r\n"), 8443);
    EXPECT_EQ(res.result_int(), 301U);
    EXPECT_EQ(res[bhttp::field::location], "https://dev.local:8443/a/b?c=d");
    EXPECT_FALSE(res.keep_alive());
    EXPECT_EQ(res.count(bhttp::field::set_cookie), 0U);
    res = redirect_response(parse("GET / HTTP/1.1\r\nHost: [::1]\r\n\r\n"), 443);
    EXPECT_EQ(res[bhttp::field::location], "https://[::1]:443/");
    EXPECT_EQ(redirect_response(parse("GET / HTTP/1.0\r\n\r\n"), 443).result_int(), 400U);
    EXPECT_EQ(redirect_response(parse("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), 443).result_int(),
              400U);
}

TEST(Precheck, Ne6Defaults) {
    const Limits lim;
    EXPECT_EQ(lim.header_bytes, 16U * 1024);
    EXPECT_EQ(lim.body_bytes, 1024U * 1024);
    EXPECT_EQ(lim.handshake_timeout, std::chrono::seconds(10));
    EXPECT_EQ(lim.header_timeout, std::chrono::seconds(10));
    EXPECT_EQ(lim.body_timeout, std::chrono::seconds(60));
    EXPECT_EQ(lim.body_min_bytes_per_second, 1024U);
    EXPECT_EQ(lim.idle_timeout, std::chrono::seconds(15));
    // A 16 KiB header block passes the parser; one byte more is 431.
    const std::string filler(16 * 1024 - 64, 'a');
    const std::string ok = "GET / HTTP/1.1\r\nHost: a\r\nX: " + filler + "\r\n\r\n";
    EXPECT_NO_FATAL_FAILURE(parse(ok, lim));
}

TEST(Precheck, BodyDeadlineFollowsTheMinimumRateUpToTheCap) {
    using namespace std::chrono_literals;
    Limits lim;  // 1 KiB/s, grace 5 s, cap 60 s
    const std::chrono::steady_clock::time_point t0{};
    EXPECT_EQ(body_deadline(lim, t0, 0), t0 + 5s);
    EXPECT_EQ(body_deadline(lim, t0, 1024), t0 + 6s);
    EXPECT_EQ(body_deadline(lim, t0, 512), t0 + 5500ms);
    EXPECT_EQ(body_deadline(lim, t0, 10 * 1024), t0 + 15s);
    // Never beyond the cap, however fast the body came.
    EXPECT_EQ(body_deadline(lim, t0, 55 * 1024), t0 + 60s);
    EXPECT_EQ(body_deadline(lim, t0, 1024 * 1024), t0 + 60s);
    EXPECT_EQ(body_deadline(lim, t0, ~std::uint64_t{0}), t0 + 60s);
    // No minimum rate: the cap alone.
    lim.body_min_bytes_per_second = 0;
    EXPECT_EQ(body_deadline(lim, t0, 0), t0 + 60s);
}

}  // namespace
}  // namespace sg::web::http
