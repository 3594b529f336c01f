// headers.cpp: the security headers (WS-5, WS-6) and the generic JSON error body (WS-8). Called
// by web::http::Server on its connection strands for every response it writes, and by the API
// router on the handler pool; pure and thread-safe. Compiled into the http_request_fuzz target.
#include "web/http/headers.h"

#include <array>
#include <boost/beast/http/field.hpp>
#include <string>
#include <utility>

namespace sg::web::http {

namespace http = boost::beast::http;

namespace {

// WS-5, verbatim from security-requirements.md: tests compare these strings exactly.
constexpr std::string_view kCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";
constexpr std::string_view kPermissions =
    "camera=(), microphone=(), geolocation=(), usb=(), serial=()";

void escape_json(std::string_view in, std::string& out) {
    static constexpr std::string_view kHex = "0123456789abcdef";
    for (char c : in) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20) {
            out += "\\u00";
            out += kHex[u >> 4U];
            out += kHex[u & 0xFU];
        } else {
            out += c;
        }
    }
}

}  // namespace

void add_security_headers(Response& res) {
    // set() replaces every earlier instance, so a handler cannot weaken a policy by adding a
    // second, laxer copy of a header (WS-5 wants exact values).
    res.set(http::field::strict_transport_security, "max-age=63072000");
    res.set("Content-Security-Policy", kCsp);
    res.set("X-Content-Type-Options", "nosniff");
    res.set(http::field::x_frame_options, "DENY");
    res.set("Referrer-Policy", "no-referrer");
    res.set("Cross-Origin-Opener-Policy", "same-origin");
    res.set("Cross-Origin-Resource-Policy", "same-origin");
    res.set("Permissions-Policy", kPermissions);
    // WS-6: API answers are never cached; a handler serving static UI assets may choose its own.
    if (res.find(http::field::cache_control) == res.end()) {
        res.set(http::field::cache_control, "no-store");
    }
    // WS-6 / NE-10: nothing that names the software or its version.
    res.erase(http::field::server);
    res.erase("X-Powered-By");
}

Response error_response(http::status status, std::string_view code, unsigned version,
                        bool keep_alive) {
    Response res{status, version};
    res.set(http::field::content_type, "application/json; charset=utf-8");
    std::string body = R"({"error":")";
    escape_json(code, body);
    body += "\"}";
    res.body() = std::move(body);
    res.keep_alive(keep_alive);
    res.prepare_payload();
    return res;
}

bool media_type_is(std::string_view content_type, std::string_view type) {
    std::string_view m = content_type.substr(0, content_type.find(';'));
    auto ows = [](char c) { return c == ' ' || c == '\t'; };  // RFC 9110 OWS
    while (!m.empty() && ows(m.front())) m.remove_prefix(1);
    while (!m.empty() && ows(m.back())) m.remove_suffix(1);
    if (m.size() != type.size()) return false;
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    for (std::size_t i = 0; i < m.size(); ++i) {
        if (lower(m[i]) != lower(type[i])) return false;
    }
    return true;
}

}  // namespace sg::web::http
