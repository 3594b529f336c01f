// serve_test.cpp: the console's files as the HTTPS server gets them from web::console::serve() —
// which requests it answers, with which media type and caching; everything else left to the API.
#include <gtest/gtest.h>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <string>

#include "web/console/assets.h"

namespace sg::web::console {
namespace {

namespace bhttp = boost::beast::http;

http::Request request(bhttp::verb method, std::string target) {
    http::Request req{method, target, 11};
    return req;
}

bool built() {
    return !assets().empty() && !assets().front().path.empty();
}

const Asset* first_hashed() {
    for (const Asset& a : assets()) {
        if (a.immutable) return &a;
    }
    return nullptr;
}

TEST(ConsoleServe, IndexAtRootIsRevalidatedEveryTime) {
    if (!built()) GTEST_SKIP() << "built with SG_CONSOLE=OFF";
    for (const char* target : {"/", "/index.html", "/?x=1"}) {
        auto res = serve(request(bhttp::verb::get, target));
        ASSERT_TRUE(res) << target;
        EXPECT_EQ(res->result(), bhttp::status::ok);
        EXPECT_EQ((*res)[bhttp::field::content_type], "text/html; charset=utf-8");
        EXPECT_EQ((*res)[bhttp::field::cache_control], "no-cache");
        EXPECT_NE(res->body().find("/assets/"), std::string::npos);
        // The CSP has no 'unsafe-inline': the page has no inline script or style.
        EXPECT_EQ(res->body().find("<script>"), std::string::npos);
        EXPECT_EQ(res->body().find("<style"), std::string::npos);
    }
}

TEST(ConsoleServe, HashedAssetsAreImmutable) {
    if (!built()) GTEST_SKIP() << "built with SG_CONSOLE=OFF";
    const Asset* a = first_hashed();
    ASSERT_NE(a, nullptr);
    auto res = serve(request(bhttp::verb::get, std::string(a->path)));
    ASSERT_TRUE(res);
    EXPECT_EQ((*res)[bhttp::field::cache_control], "public, max-age=31536000, immutable");
    EXPECT_EQ(res->body().size(), a->body.size());
    EXPECT_EQ(std::to_string(res->body().size()), (*res)[bhttp::field::content_length]);
    auto head = serve(request(bhttp::verb::head, std::string(a->path)));
    ASSERT_TRUE(head);
    EXPECT_EQ((*head)[bhttp::field::content_length], (*res)[bhttp::field::content_length]);
}

TEST(ConsoleServe, EverythingElseIsTheApis) {
    if (!built()) GTEST_SKIP() << "built with SG_CONSOLE=OFF";
    EXPECT_FALSE(serve(request(bhttp::verb::post, "/")));
    EXPECT_FALSE(serve(request(bhttp::verb::put, "/index.html")));
    EXPECT_FALSE(serve(request(bhttp::verb::get, "/api/v1/status")));
    EXPECT_FALSE(serve(request(bhttp::verb::get, "/assets/missing-0000.js")));
    EXPECT_FALSE(serve(request(bhttp::verb::get, "/assets/../index.html")));
    EXPECT_FALSE(serve(request(bhttp::verb::get, "/favicon.ico")));
    EXPECT_FALSE(serve(request(bhttp::verb::get, "//index.html")));
}

}  // namespace
}  // namespace sg::web::console
