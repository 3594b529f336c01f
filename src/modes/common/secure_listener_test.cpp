// secure_listener_test.cpp: Secure Connection through common::Listener and secure_connect with a
// real security::certs::TlsContexts (fixture PKI): mutual TLS refuses a client without a
// certificate and one from an unknown CA and takes one whose CA is in the Remote Device
// Certificate list; every refusal is counted (refused_tls) and logged (security.tls_refused)
// without a payload byte; a TLS client checks the server's name unless verify is false, which is
// logged as a Warning.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "events/log.h"
#include "modes/common/listener.h"
#include "modes/common/secure_connect.h"
#include "modes/common/tcp_options.h"
#include "modes/test_util.h"
#include "security/certs/test_fixtures.h"
#include "security/certs/tls_profile.h"
#include "serial/test_util.h"
#include "store/store.h"

namespace sg::modes::common {
namespace {

using asio::ip::tcp;
namespace fx = security::certs::testing;
using security::Secret;

/// A CA with a server leaf (SAN device.example and 127.0.0.1) and a client leaf.
struct Pki {
    fx::X509Ptr ca, server, client;
    EVP_PKEY* ca_key;
    EVP_PKEY* server_key;
    EVP_PKEY* client_key;
    explicit Pki(const std::string& tag)
        : ca_key(fx::key("EC:P-256#lca" + tag)),
          server_key(fx::key("EC:P-256#lsrv" + tag)),
          client_key(fx::key("EC:P-256#lcli" + tag)) {
        ca = fx::cert({.key = ca_key, .ca = true, .cn = "CA " + tag});
        server = fx::cert({.key = server_key,
                           .signer = ca_key,
                           .issuer = ca.get(),
                           .cn = "device " + tag,
                           .dns = {"device.example", "IP:127.0.0.1"}});
        client = fx::cert({.key = client_key,
                           .signer = ca_key,
                           .issuer = ca.get(),
                           .eku = "clientAuth",
                           .cn = "client " + tag});
    }
};

const Pki& listed() {
    static Pki p("listed");
    return p;
}
const Pki& stranger() {
    static Pki p("stranger");
    return p;
}

class SecureListenerTest : public ::testing::Test, public Listener::Owner {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("sg_secure_listener_test_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir_);
        auto s = store::Store::open(dir_);
        ASSERT_TRUE(s.ok());
        store_ = std::move(*s);
        log_ = std::make_unique<events::Log>(*store_);
        auto dev = serial::open(strand_, "sim:loopback", config::SerialSettings{});
        ASSERT_TRUE(dev.ok());
        device_ = std::move(*dev);
        // The device: the listed PKI's server certificate; the list holds the listed CA only.
        ASSERT_TRUE(tls_.set_certificate(fx::pem({listed().server.get(), listed().ca.get()}),
                                         Secret(fx::pkcs8(listed().server_key))));
        ASSERT_TRUE(tls_.set_trusted(fx::pem(listed().ca)));
        ctx_.emplace(testing::port_context(strand_, *device_, *log_, stats_));
        ctx_->tls = &tls_;  // no allowlist, no DoS bounds
        listener_.emplace(*ctx_, *this);
    }
    void TearDown() override {
        listener_->stop([] {});
        for (auto& t : taken_) t.close();
        serial::testing::run_until(io_, [this] { return stopped_ != 0; });
        io_.restart();
        io_.poll();
        listener_.reset();
        ctx_.reset();
        device_.reset();
        log_.reset();
        store_.reset();
        std::filesystem::remove_all(dir_);
    }

    void session_ended(SessionBase&) override {}
    void stopped() override { ++stopped_; }

    void listen(config::Security level) {
        ASSERT_FALSE(common::listen(acceptor_, "127.0.0.1", 0));
        endpoint_ = acceptor_.local_endpoint();
        listener_->accept(acceptor_, {.refusal = [] { return std::optional<std::string>{}; },
                                      .take = [this](Stream s) { taken_.push_back(std::move(s)); },
                                      .security = level});
    }

    /// A TLS client of the listener with `client_ctx`: handshake, then "hello" written. Returns
    /// once the listener took the connection or counted a refusal.
    void client_says_hello(const std::shared_ptr<asio::ssl::context>& client_ctx) {
        auto& c = clients_.emplace_back(io_, *client_ctx);
        c.next_layer().connect(endpoint_);
        const auto before = stats_.refused_tls.load() + taken_.size();
        serial::testing::run(io_, strand_, [&c]() -> core::Task<bool> {
            auto [ec] =
                co_await c.async_handshake(asio::ssl::stream_base::client, core::use_nothrow);
            if (ec) co_return false;
            (void)co_await asio::async_write(c, asio::buffer(std::string("hello")),
                                             core::use_nothrow);
            co_return true;
        }());
        serial::testing::run_until(
            io_, [&] { return stats_.refused_tls.load() + taken_.size() > before; });
    }

    std::shared_ptr<asio::ssl::context> client_ctx(const Pki* with_cert) {
        auto ctx = with_cert != nullptr
                       ? security::certs::make_client_context(
                             fx::pem(listed().ca), fx::pem(with_cert->client),
                             Secret(fx::pkcs8(with_cert->client_key)))
                       : security::certs::make_client_context(fx::pem(listed().ca));
        EXPECT_TRUE(ctx.ok());
        return *ctx;
    }

    std::vector<events::Event> events_of(const char* type) {
        log_->flush();
        auto r = events::read(*store_, {.type = type});
        return r.ok() ? *r : std::vector<events::Event>{};
    }

    asio::io_context io_;
    core::Strand strand_ = asio::make_strand(io_);
    std::filesystem::path dir_;
    std::unique_ptr<store::Store> store_;
    std::unique_ptr<events::Log> log_;
    PortStats stats_;
    serial::DevicePtr device_;
    security::certs::TlsContexts tls_;
    std::optional<PortContext> ctx_;
    tcp::acceptor acceptor_{strand_};
    tcp::endpoint endpoint_;
    std::optional<Listener> listener_;
    std::list<asio::ssl::stream<tcp::socket>> clients_;
    std::vector<Stream> taken_;
    int stopped_ = 0;
};

TEST_F(SecureListenerTest, MutualTlsRefusesNoCertificateAndAnUnknownCaTakesAListedOne) {
    listen(config::Security::EncryptedAuthenticated);

    client_says_hello(client_ctx(nullptr));  // no client certificate
    EXPECT_EQ(stats_.refused_tls.load(), 1u);
    EXPECT_TRUE(taken_.empty());

    client_says_hello(client_ctx(&stranger()));  // a certificate from a CA not in the list
    EXPECT_EQ(stats_.refused_tls.load(), 2u);
    EXPECT_TRUE(taken_.empty());

    client_says_hello(client_ctx(&listed()));  // chains to a CA of the list
    EXPECT_EQ(stats_.refused_tls.load(), 2u);
    ASSERT_EQ(taken_.size(), 1u);
    ASSERT_TRUE(taken_[0].secure());
    auto [ec, data] = serial::testing::run(io_, strand_, taken_[0].read_some(16));
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(data.data()), data.size()), "hello");

    const auto refused = events_of("security.tls_refused");
    ASSERT_EQ(refused.size(), 2u);
    EXPECT_NE(refused[0].message.find("no certificate"), std::string::npos) << refused[0].message;
    EXPECT_NE(refused[1].message.find("certificate"), std::string::npos) << refused[1].message;
    for (const auto& e : refused) {
        EXPECT_EQ(e.port, 1u);
        EXPECT_EQ(e.source, "127.0.0.1");
        EXPECT_EQ(e.message.find("hello"), std::string::npos) << "payload in the log";
    }
}

TEST_F(SecureListenerTest, EncryptedAsksNoClientCertificate) {
    listen(config::Security::Encrypted);
    client_says_hello(client_ctx(nullptr));
    EXPECT_EQ(stats_.refused_tls.load(), 0u);
    EXPECT_EQ(taken_.size(), 1u);
}

TEST_F(SecureListenerTest, WithoutTlsContextsAnEncryptedPortRefusesEveryConnection) {
    ctx_->tls = nullptr;
    listen(config::Security::Encrypted);
    tcp::socket c(io_);
    c.connect(endpoint_);
    serial::testing::run_until(io_, [&] { return stats_.refused_tls.load() == 1; });
    EXPECT_TRUE(taken_.empty());
}

/// secure_connect against a TLS server running the device's own server context.
class SecureConnectTest : public SecureListenerTest {
protected:
    /// Accepts one connection and runs the server handshake; connects and runs secure_connect.
    std::optional<Stream> connect_to_device(const std::string& host, bool verify,
                                            std::string& why) {
        if (!acceptor_.is_open()) {
            EXPECT_FALSE(common::listen(acceptor_, "127.0.0.1", 0));
            endpoint_ = acceptor_.local_endpoint();
        }
        auto server_ctx = tls_.server(false);
        asio::co_spawn(
            strand_,
            [this, server_ctx]() -> core::Task<void> {
                auto [aec, socket] = co_await acceptor_.async_accept(core::use_nothrow);
                if (aec) co_return;
                Stream s(std::move(socket), server_ctx);
                if (!co_await s.handshake(asio::ssl::stream_base::server)) {
                    served_.push_back(std::move(s));
                }
            },
            asio::detached);
        tcp::socket socket(strand_);
        socket.connect(endpoint_);
        Stream* handshaking = nullptr;
        const SecureTarget target{.level = config::Security::Encrypted,
                                  .host = host,
                                  .verify = verify,
                                  .who = "destination 1"};
        return serial::testing::run(
            io_, strand_, secure_connect(*ctx_, std::move(socket), target, why, handshaking));
    }
    std::vector<Stream> served_;
};

TEST_F(SecureConnectTest, ChecksTheServersNameUnlessVerifyIsFalse) {
    std::string why;
    auto by_ip = connect_to_device("127.0.0.1", true, why);  // IP SAN
    EXPECT_TRUE(by_ip.has_value()) << why;
    auto by_name = connect_to_device("device.example", true, why);  // DNS SAN
    EXPECT_TRUE(by_name.has_value()) << why;
    EXPECT_EQ(stats_.refused_tls.load(), 0u);

    auto wrong = connect_to_device("elsewhere.example", true, why);
    EXPECT_FALSE(wrong.has_value());
    EXPECT_NE(why.find("certificate"), std::string::npos) << why;
    EXPECT_EQ(stats_.refused_tls.load(), 1u);
    EXPECT_EQ(events_of("security.tls_refused").size(), 1u);

    auto unverified = connect_to_device("elsewhere.example", false, why);
    EXPECT_TRUE(unverified.has_value()) << why;
    const auto warnings = events_of("security.tls_unverified");
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].message.find("verify: false"), std::string::npos);
    for (auto* s : {&by_ip, &by_name, &unverified}) {
        if (*s) (*s)->close();
    }
    for (auto& s : served_) s.close();
}

}  // namespace
}  // namespace sg::modes::common
