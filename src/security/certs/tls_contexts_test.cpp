#include "security/certs/tls_contexts.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <string>

#include "security/certs/test_fixtures.h"
#include "security/certs/tls_profile.h"

namespace sg::security::certs {
namespace {

using namespace testing;  // fixtures

using SslPtr = std::unique_ptr<SSL, detail::Deleter<&SSL_free>>;

// A server SSL and a client SSL joined by an in-memory BIO pair, driven alternately until both
// finish or one fails. `server_ssl` lets a test look at what the server saw (SNI, peer cert).
struct Result {
    bool ok = false;
    SslPtr server, client;
};

Result handshake(boost::asio::ssl::context& server_ctx, boost::asio::ssl::context& client_ctx,
                 const ClientTarget& target, bool* prepared = nullptr) {
    Result r;
    r.server.reset(SSL_new(server_ctx.native_handle()));
    r.client.reset(SSL_new(client_ctx.native_handle()));
    const bool ok = TlsContexts::prepare_client(r.client.get(), target).ok();
    if (prepared) *prepared = ok;
    if (!ok) return r;
    BIO* sb = nullptr;
    BIO* cb = nullptr;
    EXPECT_EQ(BIO_new_bio_pair(&sb, 0, &cb, 0), 1);
    SSL_set_bio(r.server.get(), sb, sb);
    SSL_set_bio(r.client.get(), cb, cb);
    SSL_set_accept_state(r.server.get());
    SSL_set_connect_state(r.client.get());
    bool server_done = false, client_done = false, failed = false;
    for (int round = 0; round < 20 && !failed && !(server_done && client_done); ++round) {
        for (auto [ssl, done] :
             {std::pair{r.client.get(), &client_done}, std::pair{r.server.get(), &server_done}}) {
            if (*done || failed) continue;
            const int n = SSL_do_handshake(ssl);
            const int e = SSL_get_error(ssl, n);
            if (n == 1) {
                *done = true;
            } else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                failed = true;
            }
        }
    }
    // TLS 1.3: the server checks the client certificate after the client considers itself done;
    // a byte each way proves both accepted the other.
    if (server_done && client_done) {
        char byte = 'x';
        SSL_write(r.client.get(), &byte, 1);
        SSL_write(r.server.get(), &byte, 1);
        r.ok = SSL_read(r.server.get(), &byte, 1) == 1 && SSL_read(r.client.get(), &byte, 1) == 1;
    }
    ERR_clear_error();
    return r;
}

std::string peer_cn(const Result& r) {
    X509* peer = SSL_get0_peer_certificate(r.client.get());
    if (!peer) return {};
    std::array<char, 128> cn{};
    X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn.data(),
                              static_cast<int>(cn.size()));
    return cn.data();
}

// Two CAs, each with a server leaf (SAN device.example and 127.0.0.1) and a client leaf.
struct Pki {
    X509Ptr ca;
    X509Ptr server;
    X509Ptr client;
    EVP_PKEY* ca_key;
    EVP_PKEY* server_key;
    EVP_PKEY* client_key;
    Pki(const std::string& tag, const std::string& cn)
        : ca_key(key("EC:P-256#ca" + tag)),
          server_key(key("EC:P-256#srv" + tag)),
          client_key(key("EC:P-256#cli" + tag)) {
        ca = cert({.key = ca_key, .ca = true, .cn = "CA " + tag});
        server = cert({.key = server_key,
                       .signer = ca_key,
                       .issuer = ca.get(),
                       .cn = cn,
                       .dns = {"device.example", "IP:127.0.0.1"}});
        client = cert({.key = client_key,
                       .signer = ca_key,
                       .issuer = ca.get(),
                       .eku = "clientAuth",
                       .cn = "client " + tag});
    }
};

// The fixtures date certificates from 2026-01-01; the wall clock may be later or earlier, so the
// validity window is wide enough either way.
const Pki& pki_a() {
    static Pki p("A", "server A");
    return p;
}
const Pki& pki_b() {
    static Pki p("B", "server B");
    return p;
}

std::shared_ptr<boost::asio::ssl::context> client_ctx(const std::string& trusted,
                                                      const X509Ptr* cert = nullptr,
                                                      EVP_PKEY* k = nullptr) {
    auto ctx = cert ? make_client_context(trusted, pem(*cert), Secret(pkcs8(k)))
                    : make_client_context(trusted);
    EXPECT_TRUE(ctx.ok()) << ctx.error().message;
    return ctx ? *ctx : nullptr;
}

TlsContexts& device(TlsContexts& d, const Pki& p, const std::string& trusted) {
    EXPECT_TRUE(d.set_certificate(pem({p.server.get(), p.ca.get()}), Secret(pkcs8(p.server_key))));
    EXPECT_TRUE(d.set_trusted(trusted));
    return d;
}

TEST(TlsContexts, NothingBeforeACertificate) {
    TlsContexts d;
    EXPECT_EQ(d.server(false), nullptr);
    EXPECT_EQ(d.server(true), nullptr);
    EXPECT_EQ(d.client(), nullptr);
    EXPECT_TRUE(d.set_trusted(pem(pki_a().ca)));  // remembered for the certificate to come
    EXPECT_EQ(d.server(true), nullptr);
    EXPECT_TRUE(d.set_certificate(pem(pki_a().server), Secret(pkcs8(pki_a().server_key))));
    ASSERT_NE(d.server(true), nullptr);
    auto c = client_ctx(pem(pki_a().ca), &pki_a().client, pki_a().client_key);
    EXPECT_TRUE(handshake(*d.server(true), *c, {"device.example"}).ok);
}

TEST(TlsContexts, OneWayServerNeedsNoClientCertificate) {
    TlsContexts d;
    device(d, pki_a(), "");
    auto c = client_ctx(pem(pki_a().ca));
    auto r = handshake(*d.server(false), *c, {"device.example"});
    EXPECT_TRUE(r.ok);
    EXPECT_EQ(peer_cn(r), "server A");
}

TEST(TlsContexts, MutualRefusesNoCertificateAndUnknownCa) {
    TlsContexts d;
    device(d, pki_a(), pem(pki_a().ca));  // the Remote Device Certificate list: CA A
    auto none = client_ctx(pem(pki_a().ca));
    EXPECT_FALSE(handshake(*d.server(true), *none, {"device.example"}).ok);
    auto other = client_ctx(pem(pki_a().ca), &pki_b().client, pki_b().client_key);
    EXPECT_FALSE(handshake(*d.server(true), *other, {"device.example"}).ok);
    auto listed = client_ctx(pem(pki_a().ca), &pki_a().client, pki_a().client_key);
    auto r = handshake(*d.server(true), *listed, {"device.example"});
    ASSERT_TRUE(r.ok);
    EXPECT_NE(SSL_get0_peer_certificate(r.server.get()), nullptr);
    // The server names its CAs in the CertificateRequest.
    const STACK_OF(X509_NAME)* names = SSL_get0_peer_CA_list(r.client.get());
    ASSERT_NE(names, nullptr);
    EXPECT_EQ(sk_X509_NAME_num(names), 1);
    // The one-way server of the same device still lets the certificate-less client in.
    EXPECT_TRUE(handshake(*d.server(false), *none, {"device.example"}).ok);
}

TEST(TlsContexts, MutualWithAnEmptyListRefusesEveryone) {
    TlsContexts d;
    device(d, pki_a(), "");
    auto listed = client_ctx(pem(pki_a().ca), &pki_a().client, pki_a().client_key);
    EXPECT_FALSE(handshake(*d.server(true), *listed, {"device.example"}).ok);
}

TEST(TlsContexts, ListChangeAppliesToNewHandshakes) {
    TlsContexts d;
    device(d, pki_a(), pem(pki_a().ca));
    auto old_mutual = d.server(true);
    ASSERT_TRUE(d.set_trusted(pem({pki_a().ca.get(), pki_b().ca.get()})));
    auto b_client = client_ctx(pem(pki_a().ca), &pki_b().client, pki_b().client_key);
    EXPECT_TRUE(handshake(*d.server(true), *b_client, {"device.example"}).ok);
    EXPECT_FALSE(handshake(*old_mutual, *b_client, {"device.example"}).ok);  // CE-3: unchanged
    EXPECT_EQ(d.trusted(), pem({pki_a().ca.get(), pki_b().ca.get()}));
}

TEST(TlsContexts, DeviceClientPresentsItsCertificate) {
    // Device A's client() against device B's mutual server that lists CA A: mutual TLS between
    // two devices (Pair Connection, TCP Client to another device).
    TlsContexts a, b;
    device(a, pki_a(), pem(pki_b().ca));
    device(b, pki_b(), pem(pki_a().ca));
    auto r = handshake(*b.server(true), *a.client(), {"device.example"});
    EXPECT_TRUE(r.ok);
    EXPECT_EQ(peer_cn(r), "server B");
    // A does not trust B's CA the other way round: A's client() refuses A's own server.
    EXPECT_FALSE(handshake(*a.server(false), *a.client(), {"device.example"}).ok);
}

TEST(TlsContexts, ClientChecksDnsNameAndSendsSni) {
    auto c = client_ctx(pem(pki_a().ca));
    TlsContexts d;
    device(d, pki_a(), "");
    auto good = handshake(*d.server(false), *c, {"device.example"});
    ASSERT_TRUE(good.ok);
    EXPECT_STREQ(SSL_get_servername(good.server.get(), TLSEXT_NAMETYPE_host_name),
                 "device.example");
    auto wrong = handshake(*d.server(false), *c, {"other.example"});
    EXPECT_FALSE(wrong.ok);
    EXPECT_EQ(SSL_get_verify_result(wrong.client.get()), X509_V_ERR_HOSTNAME_MISMATCH);
}

TEST(TlsContexts, ClientChecksIpAddressWithoutSni) {
    auto c = client_ctx(pem(pki_a().ca));
    TlsContexts d;
    device(d, pki_a(), "");
    auto good = handshake(*d.server(false), *c, {"127.0.0.1"});
    ASSERT_TRUE(good.ok);
    EXPECT_EQ(SSL_get_servername(good.server.get(), TLSEXT_NAMETYPE_host_name), nullptr);
    auto wrong = handshake(*d.server(false), *c, {"127.0.0.2"});
    EXPECT_FALSE(wrong.ok);
    EXPECT_EQ(SSL_get_verify_result(wrong.client.get()), X509_V_ERR_IP_ADDRESS_MISMATCH);
    // An IP SAN is not a DNS name: "127.0.0.1" must not match as a name either way round.
    EXPECT_FALSE(handshake(*d.server(false), *c, {"::1"}).ok);
}

TEST(TlsContexts, ClientRefusesAnUnlistedCa) {
    auto c = client_ctx(pem(pki_b().ca));
    TlsContexts d;
    device(d, pki_a(), "");
    auto r = handshake(*d.server(false), *c, {"device.example"});
    EXPECT_FALSE(r.ok);
    auto empty = client_ctx("");
    EXPECT_FALSE(handshake(*d.server(false), *empty, {"device.example"}).ok);
}

TEST(TlsContexts, VerifyFalseSkipsChainAndName) {
    auto c = client_ctx(pem(pki_b().ca));  // does not trust A
    TlsContexts d;
    device(d, pki_a(), "");
    EXPECT_TRUE(handshake(*d.server(false), *c, {"other.example", false}).ok);
    EXPECT_TRUE(handshake(*d.server(false), *c, {"127.0.0.9", false}).ok);
    // ... and the same context verifies again for the next connection that does not opt out.
    EXPECT_FALSE(handshake(*d.server(false), *c, {"device.example"}).ok);
}

TEST(TlsContexts, PrepareClientNeedsAHostToVerify) {
    auto c = client_ctx(pem(pki_a().ca));
    TlsContexts d;
    device(d, pki_a(), "");
    bool prepared = true;
    handshake(*d.server(false), *c, {""}, &prepared);
    EXPECT_FALSE(prepared);
}

TEST(TlsContexts, NewCertificateKeepsOldContextsAlive) {
    TlsContexts d;
    device(d, pki_a(), pem(pki_a().ca));
    std::weak_ptr<boost::asio::ssl::context> weak = d.server(false);
    auto held = d.server(false);  // what an established connection holds
    ASSERT_TRUE(d.set_certificate(pem({pki_b().server.get()}), Secret(pkcs8(pki_b().server_key))));
    EXPECT_NE(d.server(false), held);
    auto c = client_ctx(pem({pki_a().ca.get(), pki_b().ca.get()}));
    auto old_conn = handshake(*held, *c, {"device.example"});
    ASSERT_TRUE(old_conn.ok);
    EXPECT_EQ(peer_cn(old_conn), "server A");
    auto new_conn = handshake(*d.server(false), *c, {"device.example"});
    ASSERT_TRUE(new_conn.ok);
    EXPECT_EQ(peer_cn(new_conn), "server B");
    held.reset();
    EXPECT_TRUE(weak.expired());  // nobody holds it any more: freed
}

TEST(TlsContexts, BadInputChangesNothing) {
    TlsContexts d;
    device(d, pki_a(), pem(pki_a().ca));
    auto server = d.server(false);
    auto mutual = d.server(true);
    auto client = d.client();
    EXPECT_FALSE(d.set_certificate("junk", Secret(pkcs8(pki_a().server_key))));
    EXPECT_FALSE(d.set_certificate(pem(pki_a().server), Secret(pkcs8(pki_b().server_key))));
    EXPECT_FALSE(
        d.set_trusted("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"));
    EXPECT_FALSE(d.set_trusted(pkcs8(pki_a().ca_key)));  // a key is not a CA list
    EXPECT_EQ(d.server(false), server);
    EXPECT_EQ(d.server(true), mutual);
    EXPECT_EQ(d.client(), client);
    EXPECT_EQ(d.trusted(), pem(pki_a().ca));
    EXPECT_EQ(ERR_peek_error(), 0u);
    TlsContexts fresh;
    EXPECT_FALSE(fresh.set_trusted("junk"));
    EXPECT_EQ(fresh.trusted(), "");
}

TEST(TlsContexts, TrustListIsBounded) {
    std::vector<X509Ptr> cas;
    std::vector<const X509*> raw;
    for (std::size_t i = 0; i <= kMaxTrustedCas; ++i) {
        cas.push_back(cert({.key = key("EC:P-256"), .ca = true, .cn = "CA " + std::to_string(i)}));
        raw.push_back(cas.back().get());
    }
    EXPECT_FALSE(make_client_context(pem(raw)).ok());
    raw.pop_back();
    EXPECT_TRUE(make_client_context(pem(raw)).ok());
}

}  // namespace
}  // namespace sg::security::certs
