// precheck.h: what the HTTPS server decides about a request on its own, before any handler runs —
// parse errors, protocol checks, the rate-limit and overload answers, the WS-9 redirect. Pure
// functions (no socket, timer or clock), so the fuzz target drives exactly the server's logic.
#pragma once

#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "web/http/headers.h"
#include "web/http/limits.h"

namespace sg::web::http {

/// Checks the start line and header fields of a request whose header has been parsed (the body
/// may not be read yet; it is not looked at). Returns the answer when the request must not reach
/// the handler; the server sends it and closes. Checks: HTTP/1.0 or 1.1 (else 505); a method of
/// GET HEAD POST PUT PATCH DELETE OPTIONS (else 501); origin-form target "/..." (else 400);
/// exactly one Host on 1.1, at most one on 1.0 (else 400, RFC 9112 §3.2); Transfer-Encoding only
/// "chunked" and only on 1.1 (else 501 / 400: no smuggling by unknown codings); Content-Length
/// within limits.body_bytes (else 413); Expect only "100-continue" (else 417).
std::optional<Response> precheck(const Request& req, const Limits& limits);

/// True when the client waits for "100 Continue" before sending the body.
bool expects_continue(const Request& req);

/// The answer to a request_parser error before closing: header_limit (and a full read buffer) →
/// 431 header_too_large, body_limit → 413 body_too_large, any other parse error → 400
/// bad_request. nullopt when there is nobody to answer: the peer closed (end_of_stream,
/// partial_message) or the error is not an HTTP parse error (network, TLS, timeout).
std::optional<Response> parse_error_response(const boost::system::error_code& ec);

/// Prepares any response for the wire: HTTP version (1.0 stays 1.0, else 1.1), Connection,
/// Content-Length (a 1xx/204/304 answer loses any body: it has none by definition) and the
/// security headers (add_security_headers). A response with CR, LF or NUL in a header name or
/// value is replaced by 500 internal_error (no response splitting).
void finalize_response(Response& res, unsigned version, bool keep_alive);

/// NE-6, the body's minimum rate: the time by which the read that follows `received` body bytes
/// must have made progress, for a body whose header ended at `header_done`:
/// header_done + body_grace + received / body_min_bytes_per_second, never later than
/// header_done + body_timeout (the cap; also the whole answer when the minimum rate is 0). The
/// server re-arms its deadline with it after every read, so a body at ≥ the minimum rate is never
/// cut before the cap and one that falls behind is cut at most body_grace late.
std::chrono::steady_clock::time_point body_deadline(
    const Limits& limits, std::chrono::steady_clock::time_point header_done,
    std::uint64_t received);

/// 429 too_many_requests with Retry-After in whole seconds (at least 1; NE-5).
Response rate_limited_response(std::chrono::seconds retry_after, unsigned version, bool keep_alive);
/// 503 overloaded with Retry-After: 1 (handler backlog full).
Response overloaded_response(unsigned version, bool keep_alive);

/// The host of a Host header value without its port: "a.b:80" → "a.b", "[::1]:80" → "[::1]",
/// "10.0.0.1" → "10.0.0.1". nullopt when it is not a plausible DNS name, IPv4 or bracketed IPv6
/// literal (it ends up in a Location header).
std::optional<std::string> host_without_port(std::string_view host);

/// WS-9: 301 to https://<Host without port>:<https_port><target>, Connection: close, no cookie;
/// 400 bad_request when Host is missing or invalid. The target "/..." is kept (already checked
/// by the parser for legal characters); any other form becomes "/".
Response redirect_response(const Request& req, std::uint16_t https_port);

}  // namespace sg::web::http
