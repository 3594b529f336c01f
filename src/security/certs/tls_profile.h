// tls_profile.h: the one TLS profile of SerialGate (TLS-1..TLS-5). Every TLS listener — HTTPS,
// the secure serial modes, syslog-over-TLS later — gets its OpenSSL context from
// make_server_context(), every TLS client from make_client_context() (both usually through
// TlsContexts, tls_contexts.h), so the profile is decided in exactly one place.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string_view>

#include "core/result.h"
#include "security/secret.h"

namespace sg::security::certs {

/// TLS 1.2 suites, in this order, nothing else (TLS-2). ECDHE only: no RSA key exchange, no DHE.
inline constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
/// TLS 1.3 suites (TLS-3).
inline constexpr const char* kTls13Ciphersuites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
/// Key-exchange groups (TLS-3).
inline constexpr const char* kGroups = "X25519:prime256v1:secp384r1";
/// Signature algorithms offered and accepted: no SHA-1, no MD5 (TLS-4).
inline constexpr const char* kSigalgs =
    "ecdsa_secp256r1_sha256:ecdsa_secp384r1_sha384:ecdsa_secp521r1_sha512:ed25519:ed448:"
    "rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pss_rsae_sha512:"
    "rsa_pss_pss_sha256:rsa_pss_pss_sha384:rsa_pss_pss_sha512:"
    "rsa_pkcs1_sha256:rsa_pkcs1_sha384:rsa_pkcs1_sha512";
/// Server-side session cache entries (TLS 1.3 stateful resumption once tickets are off): a bound
/// on memory a client can make us hold (STYLE.md §3.9). OpenSSL's default is 20480.
inline constexpr long kSessionCacheSize = 1024;

/// The one TLS server profile (TLS-1..TLS-4): TLS 1.2 + 1.3 only; the suites, groups and sigalgs
/// above; no compression, no client renegotiation (SSL_OP_NO_RENEGOTIATION), session tickets off
/// (SSL_OP_NO_TICKET), the server's cipher order (SSL_OP_CIPHER_SERVER_PREFERENCE, with
/// SSL_OP_PRIORITIZE_CHACHA so a client that puts ChaCha20 first still gets it: docs/adr
/// 0007-tls-cipher-order.md says why not Mozilla's client order), Extended Master Secret on.
/// `cert_chain_pem` is the leaf first, then its chain; `key_pem` the matching unencrypted private
/// key (as produced by generate_self_signed or validate_import). Every TLS listener gets its
/// context from here (TLS-5). Cheap enough to call per certificate change; an existing connection
/// keeps the context it started with (CE-3). Thread-safe.
core::Result<std::shared_ptr<boost::asio::ssl::context>> make_server_context(
    std::string_view cert_chain_pem, const Secret& key_pem);

/// The server profile for Secure Connection `encrypted_authenticated` (mutual TLS, SD-1): as
/// make_server_context(), and the client must present a certificate that chains to a CA of
/// `ca_bundle_pem` (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT; the CA names are sent in
/// the CertificateRequest). An empty bundle trusts nothing: every handshake fails.
core::Result<std::shared_ptr<boost::asio::ssl::context>> make_mutual_server_context(
    std::string_view cert_chain_pem, const Secret& key_pem, std::string_view ca_bundle_pem);

/// Most CA certificates a trust list (the Remote Device Certificate list, CE-5, or a client's
/// `--ca` file) may hold, and its largest size in bytes.
inline constexpr std::size_t kMaxTrustedCas = 32;
inline constexpr std::size_t kMaxTrustedPemBytes = 260 * 1024;

/// The one TLS client profile: the same versions, suites, groups and sigalgs as the server, no
/// compression or renegotiation. Trusts the CAs of `ca_bundle_pem` and nothing else (not the
/// system store; empty: nothing, so every verified handshake fails); a listed CA is a trust anchor
/// even when it is an intermediate (X509_V_FLAG_PARTIAL_CHAIN). SSL_VERIFY_PEER is the default;
/// each connection still needs TlsContexts::prepare_client() for the name check.
/// Errc::invalid_config for a malformed bundle (more than kMaxTrustedCas certificates or
/// kMaxTrustedPemBytes included).
core::Result<std::shared_ptr<boost::asio::ssl::context>> make_client_context(
    std::string_view ca_bundle_pem);
/// The same, presenting `cert_chain_pem` + `key_pem` to a server that asks for a client
/// certificate (mutual TLS, Secure Connection `encrypted_authenticated`).
core::Result<std::shared_ptr<boost::asio::ssl::context>> make_client_context(
    std::string_view ca_bundle_pem, std::string_view cert_chain_pem, const Secret& key_pem);

}  // namespace sg::security::certs
