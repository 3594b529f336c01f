#include "web/http/headers.h"

#include <gtest/gtest.h>

#include <boost/beast/http/field.hpp>
#include <string>

namespace sg::web::http {
namespace {

namespace bhttp = boost::beast::http;

std::string field(const Response& res, std::string_view name) {
    return std::string(res[name]);
}

TEST(SecurityHeaders, ExactValuesOfWs5AndWs6) {
    Response res{bhttp::status::ok, 11};
    add_security_headers(res);
    EXPECT_EQ(field(res, "Strict-Transport-Security"), "max-age=63072000");
    EXPECT_EQ(field(res, "Content-Security-Policy"),
              "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
              "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
              "frame-ancestors 'none'");
    EXPECT_EQ(field(res, "X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(field(res, "X-Frame-Options"), "DENY");
    EXPECT_EQ(field(res, "Referrer-Policy"), "no-referrer");
    EXPECT_EQ(field(res, "Cross-Origin-Opener-Policy"), "same-origin");
    EXPECT_EQ(field(res, "Cross-Origin-Resource-Policy"), "same-origin");
    EXPECT_EQ(field(res, "Permissions-Policy"),
              "camera=(), microphone=(), geolocation=(), usb=(), serial=()");
    EXPECT_EQ(field(res, "Cache-Control"), "no-store");
}

TEST(SecurityHeaders, KeepsHandlerCacheControlButReplacesWeakerPolicies) {
    Response res{bhttp::status::ok, 11};
    res.set(bhttp::field::cache_control, "max-age=3600");
    res.insert("content-security-policy", "default-src *");  // a laxer copy, other case
    res.insert("X-Frame-Options", "ALLOWALL");
    add_security_headers(res);
    EXPECT_EQ(field(res, "Cache-Control"), "max-age=3600");
    EXPECT_EQ(res.count("Content-Security-Policy"), 1U);
    EXPECT_NE(field(res, "Content-Security-Policy").find("frame-ancestors 'none'"),
              std::string::npos);
    EXPECT_EQ(res.count("X-Frame-Options"), 1U);
    EXPECT_EQ(field(res, "X-Frame-Options"), "DENY");
}

TEST(SecurityHeaders, RemovesServerAndPoweredBy) {
    Response res{bhttp::status::ok, 11};
    res.set(bhttp::field::server, "Boost.Beast/345");
    res.insert("x-powered-by", "PHP/8");
    add_security_headers(res);
    EXPECT_EQ(res.count(bhttp::field::server), 0U);
    EXPECT_EQ(res.count("X-Powered-By"), 0U);
}

TEST(SecurityHeaders, Idempotent) {
    Response res{bhttp::status::ok, 11};
    add_security_headers(res);
    const auto before = std::distance(res.begin(), res.end());
    add_security_headers(res);
    EXPECT_EQ(std::distance(res.begin(), res.end()), before);
}

TEST(ErrorResponse, GenericJsonBody) {
    const Response res = error_response(bhttp::status::not_found, "not_found");
    EXPECT_EQ(res.result(), bhttp::status::not_found);
    EXPECT_EQ(res.body(), R"({"error":"not_found"})");
    EXPECT_EQ(field(res, "Content-Type"), "application/json; charset=utf-8");
    EXPECT_EQ(field(res, "Content-Length"), std::to_string(res.body().size()));
    EXPECT_FALSE(res.keep_alive());
    EXPECT_EQ(res.version(), 11U);
}

TEST(ErrorResponse, VersionKeepAliveAndEscaping) {
    const Response res =
        error_response(bhttp::status::bad_request, "a\"b\\c\n", 10, /*keep_alive=*/true);
    EXPECT_EQ(res.version(), 10U);
    EXPECT_TRUE(res.keep_alive());
    EXPECT_EQ(res.body(), R"({"error":"a\"b\\c\u000a"})");
}

// Issue 14 item 11: the media type exactly, parameters and case aside.
TEST(MediaType, ExactTypeWithParametersAndAnyCase) {
    constexpr std::string_view kJson = "application/json";
    for (std::string_view ok : {"application/json", "application/json; charset=utf-8",
                                "Application/JSON", "application/json;charset=UTF-8",
                                " application/json\t; charset=utf-8", "application/json;"}) {
        EXPECT_TRUE(media_type_is(ok, kJson)) << ok;
    }
    for (std::string_view bad :
         {"application/jsonp", "application/json-seq", "application/jso", "text/application/json",
          "application/json x", "", "application/jsonp; charset=utf-8", "application / json"}) {
        EXPECT_FALSE(media_type_is(bad, kJson)) << bad;
    }
}

}  // namespace
}  // namespace sg::web::http
