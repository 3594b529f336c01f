// api_test_fixture.h: test-only. The fixture shared by the web/api unit tests (api_test.cpp,
// api_reauth_test.cpp, api_dos_test.cpp): an Api over a real store in a temporary directory, a
// fake device, a settable clock and the cheapest Argon2id cost; call() sends one request as the
// HTTP server would. One definition in a named namespace: GoogleTest requires every TEST_F of a
// suite (ApiTest) to use the same fixture class, so it must not be copied into each file.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <regex>
#include <string>
#include <string_view>

#include "security/accounts/testing.h"
#include "web/api/api.h"

namespace sg::web::api::testing {

namespace bhttp = boost::beast::http;
using security::accounts::FakeClock;
using security::accounts::HashCostForTests;

class FakeDevice : public Device {
public:
    std::shared_ptr<const config::Config> config() override { return cfg; }
    core::Result<std::int64_t> commit(config::Config next, const events::Fields&) override {
        cfg = std::make_shared<const config::Config>(std::move(next));
        return ++commits;
    }
    nlohmann::json status() override { return {{"ports", nlohmann::json::array()}}; }
    void accounts_changed() override { ++account_changes; }
    void certificate_changed() override {}
    nlohmann::json services() override {
        return {{"services", nlohmann::json::array({{{"name", "https"}, {"state", "on"}}})}};
    }
    config::ParseOptions parse_options() override {
        return {.is_event_type = [](std::string_view k) { return events::is_type(k); },
                .is_mandatory_event = [](std::string_view k) { return events::is_mandatory(k); }};
    }
    std::string version() override { return "test"; }

    std::shared_ptr<const config::Config> cfg = std::make_shared<const config::Config>();
    std::int64_t commits = 0;
    int account_changes = 0;
};

struct Client {
    std::string cookie;
    std::string csrf;
};

class ApiTest : public ::testing::Test {
protected:
    void SetUp() override {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        dir_ = std::filesystem::temp_directory_path() /
               ("sg_api_" + std::to_string(::getpid()) + "_" + info->name());
        std::filesystem::remove_all(dir_);
        auto s = store::Store::open(dir_);
        ASSERT_TRUE(s.ok()) << s.error().message;
        store_ = std::move(*s);
        log_ = std::make_unique<events::Log>(*store_);
        api_ = std::make_unique<Api>(device_, *store_, *log_, clock_.fn(),
                                     HashCostForTests::cheapest());
    }
    void TearDown() override {
        api_.reset();
        log_.reset();
        store_.reset();
        std::filesystem::remove_all(dir_);
    }

    http::Response call(bhttp::verb method, const std::string& target,
                        const nlohmann::json& body = nullptr, const Client* c = nullptr,
                        const std::string& source = "127.0.0.1") {
        http::Request req{method, target, 11};
        req.set(bhttp::field::host, "127.0.0.1:8443");
        if (!body.is_null()) {
            req.set(bhttp::field::content_type, "application/json");
            req.body() = body.dump();
            req.prepare_payload();
        }
        if (c) {
            req.set(bhttp::field::cookie, std::string(kCookieName) + "=" + c->cookie);
            req.set("X-CSRF-Token", c->csrf);
        }
        http::Peer peer{boost::asio::ip::make_address(source), 40000, &counters_};
        return api_->handle(std::move(req), peer);
    }
    static nlohmann::json json(const http::Response& r) {
        return nlohmann::json::parse(r.body(), nullptr, false);
    }
    void setup_admin() {
        auto r = call(bhttp::verb::post, "/api/v1/setup",
                      {{"account", "admin"}, {"password", "admin-password-1"}});
        ASSERT_EQ(r.result(), bhttp::status::created) << r.body();
    }
    Client login(const std::string& name, const std::string& password) {
        auto r =
            call(bhttp::verb::post, "/api/v1/login", {{"account", name}, {"password", password}});
        EXPECT_EQ(r.result(), bhttp::status::ok) << r.body();
        const std::string set_cookie(r[bhttp::field::set_cookie]);
        std::smatch m;
        const std::regex re(
            "^__Host-sg_session=([A-Za-z0-9_-]{43}); Path=/; Secure; HttpOnly; SameSite=Strict$");
        EXPECT_TRUE(std::regex_match(set_cookie, m, re)) << set_cookie;
        return Client{m.size() > 1 ? m[1].str() : "", json(r).value("csrf_token", "")};
    }
    /// Creates the Operator account "op" (no forced password change) as `admin` and logs it in.
    Client add_operator(const Client& admin) {
        auto r = call(bhttp::verb::post, "/api/v1/accounts",
                      {{"name", "op"},
                       {"group", "Operator"},
                       {"password", "operator-pass-1"},
                       {"must_change_password", false}},
                      &admin);
        EXPECT_EQ(r.result(), bhttp::status::created) << r.body();
        return login("op", "operator-pass-1");
    }

    http::Counters counters_;  // what the HTTP server would pass in Peer
    FakeClock clock_;
    FakeDevice device_;
    std::filesystem::path dir_;
    std::unique_ptr<store::Store> store_;
    std::unique_ptr<events::Log> log_;
    std::unique_ptr<Api> api_;
};

}  // namespace sg::web::api::testing
