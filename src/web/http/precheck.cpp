// precheck.cpp: the server's own verdicts on a request (see precheck.h). Called by
// web::http::Server on a connection strand after the header is parsed, and by the
// http_request_fuzz target; pure, no I/O, no coroutine (the clang fuzz build compiles it alone).
#include "web/http/precheck.h"

#include <algorithm>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <iterator>

namespace sg::web::http {

namespace http = boost::beast::http;

namespace {

constexpr std::string_view kCtl{"\r\n\0", 3};

bool is_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::size_t count_fields(const Request& req, http::field f) {
    auto range = req.equal_range(f);
    return static_cast<std::size_t>(std::distance(range.first, range.second));
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace

std::optional<Response> precheck(const Request& req, const Limits& limits) {
    const unsigned v = req.version();
    if (v != 10 && v != 11) {
        // HTTP/0.9, 2.0 prefaces ("PRI * HTTP/2.0") and made-up versions: answered as 1.1.
        return error_response(http::status::http_version_not_supported,
                              "http_version_not_supported");
    }
    switch (req.method()) {
        case http::verb::get:
        case http::verb::head:
        case http::verb::post:
        case http::verb::put:
        case http::verb::patch:
        case http::verb::delete_:
        case http::verb::options: break;
        default:
            // TRACE (cross-site tracing), CONNECT, WebDAV and unknown tokens: nothing here
            // serves them (RFC 9110 §15.6.2).
            return error_response(http::status::not_implemented, "not_implemented", v);
    }
    const auto target = req.target();
    if (target.empty() || target.front() != '/') {
        // Only origin-form: no proxying (absolute-form), no "*" (asterisk-form).
        return error_response(http::status::bad_request, "bad_request", v);
    }
    const std::size_t hosts = count_fields(req, http::field::host);
    if ((v == 11 && hosts != 1) || hosts > 1) {
        return error_response(http::status::bad_request, "bad_request", v);  // RFC 9112 §3.2
    }
    if (req.find(http::field::transfer_encoding) != req.end()) {
        // The parser frames only "chunked" (last); any other coding would leave the body to be
        // read as the next request (smuggling), so it is refused outright (RFC 9112 §6.1).
        if (v == 10 || count_fields(req, http::field::transfer_encoding) != 1) {
            return error_response(http::status::bad_request, "bad_request", v);
        }
        const auto te = trim(req[http::field::transfer_encoding]);
        if (!boost::beast::iequals(te, "chunked")) {
            return error_response(http::status::not_implemented, "not_implemented", v);
        }
    }
    if (const auto it = req.find(http::field::content_length); it != req.end()) {
        // The parser has already refused a length over its body_limit; this keeps the verdict
        // when precheck() runs on a request that did not come through the server's parser.
        const auto cl = trim(it->value());
        std::uint64_t n = 0;
        for (char c : cl) {
            if (c < '0' || c > '9') {
                return error_response(http::status::bad_request, "bad_request", v);
            }
            if (n > limits.body_bytes) break;
            n = n * 10 + static_cast<std::uint64_t>(c - '0');
        }
        if (cl.empty()) return error_response(http::status::bad_request, "bad_request", v);
        if (n > limits.body_bytes) {
            return error_response(http::status::payload_too_large, "body_too_large", v);
        }
    }
    if (const auto it = req.find(http::field::expect); it != req.end()) {
        if (count_fields(req, http::field::expect) != 1 ||
            !boost::beast::iequals(trim(it->value()), "100-continue")) {
            return error_response(http::status::expectation_failed, "expectation_failed", v);
        }
    }
    return std::nullopt;
}

bool expects_continue(const Request& req) {
    const auto it = req.find(http::field::expect);
    return req.version() == 11 && it != req.end() &&
           boost::beast::iequals(trim(it->value()), "100-continue");
}

std::optional<Response> parse_error_response(const boost::system::error_code& ec) {
    if (!ec || ec.category() != http::make_error_code(http::error::end_of_stream).category()) {
        return std::nullopt;  // network, TLS or timer: nobody to answer, or nothing went wrong
    }
    switch (static_cast<http::error>(ec.value())) {
        case http::error::end_of_stream:    // closed between requests: a normal end
        case http::error::partial_message:  // closed mid-request: nobody left to answer
            return std::nullopt;
        case http::error::header_limit:
        case http::error::buffer_overflow:  // the read buffer is sized above header_bytes
            return error_response(http::status::request_header_fields_too_large,
                                  "header_too_large");
        case http::error::body_limit:
            return error_response(http::status::payload_too_large, "body_too_large");
        default: return error_response(http::status::bad_request, "bad_request");
    }
}

void finalize_response(Response& res, unsigned version, bool keep_alive) {
    // A CR or LF in a handler's header (a value built from user data) would let that data
    // write headers of its own (response splitting): such a response is not sent at all.
    const bool unsafe = std::any_of(res.begin(), res.end(), [](const auto& f) {
        return f.name_string().find_first_of(kCtl) != std::string_view::npos ||
               f.value().find_first_of(kCtl) != std::string_view::npos;
    });
    if (unsafe) res = error_response(http::status::internal_server_error, "internal_error");
    res.version(version == 10 ? 10U : 11U);
    res.keep_alive(keep_alive);
    const unsigned s = res.result_int();
    if ((s >= 100 && s < 200) || s == 204 || s == 304) {
        // RFC 9110 §6.4.1: no content; Beast's prepare_payload() would throw on one.
        res.body().clear();
    }
    add_security_headers(res);
    res.prepare_payload();
}

std::chrono::steady_clock::time_point body_deadline(
    const Limits& limits, std::chrono::steady_clock::time_point header_done,
    std::uint64_t received) {
    const auto cap = header_done + limits.body_timeout;
    if (limits.body_min_bytes_per_second == 0) return cap;
    const std::uint64_t rate = limits.body_min_bytes_per_second;
    const std::uint64_t whole = received / rate;
    // At or beyond the cap in whole seconds: the cap (also keeps the sums below from overflowing).
    if (whole >=
        static_cast<std::uint64_t>(std::max<std::int64_t>(0, limits.body_timeout.count()))) {
        return cap;
    }
    const auto allowance =
        std::chrono::seconds(static_cast<std::int64_t>(whole)) +
        std::chrono::microseconds(static_cast<std::int64_t>((received % rate) * 1'000'000 / rate));
    return std::min(cap, header_done + limits.body_grace + allowance);
}

Response rate_limited_response(std::chrono::seconds retry_after, unsigned version,
                               bool keep_alive) {
    Response res =
        error_response(http::status::too_many_requests, "too_many_requests", version, keep_alive);
    res.set(http::field::retry_after,
            std::to_string(std::max<std::int64_t>(1, retry_after.count())));
    return res;
}

Response overloaded_response(unsigned version, bool keep_alive) {
    Response res =
        error_response(http::status::service_unavailable, "overloaded", version, keep_alive);
    res.set(http::field::retry_after, "1");
    return res;
}

std::optional<std::string> host_without_port(std::string_view host) {
    host = trim(host);
    std::string_view name;
    std::string_view rest;
    if (!host.empty() && host.front() == '[') {
        const auto close = host.find(']');
        if (close == std::string_view::npos || close < 3) return std::nullopt;
        name = host.substr(0, close + 1);
        rest = host.substr(close + 1);
        const auto inner = name.substr(1, name.size() - 2);
        if (inner.find(':') == std::string_view::npos) return std::nullopt;
        // Hex digits, ':' and an embedded IPv4 '.'; a zone id ("%25eth0") is letters and digits.
        if (!std::all_of(inner.begin(), inner.end(),
                         [](char c) { return is_alnum(c) || c == ':' || c == '.' || c == '%'; })) {
            return std::nullopt;
        }
    } else {
        const auto colon = host.find(':');
        name = host.substr(0, colon);
        rest = colon == std::string_view::npos ? std::string_view{} : host.substr(colon);
        if (name.empty() || name.size() > 253) return std::nullopt;
        if (!std::all_of(name.begin(), name.end(),
                         [](char c) { return is_alnum(c) || c == '.' || c == '-'; })) {
            return std::nullopt;
        }
    }
    if (!rest.empty()) {  // ":" then 0–5 digits (RFC 3986 allows an empty port)
        if (rest.front() != ':' || rest.size() > 6) return std::nullopt;
        rest.remove_prefix(1);
        if (!std::all_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            return std::nullopt;
        }
    }
    return std::string(name);
}

Response redirect_response(const Request& req, std::uint16_t https_port) {
    const unsigned v = req.version() == 10 ? 10 : 11;
    const auto it = req.find(http::field::host);
    std::optional<std::string> host;
    if (it != req.end() && count_fields(req, http::field::host) == 1) {
        host = host_without_port(it->value());
    }
    if (!host) return error_response(http::status::bad_request, "bad_request", v);
    const auto target = req.target();
    std::string location = "https://" + *host + ":" + std::to_string(https_port);
    if (!target.empty() && target.front() == '/') {
        location.append(target.data(), target.size());
    } else {
        location += '/';
    }
    Response res{http::status::moved_permanently, v};
    res.set(http::field::location, location);
    res.keep_alive(false);
    res.prepare_payload();
    return res;
}

}  // namespace sg::web::http
