// tls_contexts.h: the one place every TLS endpoint of SerialGate gets its OpenSSL context from
// (TLS-5; issue 11 items 1–3): the HTTPS listener, every serial mode's listener (Secure
// Connection `encrypted` and `encrypted_authenticated`) and every TLS client of the data plane
// (TCP Client, Pair Connection master). Owned by `serve`, outlives every port; the modes reach it
// through PortContext::tls. Built by the management plane from the device certificate
// (cert_store) and the Remote Device Certificate list (CE-5); a change builds new contexts for new
// connections while existing connections keep the one they started with (CE-3). Thread-safe: the
// getters are called on the port strands (on every accept and connect), the setters on the
// management plane.
//
// Lives in the small sg_tls library (with tls_profile and openssl_util), which the modes link
// without pulling in accounts' Argon2id and cracklib.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "core/result.h"
#include "security/secret.h"

namespace sg::security::certs {

/// What a TLS client checks of the server it connected to (issue 11 item 3).
struct ClientTarget {
    /// The destination as configured: a DNS name (sent as SNI, checked against the certificate's
    /// DNS SANs) or an IP address (checked against its IP SANs; no SNI).
    std::string host;
    /// The per-destination opt-out (`verify: false`): neither chain nor name is checked. The
    /// caller logs a Warning at every connect made so.
    bool verify = true;
};

class TlsContexts {
public:
    TlsContexts() = default;
    TlsContexts(const TlsContexts&) = delete;
    TlsContexts& operator=(const TlsContexts&) = delete;

    /// The server side under the one profile (tls_profile.h) with the device certificate. With
    /// `mutual` (Secure Connection `encrypted_authenticated`), the peer must present a certificate
    /// that chains to a CA of the Remote Device Certificate list (SSL_VERIFY_PEER |
    /// SSL_VERIFY_FAIL_IF_NO_PEER_CERT); with an empty list every such handshake fails. Null while
    /// no device certificate is in force.
    std::shared_ptr<boost::asio::ssl::context> server(bool mutual) const;

    /// The client side: TLS 1.2/1.3 with the profile's suites, groups and sigalgs; trusts the
    /// Remote Device Certificate list (nothing else); presents the device certificate to a server
    /// that asks for one (mutual TLS against another device). Null while no device certificate is
    /// in force. Each connection then calls prepare_client() before its handshake.
    std::shared_ptr<boost::asio::ssl::context> client() const;

    /// Sets up one client connection before its handshake: SNI for a DNS name, and the host
    /// check (X509_VERIFY_PARAM_set1_host / set1_ip_asc) plus SSL_VERIFY_PEER unless
    /// `target.verify` is false.
    static core::Status prepare_client(SSL* ssl, const ClientTarget& target);

    /// A new device certificate (start, regenerate, import): rebuilds every context. An error
    /// leaves the contexts in force unchanged.
    core::Status set_certificate(std::string_view cert_chain_pem, const Secret& key_pem);
    /// A new Remote Device Certificate list (PEM bundle, possibly empty): rebuilds every context.
    /// An error leaves the contexts in force unchanged.
    core::Status set_trusted(std::string_view ca_bundle_pem);

    /// The Remote Device Certificate list in force (PEM, possibly empty).
    std::string trusted() const;

private:
    using ContextPtr = std::shared_ptr<boost::asio::ssl::context>;
    struct Built {
        ContextPtr server, server_mutual, client;
    };
    /// Every context for this certificate and list; nothing is in force until all are built.
    static core::Result<Built> build(std::string_view cert_chain_pem, const Secret& key_pem,
                                     std::string_view ca_bundle_pem);

    std::mutex update_mutex_;   // one setter at a time; held while building (slow)
    mutable std::mutex mutex_;  // guards built_ and ca_bundle_pem_ for the getters (fast)
    std::string cert_chain_pem_;
    Secret key_pem_;
    std::string ca_bundle_pem_;
    Built built_;
};

}  // namespace sg::security::certs
