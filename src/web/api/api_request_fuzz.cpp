// api_request_fuzz.cpp: libFuzzer target over the API as an attacker reaches it — raw bytes
// parsed as an HTTP request under the server's limits, then routed, authenticated and handled
// (JSON bodies, query strings, path segments, config documents) against a real store and a fake
// device. Inputs may say @SESSION@ and @CSRF@: the harness puts a live administrator session's
// cookie and token there, so the authenticated handlers are reached too (FZ-1).
#include <unistd.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "web/api/api.h"
#include "web/http/limits.h"

namespace {

namespace bhttp = boost::beast::http;
using namespace sg;

class FuzzDevice : public web::api::Device {
public:
    std::shared_ptr<const config::Config> config() override { return cfg; }
    core::Result<std::int64_t> commit(config::Config next, const events::Fields&) override {
        cfg = std::make_shared<const config::Config>(std::move(next));
        return ++rev;
    }
    nlohmann::json status() override { return {{"ports", nlohmann::json::array()}}; }
    void accounts_changed() override {}
    void certificate_changed() override {}
    config::ParseOptions parse_options() override { return {}; }
    nlohmann::json services() override { return nlohmann::json::object(); }
    std::string version() override { return "fuzz"; }
    std::shared_ptr<const config::Config> cfg = std::make_shared<const config::Config>();
    std::int64_t rev = 0;
};

struct World {
    FuzzDevice device;
    std::unique_ptr<store::Store> store;
    std::unique_ptr<events::Log> log;
    std::unique_ptr<web::api::Api> api;
    std::string cookie;
    std::string csrf;
    std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("sg_api_fuzz_" + std::to_string(::getpid()));

    World() {
        std::filesystem::remove_all(dir);
        auto opened = store::Store::open(dir);
        if (!opened) __builtin_trap();
        store = std::move(opened.value());
        log = std::make_unique<events::Log>(*store);
        // A fixed clock: the per-source login throttle, once reached, keeps Argon2id out of
        // the loop.
        api = std::make_unique<web::api::Api>(device, *store, *log,
                                              [] { return std::int64_t{1'780'000'000'000'000}; });
    }

    World(const World&) = delete;
    World& operator=(const World&) = delete;
    // At exit (libFuzzer's end of -max_total_time, the replay's return from main): no database
    // left behind in the temporary directory, one per run.
    ~World() {
        api.reset();
        log.reset();
        store.reset();
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
    }

    void ensure_session() {
        const auto& login = device.cfg->login;
        if (!cookie.empty() && api->sessions().touch(cookie, login)) return;
        for (const auto& s : api->sessions().list(login)) api->sessions().end(s.public_id);
        auto c = api->sessions().create("admin", "Administrator", "127.0.0.1", false, login);
        if (auto* created = std::get_if<web::api::Sessions::Created>(&c)) {
            cookie = created->cookie_value;
            csrf = created->view.csrf_token;
        }
    }
};

void replace_all(std::string& s, std::string_view what, const std::string& with) {
    for (std::size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + with.size())) {
        s.replace(p, what.size(), with);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static World world;
    world.ensure_session();
    std::string input(reinterpret_cast<const char*>(data), size);
    replace_all(input, "@SESSION@", world.cookie);
    replace_all(input, "@CSRF@", world.csrf);

    const web::http::Limits limits;
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.header_bytes));
    parser.body_limit(limits.body_bytes);
    parser.eager(true);
    boost::beast::error_code ec;
    std::string_view rest(input);
    while (!rest.empty() && !parser.is_done()) {
        const auto used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
        if (ec == bhttp::error::need_more) break;
        if (ec || used == 0) return 0;
        rest.remove_prefix(used);
    }
    if (!parser.is_done()) {
        if (!parser.got_some()) return 0;
        parser.put_eof(ec);  // a body delimited by the end of the stream
        if (ec || !parser.is_done()) return 0;
    }
    web::http::Peer peer{boost::asio::ip::make_address("127.0.0.1"), 40000};
    auto res = world.api->handle(parser.release(), peer);
    // Never a secret in an answer (CE-4, IA-9).
    if (res.body().find("PRIVATE KEY") != std::string::npos) __builtin_trap();
    return 0;
}
