// serve.cpp: answers the browser's requests for the console's own files (assets.h); called by the
// app's HTTP handler before the API router, on the handler pool.
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <string>

#include "web/console/assets.h"

namespace sg::web::console {

namespace bhttp = boost::beast::http;

namespace {

constexpr std::string_view kImmutable = "public, max-age=31536000, immutable";
constexpr std::string_view kRevalidate = "no-cache";

const Asset* find(std::string_view path) {
    for (const Asset& a : assets()) {
        if (!a.path.empty() && a.path == path) return &a;
    }
    return nullptr;
}

}  // namespace

std::optional<http::Response> serve(const http::Request& req) {
    if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head) return std::nullopt;
    std::string_view path = req.target();
    path = path.substr(0, path.find_first_of("?#"));
    if (path == "/") path = "/index.html";
    if (path != "/index.html" && !path.starts_with("/assets/")) return std::nullopt;
    const Asset* a = find(path);
    if (a == nullptr) return std::nullopt;
    http::Response res{bhttp::status::ok, req.version()};
    res.set(bhttp::field::content_type, a->content_type);
    res.set(bhttp::field::cache_control, a->immutable ? kImmutable : kRevalidate);
    res.body().assign(a->body.data(), a->body.size());
    res.prepare_payload();  // HEAD: the server writes the header only, with the GET's length
    return res;
}

}  // namespace sg::web::console
