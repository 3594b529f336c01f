// http_request_fuzz.cpp: libFuzzer target over what the HTTPS server does with request bytes
// (FZ-1): Beast's request_parser with the server's Limits, fed in arbitrary splits through a
// buffer bounded like the server's, then the server's own verdicts — parse_error_response(),
// precheck(), finalize_response() (security headers), the WS-9 redirect — on every request that
// parses. Pipelined requests are parsed one after another as on a keep-alive connection.
// Compiled with headers.cpp and precheck.cpp only (no Asio coroutines: see fuzz/CMakeLists.txt).
// The lead extends this target to drive the API router with each parsed request.
#include <algorithm>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "web/http/headers.h"
#include "web/http/precheck.h"

namespace {

namespace bhttp = boost::beast::http;
using sg::web::http::Limits;
using sg::web::http::Request;
using sg::web::http::Response;

// The server's read buffer: header_bytes plus this slack (session.cpp, kBufferSlack).
constexpr std::size_t kBufferSlack = 8 * 1024;
constexpr int kMaxRequests = 16;  // per input, as pipelined keep-alive requests

void check(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "invariant broken: %s\n", what);
        std::abort();
    }
}

/// What the server writes must always carry WS-5/WS-6 and no CR/LF inside a header value.
void check_response(Response& res, unsigned version, bool keep_alive) {
    sg::web::http::finalize_response(res, version, keep_alive);
    check(res["Strict-Transport-Security"] == "max-age=63072000", "HSTS");
    check(res["X-Frame-Options"] == "DENY", "X-Frame-Options");
    check(res["Cache-Control"].size() > 0, "Cache-Control");
    check(res.count(bhttp::field::server) == 0, "Server header");
    for (const auto& f : res) {
        const auto v = f.value();
        check(v.find('\r') == std::string_view::npos && v.find('\n') == std::string_view::npos,
              "CR/LF in a header value");
    }
}

/// A small deterministic generator for the split sizes, seeded from the input.
struct Splits {
    std::uint32_t state;
    std::size_t next() {
        state = state * 1103515245U + 12345U;
        const std::uint32_t r = (state >> 16U) & 0x7FFFU;
        // Mostly tiny pieces (1-8 bytes) to hit every parser state boundary, sometimes large.
        return (r & 3U) != 0 ? 1 + (r % 8U) : 1 + (r % 4096U);
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    Limits limits;
    // The first byte picks the limits' scale so small limits get exercised too.
    if ((data[0] & 1U) != 0) {
        limits.header_bytes = 256;
        limits.body_bytes = 64;
    }
    Splits splits{static_cast<std::uint32_t>(data[1]) |
                  (static_cast<std::uint32_t>(data[0]) << 8U)};
    std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);
    const std::size_t buffer_max = limits.header_bytes + kBufferSlack;

    std::string buffer;  // bytes received, not yet consumed by the parser
    for (int n = 0; n < kMaxRequests; ++n) {
        bhttp::request_parser<bhttp::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(limits.header_bytes));
        parser.body_limit(limits.body_bytes);
        boost::system::error_code ec;
        bool header_checked = false;
        for (;;) {
            if (!buffer.empty()) {
                const std::size_t used =
                    parser.put(boost::asio::buffer(buffer.data(), buffer.size()), ec);
                buffer.erase(0, used);
                if (ec == bhttp::error::need_more) {
                    ec = {};
                } else if (ec) {
                    break;
                }
            }
            if (parser.is_header_done() && !header_checked) {
                header_checked = true;
                // As the server: the header verdict comes before any body byte is read.
                if (auto reply = sg::web::http::precheck(parser.get(), limits)) {
                    check_response(*reply, reply->version(), false);
                    return 0;  // the server answers and closes
                }
                (void)sg::web::http::expects_continue(parser.get());
            }
            if (parser.is_done()) break;
            if (input.empty()) {
                if (parser.got_some()) {
                    parser.put_eof(ec);
                    if (!ec) break;  // body delimited by EOF (not for requests, but harmless)
                }
                if (!ec) return 0;  // clean end between requests
                break;
            }
            if (buffer.size() >= buffer_max) {
                ec = bhttp::error::buffer_overflow;  // the server's flat_buffer is full
                break;
            }
            const std::size_t take =
                std::min({splits.next(), input.size(), buffer_max - buffer.size()});
            buffer.append(input.substr(0, take));
            input.remove_prefix(take);
        }
        if (ec) {
            if (auto reply = sg::web::http::parse_error_response(ec)) {
                check(reply->result() == bhttp::status::bad_request ||
                          reply->result() == bhttp::status::payload_too_large ||
                          reply->result() == bhttp::status::request_header_fields_too_large,
                      "parse error status");
                check_response(*reply, 11, false);
            }
            return 0;
        }
        Request req = parser.release();
        check(req.body().size() <= limits.body_bytes, "body over the limit");
        Response redirect = sg::web::http::redirect_response(req, 443);
        if (redirect.result() == bhttp::status::moved_permanently) {
            const auto loc = redirect[bhttp::field::location];
            check(loc.substr(0, 8) == "https://", "redirect scheme");
        }
        check_response(redirect, req.version(), false);
        if (auto host = req.find(bhttp::field::host); host != req.end()) {
            (void)sg::web::http::host_without_port(host->value());
        }
        // Stand-in for the handler until the lead plugs in the API router.
        Response res{bhttp::status::ok, req.version()};
        res.body() = req.body();
        check_response(res, req.version(), req.keep_alive());
        if (!req.keep_alive()) return 0;
    }
    return 0;
}
