// assets.h: the web console's files (issue 13), built from web/ by Vite and embedded in the binary
// by cmake/embed_console.cmake (docs/adr/0011-web-console.md), and the handler that serves
// them at / beside the API. Pure lookups over constant data: thread-safe, no I/O.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "web/http/headers.h"

namespace sg::web::console {

struct Asset {
    std::string_view path;          // URL path: "/index.html", "/assets/index-<hash>.js"
    std::string_view content_type;  // with charset for text
    bool immutable = false;         // content-hashed name: cached for a year
    std::string_view body;
};

/// Every embedded file (generated); empty when the binary was built without the console.
std::span<const Asset> assets();

/// The console's answer to `req`, or nullopt when the request is not for a console file (then the
/// API answers it). GET and HEAD of "/" (index.html), "/index.html" and "/assets/<file>" only; the
/// query string is ignored. index.html is "Cache-Control: no-cache" (a new build is seen at
/// once), hashed assets "public, max-age=31536000, immutable". The server adds the security
/// headers (CSP and the rest) as to every answer.
std::optional<http::Response> serve(const http::Request& req);

}  // namespace sg::web::console
