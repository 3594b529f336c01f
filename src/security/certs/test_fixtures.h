// test_fixtures.h: test-only. Keys and certificates made with OpenSSL APIs for the certs tests, so
// no fixture file can go stale: any algorithm, signer, digest, validity window and EKU on demand.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdint>
#include <ctime>
#include <map>
#include <string>
#include <vector>

#include "security/certs/openssl_util.h"

namespace sg::security::certs::testing {

using detail::BioPtr;
using detail::PkeyPtr;
using detail::X509Ptr;

/// 2026-01-01T00:00:00Z: the "now" of every fixture.
inline constexpr std::int64_t kNowUs = std::int64_t{1767225600} * 1000000;
inline constexpr long kDay = 24 * 3600;

/// A key per spec ("RSA:2048", "EC:P-256", "EC:secp256k1", "ED25519"), generated once per run
/// (RSA 4096 takes a while) and shared; suffix "#2" gives a second, different key.
inline EVP_PKEY* key(const std::string& spec) {
    static std::map<std::string, PkeyPtr> cache;
    auto& slot = cache[spec];
    if (!slot) {
        const std::string s = spec.substr(0, spec.find('#'));
        if (s.rfind("RSA:", 0) == 0) {
            slot.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA",
                                         static_cast<std::size_t>(std::stoul(s.substr(4)))));
        } else if (s.rfind("EC:", 0) == 0) {
            slot.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", s.substr(3).c_str()));
        } else {
            slot.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, s.c_str()));
        }
    }
    return slot.get();
}

struct CertSpec {
    EVP_PKEY* key = nullptr;          // subject key
    EVP_PKEY* signer = nullptr;       // nullptr: self-signed
    const X509* issuer = nullptr;     // issuer certificate when signer is set
    const EVP_MD* md = EVP_sha256();  // nullptr for Ed25519
    long not_before = -3600;          // seconds from kNowUs
    long not_after = 365 * kDay;      // seconds from kNowUs
    const char* eku = nullptr;        // e.g. "clientAuth"
    bool ca = false;
    std::string cn = "fixture";
    std::vector<std::string> dns;  // SAN: names, or "IP:<address>"
};

inline void add_ext(X509* cert, const X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, const_cast<X509*>(issuer), cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

inline X509Ptr cert(const CertSpec& s) {
    X509Ptr x(X509_new());
    X509_set_version(x.get(), X509_VERSION_3);
    static long serial = 1;
    ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial++);
    std::time_t now = static_cast<std::time_t>(kNowUs / 1000000);
    X509_time_adj_ex(X509_getm_notBefore(x.get()), 0, s.not_before, &now);
    X509_time_adj_ex(X509_getm_notAfter(x.get()), 0, s.not_after, &now);
    X509_NAME* name = X509_get_subject_name(x.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(s.cn.c_str()), -1, -1, 0);
    const X509* issuer = s.issuer ? s.issuer : x.get();
    X509_set_issuer_name(x.get(), X509_get_subject_name(issuer));
    X509_set_pubkey(x.get(), s.key);
    add_ext(x.get(), issuer, NID_basic_constraints, s.ca ? "critical,CA:TRUE" : "CA:FALSE");
    if (s.eku) add_ext(x.get(), issuer, NID_ext_key_usage, s.eku);
    std::string san;
    for (const auto& d : s.dns) {  // "IP:" entries as they are, anything else a DNS name
        san += std::string(san.empty() ? "" : ",") + (d.rfind("IP:", 0) == 0 ? "" : "DNS:") + d;
    }
    if (!san.empty()) add_ext(x.get(), issuer, NID_subject_alt_name, san.c_str());
    X509_sign(x.get(), s.signer ? s.signer : s.key, s.md);
    return x;
}

inline std::string drain(BIO* bio) {
    BUF_MEM* mem = nullptr;
    BIO_ctrl(bio, BIO_C_GET_BUF_MEM_PTR, 0, &mem);
    return std::string(mem->data, mem->length);
}

inline std::string pem(const std::vector<const X509*>& chain) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    for (const X509* c : chain) PEM_write_bio_X509(bio.get(), c);
    return drain(bio.get());
}
inline std::string pem(const X509Ptr& c) {
    return pem(std::vector<const X509*>{c.get()});
}

inline std::string pkcs8(EVP_PKEY* k) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_PrivateKey(bio.get(), k, nullptr, nullptr, 0, nullptr, nullptr);
    return drain(bio.get());
}
inline std::string traditional(EVP_PKEY* k) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_PrivateKey_traditional(bio.get(), k, nullptr, nullptr, 0, nullptr, nullptr);
    return drain(bio.get());
}
inline std::string encrypted_pkcs8(EVP_PKEY* k) {
    static char pass[] = "passphrase";
    BioPtr bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_PKCS8PrivateKey(bio.get(), k, EVP_aes_256_cbc(), pass, 10, nullptr, nullptr);
    return drain(bio.get());
}
inline std::string encrypted_traditional(EVP_PKEY* k) {
    static unsigned char pass[] = "passphrase";
    BioPtr bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_PrivateKey_traditional(bio.get(), k, EVP_aes_128_cbc(), pass, 10, nullptr,
                                         nullptr);
    return drain(bio.get());
}
/// A PEM block named `name` around arbitrary bytes.
inline std::string block(const char* name, const std::string& der) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    PEM_write_bio(bio.get(), name, "", reinterpret_cast<const unsigned char*>(der.data()),
                  static_cast<long>(der.size()));
    return drain(bio.get());
}
inline std::string der(const X509* c) {
    unsigned char* out = nullptr;
    const int n = i2d_X509(c, &out);
    std::string s(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
    OPENSSL_free(out);
    return s;
}
/// The DER inside the first PEM block of `text`.
inline std::string block_der(const std::string& text) {
    BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long len = 0;
    PEM_read_bio(bio.get(), &name, &header, &data, &len);
    std::string s(reinterpret_cast<char*>(data), static_cast<std::size_t>(len));
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    return s;
}

}  // namespace sg::security::certs::testing
