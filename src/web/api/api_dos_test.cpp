// api_dos_test.cpp: NE-5/NE-6 limits on the management plane through the API's request pipeline
// — the per-session request rate (429, counted, GET /system/dos) and the Argon2id slots: which
// routes need one, 503 "overloaded" after the 2 s wait, what is settled without one and how much
// Argon2id work a request costs. Fixture: api_test_fixture.h.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "web/api/api.h"
#include "web/api/api_test_fixture.h"

namespace sg::web::api {
namespace {

namespace bhttp = boost::beast::http;
using testing::ApiTest;
using testing::Client;

TEST_F(ApiTest, SessionOver50PerSecondIs429BeforeTheHandlerAndCounted) {
    setup_admin();
    auto admin = login("admin", "admin-password-1");
    auto other = login("admin", "admin-password-1");  // a second session of the same account
    // The fake clock stands still: the burst of 100, then 429 with Retry-After.
    for (int i = 0; i < 100; ++i) {
        ASSERT_EQ(call(bhttp::verb::get, "/api/v1/session", nullptr, &admin).result(),
                  bhttp::status::ok)
            << i;
    }
    auto limited = call(bhttp::verb::get, "/api/v1/session", nullptr, &admin);
    EXPECT_EQ(limited.result(), bhttp::status::too_many_requests);
    EXPECT_EQ(json(limited)["error"], "too_many_requests");
    EXPECT_EQ(limited[bhttp::field::retry_after], "1");
    // Before the handler: an unknown path and a write without CSRF token are 429 too, not 404/403.
    EXPECT_EQ(call(bhttp::verb::get, "/api/v1/nowhere", nullptr, &admin).result(),
              bhttp::status::too_many_requests);
    Client no_csrf{admin.cookie, ""};
    EXPECT_EQ(
        call(bhttp::verb::post, "/api/v1/logout", nlohmann::json::object(), &no_csrf).result(),
        bhttp::status::too_many_requests);
    EXPECT_EQ(counters_.too_many_requests_session.load(), 3U);
    // The other session is served.
    EXPECT_EQ(call(bhttp::verb::get, "/api/v1/session", nullptr, &other).result(),
              bhttp::status::ok);
    // 20 ms later one request more.
    clock_.advance(20'000);
    EXPECT_EQ(call(bhttp::verb::get, "/api/v1/session", nullptr, &admin).result(),
              bhttp::status::ok);
    // The counters are readable through the API (Security, read).
    auto dos = call(bhttp::verb::get, "/api/v1/system/dos", nullptr, &other);
    ASSERT_EQ(dos.result(), bhttp::status::ok) << dos.body();
    EXPECT_EQ(json(dos)["requests"]["too_many_requests"]["session"], 3);
    EXPECT_EQ(json(dos)["connections"]["refused"]["handshake_rate"], 0);
}

TEST_F(ApiTest, DosCountersNeedSecurityRead) {
    setup_admin();
    auto admin = login("admin", "admin-password-1");
    counters_.refused_connection_rate = 7;
    auto dos = call(bhttp::verb::get, "/api/v1/system/dos", nullptr, &admin);
    ASSERT_EQ(dos.result(), bhttp::status::ok);
    EXPECT_EQ(json(dos)["connections"]["refused"]["connection_rate"], 7);
    // Operator: no Security area.
    auto op = add_operator(admin);
    ASSERT_FALSE(HasFailure());
    EXPECT_EQ(call(bhttp::verb::get, "/api/v1/system/dos", nullptr, &op).result(),
              bhttp::status::forbidden);
}

// ---------------------------------------------------------------- NE-5 Argon2id slots

TEST(Routes, Argon2idSlotRoutesAreThoseThatHashOrVerifyAPassword) {
    const std::set<std::pair<bhttp::verb, std::string_view>> argon2 = {
        {bhttp::verb::post, "/api/v1/setup"},
        {bhttp::verb::post, "/api/v1/login"},
        {bhttp::verb::put, "/api/v1/session/password"},
        {bhttp::verb::post, "/api/v1/session/reauth"},
        {bhttp::verb::post, "/api/v1/accounts"},
        {bhttp::verb::put, "/api/v1/accounts/{}/password"},
    };
    std::set<std::pair<bhttp::verb, std::string_view>> marked;
    for (const auto& r : Api::routes()) {
        if (r.needs_argon2_slot()) marked.emplace(r.method, r.pattern);
    }
    EXPECT_EQ(marked, argon2);
}

/// Holds every Argon2id slot from other threads (as concurrent logins would) until release() or
/// the end of its scope.
class AllArgon2SlotsHeld {
public:
    AllArgon2SlotsHeld() {
        namespace acc = security::accounts;
        std::vector<std::future<bool>> held;
        for (std::size_t i = 0; i < acc::argon2_parallelism(); ++i) {
            std::promise<bool> got;
            held.push_back(got.get_future());
            holders_.emplace_back([got = std::move(got), released = released_]() mutable {
                const acc::Argon2Slot slot(std::chrono::seconds(5));
                got.set_value(slot.acquired());
                released.wait();
            });
        }
        for (auto& h : held) all_held_ = h.get() && all_held_;
    }
    ~AllArgon2SlotsHeld() { release(); }
    AllArgon2SlotsHeld(const AllArgon2SlotsHeld&) = delete;
    AllArgon2SlotsHeld& operator=(const AllArgon2SlotsHeld&) = delete;

    /// False when a holder found no slot within 5 s (ASSERT it before relying on the hold).
    bool all_held() const { return all_held_; }
    void release() {
        if (holders_.empty()) return;
        release_.set_value();
        for (auto& h : holders_) h.join();
        holders_.clear();
    }

private:
    std::promise<void> release_;
    std::shared_future<void> released_ = release_.get_future().share();
    std::vector<std::thread> holders_;
    bool all_held_ = true;
};

TEST_F(ApiTest, EveryArgon2RouteIs503WithoutASlotWithinTwoSecondsAndCounted) {
    namespace acc = security::accounts;
    EXPECT_EQ(acc::kArgon2MaxWait, std::chrono::seconds(2));
    auto expect_overloaded = [&](const http::Response& r, std::chrono::nanoseconds took,
                                 std::string_view what) {
        EXPECT_EQ(r.result(), bhttp::status::service_unavailable) << what << ": " << r.body();
        EXPECT_EQ(json(r)["error"], "overloaded") << what;
        EXPECT_EQ(r[bhttp::field::retry_after], "1") << what;
        EXPECT_GE(took, std::chrono::milliseconds(1900)) << what;
        EXPECT_LT(took, std::chrono::seconds(10)) << what;
    };
    auto timed = [&](bhttp::verb method, const std::string& target, const nlohmann::json& body,
                     const Client* c) {
        const auto t = std::chrono::steady_clock::now();
        auto r = call(method, target, body, c);
        return std::pair{std::move(r), std::chrono::steady_clock::now() - t};
    };
    {  // Setup first: it is settled (409) without a slot once an account exists.
        AllArgon2SlotsHeld hold;
        ASSERT_TRUE(hold.all_held());
        auto [r, took] = timed(bhttp::verb::post, "/api/v1/setup",
                               {{"account", "admin"}, {"password", "admin-password-1"}}, nullptr);
        hold.release();
        expect_overloaded(r, took, "setup");
    }
    EXPECT_EQ(*api_->accounts().count(), 0);
    EXPECT_EQ(api_->accounts().counters().hashes, 0U);
    setup_admin();
    auto admin = login("admin", "admin-password-1");
    const std::vector<std::tuple<bhttp::verb, std::string, nlohmann::json, const Client*>>
        requests = {
            {bhttp::verb::post,
             "/api/v1/login",
             {{"account", "admin"}, {"password", "wrong-one-1"}},
             nullptr},
            {bhttp::verb::post, "/api/v1/session/reauth", {{"password", "wrong-one-1"}}, &admin},
            {bhttp::verb::put,
             "/api/v1/session/password",
             {{"current_password", "admin-password-1"}, {"new_password", "admin-password-2"}},
             &admin},
            {bhttp::verb::post,
             "/api/v1/accounts",
             {{"name", "op"}, {"group", "Operator"}, {"password", "operator-pass-1"}},
             &admin},
            {bhttp::verb::put,
             "/api/v1/accounts/other/password",
             {{"password", "operator-pass-2"}},
             &admin},
        };
    const auto argon2_routes =
        std::count_if(Api::routes().begin(), Api::routes().end(),
                      [](const Api::Route& r) { return r.needs_argon2_slot(); });
    ASSERT_EQ(static_cast<std::size_t>(argon2_routes), requests.size() + 1);  // and setup
    const auto work_held = api_->accounts().counters();
    {  // The others at once: two seconds, not ten.
        AllArgon2SlotsHeld hold;
        ASSERT_TRUE(hold.all_held());
        std::vector<std::future<std::pair<http::Response, std::chrono::nanoseconds>>> answers;
        for (const auto& [method, target, body, client] : requests) {
            answers.push_back(std::async(std::launch::async, [&, method = method, target = target,
                                                              body = body, client = client] {
                return timed(method, target, body, client);
            }));
        }
        for (std::size_t i = 0; i < answers.size(); ++i) {
            auto [r, took] = answers[i].get();
            expect_overloaded(r, took, std::get<1>(requests[i]));
        }
    }
    EXPECT_EQ(counters_.overloaded_argon2.load(), requests.size() + 1);
    // No Argon2id ran and nothing counted against the account: the old password still works at
    // once, the wrong one of the refused login and reauth did not count, nothing was created.
    const auto work_after = api_->accounts().counters();
    EXPECT_EQ(work_after.verifications, work_held.verifications);
    EXPECT_EQ(work_after.hashes, work_held.hashes);
    EXPECT_EQ(api_->accounts().lock_state("admin").failures, 0);
    EXPECT_EQ(call(bhttp::verb::get, "/api/v1/accounts/op", nullptr, &admin).result(),
              bhttp::status::not_found);
    auto ok = call(bhttp::verb::post, "/api/v1/login",
                   {{"account", "admin"}, {"password", "admin-password-1"}});
    EXPECT_EQ(ok.result(), bhttp::status::ok) << ok.body();
}

TEST_F(ApiTest, Argon2RoutesSettleBadRequestsWithoutWaitingForASlot) {
    setup_admin();
    auto admin = login("admin", "admin-password-1");
    AllArgon2SlotsHeld hold;
    ASSERT_TRUE(hold.all_held());
    // What each handler checks before its slot is answered at once, never 503.
    EXPECT_EQ(call(bhttp::verb::post, "/api/v1/setup",
                   {{"account", "x"}, {"password", "other-password-1"}})
                  .result(),
              bhttp::status::conflict);
    EXPECT_EQ(call(bhttp::verb::post, "/api/v1/login", {{"account", "admin"}}).result(),
              bhttp::status::bad_request);
    EXPECT_EQ(call(bhttp::verb::post, "/api/v1/session/reauth", {{"password", 1}}, &admin).result(),
              bhttp::status::bad_request);
    EXPECT_EQ(call(bhttp::verb::put, "/api/v1/session/password", {{"new_password", "x"}}, &admin)
                  .result(),
              bhttp::status::bad_request);
    EXPECT_EQ(call(bhttp::verb::post, "/api/v1/accounts",
                   {{"name", "op"},
                    {"group", "Operator"},
                    {"password", "operator-pass-1"},
                    {"active", "yes"}},
                   &admin)
                  .result(),
              bhttp::status::bad_request);
    EXPECT_EQ(call(bhttp::verb::put, "/api/v1/accounts/admin/password",
                   {{"password", "admin-password-2"}}, &admin)
                  .result(),
              bhttp::status::conflict);
    EXPECT_EQ(counters_.overloaded_argon2.load(), 0U);
}

TEST_F(ApiTest, RoutesWithoutTheArgon2PropertyNeedNoSlot) {
    setup_admin();
    auto admin = login("admin", "admin-password-1");
    const auto work = api_->accounts().counters();
    AllArgon2SlotsHeld hold;
    ASSERT_TRUE(hold.all_held());
    std::vector<const Api::Route*> plain;
    for (const auto& r : Api::routes()) {
        if (!r.needs_argon2_slot()) plain.push_back(&r);
    }
    // Logout last: it ends the session the others use.
    std::stable_partition(plain.begin(), plain.end(),
                          [](const Api::Route* r) { return r->pattern != "/api/v1/logout"; });
    ASSERT_GT(plain.size(), 30U);
    for (const Api::Route* r : plain) {
        std::string target(r->pattern);
        if (auto p = target.find("{}"); p != std::string::npos) target.replace(p, 2, "nobody");
        const nlohmann::json body = r->write ? nlohmann::json::object() : nlohmann::json();
        auto res = call(r->method, target, body, &admin);
        EXPECT_NE(res.result(), bhttp::status::service_unavailable) << target << res.body();
        EXPECT_NE(res.result(), bhttp::status::unauthorized) << target << res.body();
    }
    EXPECT_EQ(counters_.overloaded_argon2.load(), 0U);
    EXPECT_EQ(api_->accounts().counters().verifications, work.verifications);
    EXPECT_EQ(api_->accounts().counters().hashes, work.hashes);
}

TEST_F(ApiTest, OwnPasswordChangeVerifiesTheCurrentPasswordOnce) {
    setup_admin();
    auto admin = login("admin", "admin-password-1");
    const auto before = api_->accounts().counters();
    auto changed = call(
        bhttp::verb::put, "/api/v1/session/password",
        {{"current_password", "admin-password-1"}, {"new_password", "admin-password-2"}}, &admin);
    ASSERT_EQ(changed.result(), bhttp::status::no_content) << changed.body();
    const auto after = api_->accounts().counters();
    EXPECT_EQ(after.verifications - before.verifications, 1U);  // prove_password's login
    EXPECT_EQ(after.hashes - before.hashes, 1U);                // the new password
    login("admin", "admin-password-2");
}

TEST(Argon2Slot, AtMostTwoAndWaitIsBounded) {
    namespace acc = security::accounts;
    const std::size_t n = acc::argon2_parallelism();
    EXPECT_GE(n, 1U);
    EXPECT_LE(n, 2U);
    EXPECT_LE(n, std::max(1U, std::thread::hardware_concurrency() - 1));
    {  // This thread takes every slot through other threads, then a wait of 100 ms fails.
        AllArgon2SlotsHeld hold;
        ASSERT_TRUE(hold.all_held());
        const acc::Argon2Slot none(std::chrono::milliseconds(100));
        EXPECT_FALSE(none.acquired());
    }
    // Free again; nested slots on one thread do not wait for a second one.
    const acc::Argon2Slot outer(std::chrono::milliseconds(100));
    ASSERT_TRUE(outer.acquired());
    const acc::Argon2Slot inner(std::chrono::milliseconds(0));
    EXPECT_TRUE(inner.acquired());
    // A hash inside the held slot runs (it would deadlock with one slot if it waited for its own).
    EXPECT_TRUE(acc::hash_password(security::Secret(std::string("nested-pass-1")),
                                   security::accounts::HashCostForTests::cheapest()));
}

}  // namespace
}  // namespace sg::web::api
