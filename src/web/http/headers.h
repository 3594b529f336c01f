// headers.h: the HTTP vocabulary of the management plane — Request/Response types, the security
// headers every response carries (WS-5, WS-6) and the generic JSON error (WS-8). Pure functions,
// no I/O: used by the server, the API router and the fuzz target alike.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string_view>

namespace sg::web::http {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

/// WS-5 + WS-6, applied by the server to every response (also errors, 404, 401, 429,
/// redirects) right before it is written; exact values:
///   Strict-Transport-Security: max-age=63072000
///   Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self';
///     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none';
///     form-action 'self'; frame-ancestors 'none'
///   X-Content-Type-Options: nosniff; X-Frame-Options: DENY; Referrer-Policy: no-referrer;
///   Cross-Origin-Opener-Policy: same-origin; Cross-Origin-Resource-Policy: same-origin;
///   Permissions-Policy: camera=(), microphone=(), geolocation=(), usb=(), serial=()
///   Cache-Control: no-store (unless the handler already set Cache-Control)
/// Any Server / X-Powered-By header is removed (WS-6: no versions). Idempotent.
void add_security_headers(Response& res);

/// Generic JSON error (WS-8): body {"error":"<code>"}, Content-Type application/json;
/// charset=utf-8, Content-Length set. `code` is a short snake_case identifier chosen by us
/// (never user input, never a message); it is JSON-escaped anyway.
Response error_response(boost::beast::http::status status, std::string_view code,
                        unsigned version = 11, bool keep_alive = false);

/// Whether a Content-Type value names the media type `type` ("application/json"): the part before
/// any ';' parameters, without surrounding spaces or tabs, equal to `type` ignoring ASCII case (RFC
/// 9110 §8.3.1). A prefix is not a match: "application/jsonp" is not "application/json".
bool media_type_is(std::string_view content_type, std::string_view type);

}  // namespace sg::web::http
