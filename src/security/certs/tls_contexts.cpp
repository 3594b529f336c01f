// tls_contexts.cpp: the contexts of every TLS endpoint (TLS-5), rebuilt as a whole from the device
// certificate and the Remote Device Certificate list whenever one of them changes. The setters run
// on the management plane (start, certificate and CA-list changes), the getters on the port
// strands and the HTTPS accept strand; one mutex guards the three shared_ptrs, and a connection
// keeps the context it got (CE-3).
#include "security/certs/tls_contexts.h"

#include <arpa/inet.h>
#include <openssl/x509v3.h>

#include <array>

#include "security/certs/openssl_util.h"
#include "security/certs/tls_profile.h"

namespace sg::security::certs {

namespace {

bool is_ip_literal(const std::string& host) {
    std::array<unsigned char, 16> buf{};
    return ::inet_pton(AF_INET, host.c_str(), buf.data()) == 1 ||
           ::inet_pton(AF_INET6, host.c_str(), buf.data()) == 1;
}

}  // namespace

core::Result<TlsContexts::Built> TlsContexts::build(std::string_view cert_chain_pem,
                                                    const Secret& key_pem,
                                                    std::string_view ca_bundle_pem) {
    Built b;
    auto server = make_server_context(cert_chain_pem, key_pem);
    if (!server) return server.error();
    auto mutual = make_mutual_server_context(cert_chain_pem, key_pem, ca_bundle_pem);
    if (!mutual) return mutual.error();
    auto client = make_client_context(ca_bundle_pem, cert_chain_pem, key_pem);
    if (!client) return client.error();
    b.server = std::move(*server);
    b.server_mutual = std::move(*mutual);
    b.client = std::move(*client);
    return b;
}

std::shared_ptr<boost::asio::ssl::context> TlsContexts::server(bool mutual) const {
    std::lock_guard lock(mutex_);
    return mutual ? built_.server_mutual : built_.server;
}

std::shared_ptr<boost::asio::ssl::context> TlsContexts::client() const {
    std::lock_guard lock(mutex_);
    return built_.client;
}

std::string TlsContexts::trusted() const {
    std::lock_guard lock(mutex_);
    return ca_bundle_pem_;
}

core::Status TlsContexts::prepare_client(SSL* ssl, const ClientTarget& target) {
    detail::ErrorQueueGuard guard;
    const bool ip = is_ip_literal(target.host);
    // SNI carries names only (RFC 6066 §3: "Literal IPv4 and IPv6 addresses are not permitted").
    // SSL_set_tlsext_host_name() is a macro with a C cast (-Wold-style-cast): its call, on a copy
    // (OpenSSL copies the name; the API is not const-correct).
    std::string sni = target.host;
    if (!ip && !sni.empty() &&
        SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, sni.data()) != 1) {
        return core::make_error(core::Errc::invalid_config,
                                "TLS client: '" + target.host + "' cannot be sent as SNI");
    }
    if (!target.verify) {
        SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
        return {};
    }
    if (target.host.empty()) {
        return core::make_error(core::Errc::invalid_config,
                                "TLS client: no host name or address to verify the server against");
    }
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    const int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, target.host.c_str())
                      : X509_VERIFY_PARAM_set1_host(param, target.host.c_str(), 0);
    if (ok != 1) {
        return core::make_error(core::Errc::invalid_config,
                                "TLS client: '" + target.host + "' is not a usable host name");
    }
    SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
    return {};
}

core::Status TlsContexts::set_certificate(std::string_view cert_chain_pem, const Secret& key_pem) {
    std::lock_guard update(update_mutex_);
    auto b = build(cert_chain_pem, key_pem, ca_bundle_pem_);  // ca_bundle_pem_: ours to read
    if (!b) return b.error();
    cert_chain_pem_ = std::string(cert_chain_pem);
    key_pem_ = Secret(std::string(key_pem.reveal()));
    std::lock_guard lock(mutex_);
    built_ = std::move(*b);
    return {};
}

core::Status TlsContexts::set_trusted(std::string_view ca_bundle_pem) {
    std::lock_guard update(update_mutex_);
    Built b;
    if (cert_chain_pem_.empty()) {
        // No device certificate yet: nothing to build, but the list must still be one we can load.
        auto probe = make_client_context(ca_bundle_pem);
        if (!probe) return probe.error();
    } else {
        auto built = build(cert_chain_pem_, key_pem_, ca_bundle_pem);
        if (!built) return built.error();
        b = std::move(*built);
    }
    std::lock_guard lock(mutex_);
    ca_bundle_pem_ = std::string(ca_bundle_pem);
    if (b.server) built_ = std::move(b);
    return {};
}

}  // namespace sg::security::certs
