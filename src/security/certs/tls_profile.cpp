// tls_profile.cpp: the one OpenSSL server context factory (TLS-1..TLS-5). Called by the HTTPS
// listener at start and whenever the certificate changes (CE-3: a new context for new
// connections, the old one lives on in the connections that hold it), later by the secure serial
// modes. Runs on the caller's thread; builds a fresh SSL_CTX and shares nothing.
#include "security/certs/tls_profile.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <array>
#include <exception>
#include <string>

#include "security/certs/openssl_util.h"

namespace sg::security::certs {

using namespace detail;

namespace {

core::Error profile_error(std::string_view what) {
    std::array<char, 256> buf{};
    ERR_error_string_n(ERR_peek_last_error(), buf.data(), buf.size());
    return core::make_error(core::Errc::invalid_config,
                            "TLS profile: " + std::string(what) + ": " + buf.data());
}

// OpenSSL security level 2 (112-bit keys) rules out RSA-1024, which an administrator may have
// accepted on import with the CE-2 override; only then does the context drop to level 1. Suites,
// groups and sigalgs are pinned below, so the level changes nothing else that could be offered.
int security_level_for(const EVP_PKEY* key) {
    const int bits = rsa_bits(key);
    return bits != 0 && bits < 2048 ? 1 : 2;
}

core::Status apply_profile(SSL_CTX* ctx) {
    // TLS-1: 1.2 and 1.3 only.
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
        return profile_error("protocol versions");
    }
    // TLS-4: no compression; no renegotiation at all (a client cannot start one, so no
    // renegotiation DoS); no session tickets (their key would be a long-lived secret we do not
    // rotate); EMS left on (OpenSSL's default: we only make sure nothing disabled it).
    // Cipher order: the server's. Mozilla intermediate (TLS-3) lets the client choose, but
    // testssl.sh rates "no server cipher order" HIGH and issue 4 asks for no HIGH finding; every
    // suite we offer is ECDHE + AEAD, so our order costs nothing. A client that puts ChaCha20
    // first (no AES hardware) still gets it (SSL_OP_PRIORITIZE_CHACHA).
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_PRIORITIZE_CHACHA);
    SSL_CTX_clear_options(ctx, SSL_OP_ALLOW_CLIENT_RENEGOTIATION | SSL_OP_LEGACY_SERVER_CONNECT |
                                   SSL_OP_NO_EXTENDED_MASTER_SECRET |
                                   SSL_OP_ALLOW_UNSAFE_LEGACY_RENEGOTIATION);
    // TLS-2 / TLS-3: exactly these suites. OpenSSL ignores names it lacks, so count what it took.
    if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1 ||
        SSL_CTX_set_ciphersuites(ctx, kTls13Ciphersuites) != 1) {
        return profile_error("cipher suites");
    }
    if (sk_SSL_CIPHER_num(SSL_CTX_get_ciphers(ctx)) != 9) {
        return core::make_error(
            core::Errc::unsupported,
            "TLS profile: this OpenSSL lacks one of the required cipher suites");
    }
    if (SSL_CTX_set1_groups_list(ctx, kGroups) != 1) return profile_error("groups");
    if (SSL_CTX_set1_sigalgs_list(ctx, kSigalgs) != 1 ||
        SSL_CTX_set1_client_sigalgs_list(ctx, kSigalgs) != 1) {
        return profile_error("signature algorithms");
    }
    SSL_CTX_sess_set_cache_size(ctx, kSessionCacheSize);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);  // server auth only; mTLS comes with SD-1
    return {};
}

core::Status load_pair(SSL_CTX* ctx, std::string_view cert_chain_pem, const Secret& key_pem) {
    auto certs = parse_certificates(cert_chain_pem);
    if (auto* r = std::get_if<Refusal>(&certs)) {
        return core::make_error(core::Errc::invalid_config, "TLS certificate: " + r->message);
    }
    auto key = parse_private_key(key_pem.reveal());
    if (auto* r = std::get_if<Refusal>(&key)) {
        return core::make_error(core::Errc::invalid_config, "TLS private key: " + r->message);
    }
    auto& chain = std::get<std::vector<X509Ptr>>(certs);
    EVP_PKEY* pkey = std::get<PkeyPtr>(key).get();
    SSL_CTX_set_security_level(ctx, security_level_for(pkey));
    if (SSL_CTX_use_certificate(ctx, chain.front().get()) != 1) {
        return profile_error("certificate");
    }
    for (std::size_t i = 1; i < chain.size(); ++i) {
        if (SSL_CTX_add1_chain_cert(ctx, chain[i].get()) != 1) {
            return profile_error("certificate chain");
        }
    }
    if (SSL_CTX_use_PrivateKey(ctx, pkey) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        return profile_error("private key");
    }
    return {};
}

}  // namespace

core::Result<std::shared_ptr<boost::asio::ssl::context>> make_server_context(
    std::string_view cert_chain_pem, const Secret& key_pem) {
    ErrorQueueGuard guard;
    std::shared_ptr<boost::asio::ssl::context> ctx;
    try {
        ctx = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
    } catch (const std::exception& e) {  // Asio throws when SSL_CTX_new fails (out of memory)
        return core::make_error(core::Errc::unsupported,
                                std::string("TLS profile: cannot create a context: ") + e.what());
    }
    SSL_CTX* native = ctx->native_handle();
    if (auto st = apply_profile(native); !st) return st.error();
    if (auto st = load_pair(native, cert_chain_pem, key_pem); !st) return st.error();
    return ctx;
}

}  // namespace sg::security::certs
