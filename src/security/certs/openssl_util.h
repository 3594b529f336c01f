// openssl_util.h: internal to security/certs. RAII owners for OpenSSL objects and the strict PEM
// readers shared by certificate.cpp (import, describe) and tls_profile.cpp (context loading), so
// a certificate is parsed the same way wherever it enters.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string_view>
#include <variant>
#include <vector>

#include "security/certs/certificate.h"

namespace sg::security::certs::detail {

template <auto Free>
struct Deleter {
    template <typename T>
    void operator()(T* p) const noexcept {
        Free(p);
    }
};
using BioPtr = std::unique_ptr<BIO, Deleter<&BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, Deleter<&X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<&EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<&EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<&EVP_MD_CTX_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, Deleter<&BN_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<&GENERAL_NAMES_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, Deleter<&ASN1_INTEGER_free>>;

/// Clears this thread's OpenSSL error queue when the scope ends, so a failure in here never shows
/// up as a stale error in the next TLS operation on the same thread (Asio reads that queue).
struct ErrorQueueGuard {
    ErrorQueueGuard() = default;
    ErrorQueueGuard(const ErrorQueueGuard&) = delete;
    ErrorQueueGuard& operator=(const ErrorQueueGuard&) = delete;
    ~ErrorQueueGuard();
};

/// A read-only memory BIO over `text` (no copy). Caller bounds text to kMaxPemBytes.
BioPtr memory_bio(std::string_view text);

/// Every CERTIFICATE block of `pem`, in order. Refuses ("malformed_pem") input over `max_bytes`,
/// no certificate, a block that is not base64 or whose DER has bytes after the certificate, any
/// other block type, or more than `max_certs` certificates. Text between blocks is ignored.
std::variant<std::vector<X509Ptr>, Refusal> parse_certificates(
    std::string_view pem, std::size_t max_certs = kMaxChainLength,
    std::size_t max_bytes = kMaxPemBytes);

/// The one private key of `pem`: PKCS#8 "PRIVATE KEY" or traditional "RSA/EC PRIVATE KEY" (an "EC
/// PARAMETERS" block before it is allowed). "encrypted_key" for "ENCRYPTED PRIVATE KEY" or a
/// Proc-Type ENCRYPTED header; "malformed_pem" otherwise. It decodes the PEM itself
/// (PEM_read_bio_ex, which never decrypts) instead of PEM_read_bio_PrivateKey, so no passphrase
/// callback exists that could prompt or block. The decoded DER is wiped before it is freed (ST-4).
std::variant<PkeyPtr, Refusal> parse_private_key(std::string_view pem);

/// EVP_PKEY_get_bits of an RSA key, or 0 when `key` is not RSA.
int rsa_bits(const EVP_PKEY* key);

}  // namespace sg::security::certs::detail
