// certificate.cpp: the system certificate (CE-1) and user certificate import (CE-2), as pure
// functions over PEM. Called by the management plane (web/) when it starts, when the address set
// changes and on "regenerate"/"import"; it runs them on the slow pool (STYLE.md §3.10): key
// generation and the RSA proof-of-possession cost milliseconds. Also the pem_import_fuzz target.
// Private keys only ever sit in Secret, secure memory BIOs or wiped DER buffers (ST-4, CE-4).
#include "security/certs/certificate.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <climits>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <set>

#include "core/clock.h"
#include "security/certs/openssl_util.h"

namespace sg::security::certs {

using namespace detail;

namespace {

constexpr std::int64_t kMicros = 1000000;
constexpr int kValidityDays = 365;        // CE-1: one year
constexpr long kClockSkewSeconds = 3600;  // notBefore an hour back: a client clock slightly behind

core::Error input_error(std::string message) {
    return core::make_error(core::Errc::invalid_config, std::move(message));
}

// An OpenSSL failure we did not expect (allocation, provider): names the step and OpenSSL's
// reason, which never holds key material.
core::Error openssl_error(std::string_view what) {
    std::array<char, 256> buf{};
    ERR_error_string_n(ERR_peek_last_error(), buf.data(), buf.size());
    return core::make_error(core::Errc::unsupported, std::string(what) + ": " + buf.data());
}

// Bytes from a BIO_s_mem/BIO_s_secmem into one exact-size string (no reallocation leaves copies).
std::string drain(BIO* bio) {
    BUF_MEM* mem = nullptr;
    BIO_ctrl(bio, BIO_C_GET_BUF_MEM_PTR, 0, &mem);
    return mem ? std::string(mem->data, mem->length) : std::string();
}

// Certificate text for people and JSON: printable ASCII kept, anything else as \xNN, so an
// uploaded certificate cannot put control bytes or invalid UTF-8 into the API or the log.
std::string printable(const unsigned char* p, std::size_t n) {
    std::string out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        if (p[i] >= 0x20 && p[i] < 0x7f) {
            out.push_back(static_cast<char>(p[i]));
        } else {
            std::array<char, 5> esc{};
            std::snprintf(esc.data(), esc.size(), "\\x%02X", p[i]);
            out += esc.data();
        }
    }
    return out;
}

std::string name_text(const X509_NAME* name) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    // RFC 2253 flags escape control and non-ASCII bytes, so the result is printable ASCII.
    if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return {};
    return drain(bio.get());
}

bool to_tm(const ASN1_TIME* t, std::tm& tm) {
    tm = {};
    return t && ASN1_TIME_to_tm(t, &tm) == 1;
}

std::string iso8601(const std::tm& tm) {
    std::array<char, 64> buf{};
    std::snprintf(buf.data(), buf.size(), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf.data();
}

std::string ip_text(const unsigned char* p, int len) {
    std::array<char, INET6_ADDRSTRLEN> buf{};
    const int family = len == 4 ? AF_INET : len == 16 ? AF_INET6 : 0;
    if (family == 0 || !inet_ntop(family, p, buf.data(), buf.size())) return "<invalid>";
    return buf.data();
}

std::vector<std::string> san_of(const X509* cert) {
    std::vector<std::string> out;
    GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
    if (!names) return out;
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
        if (gn->type == GEN_DNS) {
            const ASN1_STRING* s = gn->d.dNSName;
            out.push_back("DNS:" + printable(ASN1_STRING_get0_data(s),
                                             static_cast<std::size_t>(ASN1_STRING_length(s))));
        } else if (gn->type == GEN_IPADD) {
            const ASN1_STRING* s = gn->d.iPAddress;
            out.push_back("IP:" + ip_text(ASN1_STRING_get0_data(s), ASN1_STRING_length(s)));
        }
    }
    return out;
}

enum class Family { Rsa, Ec, Other };
struct KeyKind {
    Family family = Family::Other;
    int bits = 0;
    std::string label;  // CertInfo::key_type
};

KeyKind classify(const EVP_PKEY* key) {
    if (!key) return {Family::Other, 0, "unknown"};
    const int bits = EVP_PKEY_get_bits(key);
    switch (EVP_PKEY_get_base_id(key)) {
        case EVP_PKEY_RSA: return {Family::Rsa, bits, "RSA " + std::to_string(bits)};
        case EVP_PKEY_RSA_PSS: return {Family::Other, bits, "RSA-PSS " + std::to_string(bits)};
        case EVP_PKEY_DSA: return {Family::Other, bits, "DSA " + std::to_string(bits)};
        case EVP_PKEY_ED25519: return {Family::Other, bits, "Ed25519"};
        case EVP_PKEY_ED448: return {Family::Other, bits, "Ed448"};
        case EVP_PKEY_EC: {
            std::array<char, 80> group{};
            std::size_t n = 0;
            if (EVP_PKEY_get_group_name(key, group.data(), group.size(), &n) != 1) {
                return {Family::Other, bits, "EC (explicit parameters)"};
            }
            const std::string_view g(group.data(), n);
            if (g == "prime256v1") return {Family::Ec, bits, "EC P-256"};
            if (g == "secp384r1") return {Family::Ec, bits, "EC P-384"};
            if (g == "secp521r1") return {Family::Ec, bits, "EC P-521"};
            return {Family::Other, bits,
                    "EC " + printable(reinterpret_cast<const unsigned char*>(g.data()), g.size())};
        }
        default: return {Family::Other, bits, "unknown"};
    }
}

core::Result<CertInfo> describe_leaf(const X509* leaf, std::size_t chain_length) {
    CertInfo info;
    info.subject = name_text(X509_get_subject_name(leaf));
    info.issuer = name_text(X509_get_issuer_name(leaf));
    BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), nullptr));
    if (serial) {
        char* hex = BN_bn2hex(serial.get());
        if (hex) info.serial_hex = hex;
        OPENSSL_free(hex);
    }
    std::tm before{}, after{};
    if (!to_tm(X509_get0_notBefore(leaf), before) || !to_tm(X509_get0_notAfter(leaf), after)) {
        return input_error("certificate validity dates are unreadable");
    }
    info.not_before = iso8601(before);
    info.not_after = iso8601(after);
    info.not_after_us = static_cast<std::int64_t>(::timegm(&after)) * kMicros;
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int md_len = 0;
    if (X509_digest(leaf, EVP_sha256(), md.data(), &md_len) != 1) {
        return openssl_error("certificate fingerprint");
    }
    for (unsigned int i = 0; i < md_len; ++i) {
        std::array<char, 4> b{};
        std::snprintf(b.data(), b.size(), i == 0 ? "%02X" : ":%02X", md[i]);
        info.fingerprint_sha256 += b.data();
    }
    info.key_type = classify(X509_get0_pubkey(leaf)).label;
    info.san = san_of(leaf);
    info.chain_length = chain_length;
    return info;
}

std::variant<std::string, core::Error> pem_of(const std::vector<X509Ptr>& certs) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio) return openssl_error("certificate encoding");
    for (const auto& c : certs) {
        if (PEM_write_bio_X509(bio.get(), c.get()) != 1)
            return openssl_error("certificate encoding");
    }
    return drain(bio.get());
}

// Unencrypted PKCS#8 PEM, written into a secure memory BIO (wiped when freed).
core::Result<Secret> key_pem_of(EVP_PKEY* key) {
    BioPtr bio(BIO_new(BIO_s_secmem()));
    if (!bio ||
        PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
        return openssl_error("private key encoding");
    }
    return Secret(drain(bio.get()));
}

bool is_dns_name(std::string_view s) {
    if (s.empty() || s.size() > 253) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '.' || c == '_';
    });
}

core::Status add_ext(X509* cert, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    std::unique_ptr<X509_EXTENSION, Deleter<&X509_EXTENSION_free>> ext(
        X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    if (!ext || X509_add_ext(cert, ext.get(), -1) != 1)
        return openssl_error("certificate extension");
    return {};
}

core::Status add_san(X509* cert, const std::vector<std::string>& addresses) {
    GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
    if (!names) return openssl_error("subjectAltName");
    std::set<std::string> seen;
    for (const auto& a : addresses) {
        const std::string entry = san_entry(a);
        if (!seen.insert(entry).second) continue;
        std::unique_ptr<GENERAL_NAME, Deleter<&GENERAL_NAME_free>> gn(GENERAL_NAME_new());
        if (!gn) return openssl_error("subjectAltName");
        if (entry.starts_with("IP:")) {
            ASN1_OCTET_STRING* ip = a2i_IPADDRESS(entry.c_str() + 3);
            if (!ip) return openssl_error("subjectAltName IP");
            GENERAL_NAME_set0_value(gn.get(), GEN_IPADD, ip);
        } else {
            if (!is_dns_name(a)) {
                return input_error("address '" + a + "' is neither an IP address nor a DNS name");
            }
            ASN1_IA5STRING* dns = ASN1_IA5STRING_new();
            if (!dns || ASN1_STRING_set(dns, a.data(), static_cast<int>(a.size())) != 1) {
                ASN1_IA5STRING_free(dns);
                return openssl_error("subjectAltName DNS");
            }
            GENERAL_NAME_set0_value(gn.get(), GEN_DNS, dns);
        }
        if (sk_GENERAL_NAME_push(names.get(), gn.get()) == 0)
            return openssl_error("subjectAltName");
        (void)gn.release();  // owned by names now
    }
    if (seen.empty()) return {};  // an empty SAN extension is invalid: leave it out
    if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1) {
        return openssl_error("subjectAltName");
    }
    return {};
}

// Proof of possession: the key signs, the certificate's public key verifies. Catches a key whose
// public half matches but whose private half does not (a crafted PKCS#8), which EVP_PKEY_eq
// cannot see.
bool signs_for(EVP_PKEY* key, EVP_PKEY* pub) {
    static constexpr unsigned char kMessage[] = "SerialGate certificate import proof";
    MdCtxPtr sign(EVP_MD_CTX_new());
    std::size_t len = 0;
    if (!sign || EVP_DigestSignInit(sign.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
        EVP_DigestSign(sign.get(), nullptr, &len, kMessage, sizeof kMessage) != 1) {
        return false;
    }
    std::vector<unsigned char> sig(len);
    if (EVP_DigestSign(sign.get(), sig.data(), &len, kMessage, sizeof kMessage) != 1) return false;
    MdCtxPtr verify(EVP_MD_CTX_new());
    return verify && EVP_DigestVerifyInit(verify.get(), nullptr, EVP_sha256(), nullptr, pub) == 1 &&
           EVP_DigestVerify(verify.get(), sig.data(), len, kMessage, sizeof kMessage) == 1;
}

}  // namespace

std::string san_entry(std::string_view address) {
    const std::string a(address);
    std::array<unsigned char, sizeof(in6_addr)> bin{};
    if (inet_pton(AF_INET, a.c_str(), bin.data()) == 1) return "IP:" + ip_text(bin.data(), 4);
    if (inet_pton(AF_INET6, a.c_str(), bin.data()) == 1) return "IP:" + ip_text(bin.data(), 16);
    return "DNS:" + a;
}

core::Result<KeyPair> generate_self_signed(std::string_view common_name,
                                           const std::vector<std::string>& addresses,
                                           std::int64_t now_utc_us) {
    ErrorQueueGuard guard;
    // OpenSSL's DRBG, seeded from the kernel (getrandom): the OS CSPRNG of CE-4.
    PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!key) return openssl_error("EC P-256 key generation");
    X509Ptr cert(X509_new());
    if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
        return openssl_error("certificate");
    }

    std::array<unsigned char, 16> serial_bytes{};  // 128 random bits (CA/B asks for >= 64)
    if (RAND_bytes(serial_bytes.data(), static_cast<int>(serial_bytes.size())) != 1) {
        return openssl_error("serial number");
    }
    serial_bytes[15] |=
        1;  // never zero (RFC 5280: positive); a BIGNUM from bytes is never negative
    BignumPtr serial_bn(
        BN_bin2bn(serial_bytes.data(), static_cast<int>(serial_bytes.size()), nullptr));
    Asn1IntegerPtr serial(serial_bn ? BN_to_ASN1_INTEGER(serial_bn.get(), nullptr) : nullptr);
    if (!serial || X509_set_serialNumber(cert.get(), serial.get()) != 1) {
        return openssl_error("serial number");
    }

    std::time_t now = static_cast<std::time_t>(now_utc_us / kMicros);
    if (!X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, -kClockSkewSeconds, &now) ||
        !X509_time_adj_ex(X509_getm_notAfter(cert.get()), kValidityDays, 0, &now)) {
        return openssl_error("validity");
    }

    // X.520 caps a CN at 64 characters; cut at a UTF-8 boundary rather than fail on a long name.
    std::string cn(common_name.empty() ? std::string_view("SerialGate") : common_name);
    if (cn.size() > 64) {
        std::size_t n = 64;
        while (n > 0 && (static_cast<unsigned char>(cn[n]) & 0xC0) == 0x80) --n;
        cn.resize(n);
    }
    X509_NAME* name = X509_get_subject_name(cert.get());
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(cn.data()),
                                   static_cast<int>(cn.size()), -1, 0) != 1) {
        return input_error("common name is not valid UTF-8");
    }
    if (X509_set_issuer_name(cert.get(), name) != 1 ||
        X509_set_pubkey(cert.get(), key.get()) != 1) {
        return openssl_error("certificate");
    }
    if (auto st = add_ext(cert.get(), NID_basic_constraints, "critical,CA:FALSE"); !st) {
        return st.error();
    }
    if (auto st = add_ext(cert.get(), NID_key_usage, "critical,digitalSignature"); !st) {
        return st.error();
    }
    if (auto st = add_ext(cert.get(), NID_ext_key_usage, "serverAuth"); !st) return st.error();
    if (auto st = add_san(cert.get(), addresses); !st) return st.error();
    if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) return openssl_error("signing");

    std::vector<X509Ptr> chain;
    chain.push_back(std::move(cert));
    auto pem = pem_of(chain);
    if (auto* e = std::get_if<core::Error>(&pem)) return std::move(*e);
    auto key_pem = key_pem_of(key.get());
    if (!key_pem) return key_pem.error();
    return KeyPair{std::move(std::get<std::string>(pem)), std::move(*key_pem)};
}

core::Result<CertInfo> describe(std::string_view cert_pem) {
    ErrorQueueGuard guard;
    auto parsed = parse_certificates(cert_pem);
    if (auto* r = std::get_if<Refusal>(&parsed)) return input_error(r->message);
    const auto& certs = std::get<std::vector<X509Ptr>>(parsed);
    return describe_leaf(certs.front().get(), certs.size());
}

std::variant<Imported, Refusal> validate_import(std::string_view cert_pem, std::string_view key_pem,
                                                const ImportOptions& options) {
    ErrorQueueGuard guard;
    auto parsed_certs = parse_certificates(cert_pem);
    if (auto* r = std::get_if<Refusal>(&parsed_certs)) return std::move(*r);
    auto& certs = std::get<std::vector<X509Ptr>>(parsed_certs);
    auto parsed_key = parse_private_key(key_pem);
    if (auto* r = std::get_if<Refusal>(&parsed_key)) return std::move(*r);
    EVP_PKEY* key = std::get<PkeyPtr>(parsed_key).get();
    X509* leaf = certs.front().get();

    // Also makes OpenSSL parse every extension: an invalid one (duplicate, bad encoding) shows.
    const std::uint32_t ext_flags = X509_get_extension_flags(leaf);
    if ((ext_flags & EXFLAG_INVALID) != 0) {
        return Refusal{"malformed_pem", "the certificate has invalid extensions"};
    }

    // CE-2: RSA 2048-4096 and EC P-256/384/521; RSA-1024 only by the weak-key override.
    EVP_PKEY* pub = X509_get0_pubkey(leaf);
    const KeyKind kind = classify(pub);
    bool weak = false;
    if (kind.family == Family::Rsa) {
        if (kind.bits > 4096) {
            return Refusal{"unsupported_algorithm",
                           kind.label + " is not supported (RSA 2048 to 4096 or EC)"};
        }
        if (kind.bits < 1024 || (kind.bits < 2048 && !options.allow_rsa_1024)) {
            return Refusal{"weak_key", kind.label + " is too weak: use RSA 2048 or more, or EC"};
        }
        weak = kind.bits < 2048;
    } else if (kind.family != Family::Ec) {
        return Refusal{"unsupported_algorithm",
                       kind.label + " keys are not supported (RSA 2048 to 4096, EC P-256/384/521)"};
    }

    if (EVP_PKEY_eq(pub, key) != 1 || !signs_for(key, pub)) {
        return Refusal{"key_mismatch", "the private key does not belong to the certificate"};
    }

    int md_nid = NID_undef;
    if (X509_get_signature_info(leaf, &md_nid, nullptr, nullptr, nullptr) != 1) {
        return Refusal{"unsupported_algorithm", "the certificate's signature algorithm is unknown"};
    }
    if (md_nid == NID_md5 || md_nid == NID_sha1 || md_nid == NID_md5_sha1 || md_nid == NID_md4 ||
        md_nid == NID_md2) {
        return Refusal{"weak_signature", std::string("the certificate is signed with ") +
                                             OBJ_nid2sn(md_nid) + "; use SHA-256 or better"};
    }

    std::time_t now = static_cast<std::time_t>(
        (options.now_utc_us != 0 ? options.now_utc_us : core::now_utc_us()) / kMicros);
    const int before = X509_cmp_time(X509_get0_notBefore(leaf), &now);
    const int after = X509_cmp_time(X509_get0_notAfter(leaf), &now);
    if (before == 0 || after == 0) {
        return Refusal{"malformed_pem", "the certificate's validity dates are unreadable"};
    }
    if (before > 0) return Refusal{"not_yet_valid", "the certificate is not valid yet"};
    if (after < 0) return Refusal{"expired", "the certificate has expired"};

    // No EKU extension means "any use"; one without serverAuth (or anyExtendedKeyUsage) does not
    // allow a TLS server.
    if ((ext_flags & EXFLAG_XKUSAGE) != 0 &&
        (X509_get_extended_key_usage(leaf) & (XKU_SSL_SERVER | XKU_ANYEKU)) == 0) {
        return Refusal{"no_server_auth",
                       "the certificate's extended key usage does not include serverAuth"};
    }

    auto info = describe_leaf(leaf, certs.size());
    if (!info) return Refusal{"malformed_pem", info.error().message};
    auto pem = pem_of(certs);
    if (auto* e = std::get_if<core::Error>(&pem)) return Refusal{"malformed_pem", e->message};
    auto key_out = key_pem_of(key);
    if (!key_out) return Refusal{"malformed_pem", key_out.error().message};
    return Imported{KeyPair{std::move(std::get<std::string>(pem)), std::move(*key_out)},
                    std::move(*info), weak};
}

std::vector<std::string> host_addresses() {
    std::vector<std::string> out;
    std::array<char, HOST_NAME_MAX + 1> host{};
    if (::gethostname(host.data(), host.size() - 1) == 0 && host[0] != '\0') {
        out.emplace_back(host.data());
    }
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) == 0) {
        for (const ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
            if (i->ifa_addr == nullptr || (i->ifa_flags & IFF_UP) == 0) continue;
            std::array<char, INET6_ADDRSTRLEN> buf{};
            if (i->ifa_addr->sa_family == AF_INET) {
                sockaddr_in sin{};
                std::memcpy(&sin, i->ifa_addr, sizeof sin);
                const auto* b = reinterpret_cast<const unsigned char*>(&sin.sin_addr);
                if (b[0] == 169 && b[1] == 254) continue;  // IPv4 link-local: not stable
                if (inet_ntop(AF_INET, &sin.sin_addr, buf.data(), buf.size())) {
                    out.emplace_back(buf.data());
                }
            } else if (i->ifa_addr->sa_family == AF_INET6) {
                sockaddr_in6 sin6{};
                std::memcpy(&sin6, i->ifa_addr, sizeof sin6);
                const unsigned char* b = sin6.sin6_addr.s6_addr;
                if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) continue;  // fe80::/10: needs a zone
                if (inet_ntop(AF_INET6, &sin6.sin6_addr, buf.data(), buf.size())) {
                    out.emplace_back(buf.data());
                }
            }
        }
        ::freeifaddrs(list);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

bool needs_regeneration(const CertInfo& current, const std::vector<std::string>& addresses,
                        std::int64_t now_utc_us) {
    std::set<std::string> want;
    for (const auto& a : addresses) want.insert(san_entry(a));
    const std::set<std::string> have(current.san.begin(), current.san.end());
    return have != want || current.not_after_us - now_utc_us <= kRegenerateBeforeUs;
}

std::variant<std::vector<RemoteCa>, Refusal> parse_remote_cas(std::string_view pem) {
    ErrorQueueGuard guard;
    if (pem.size() > kMaxRemoteCaUploadBytes) {
        return Refusal{
            "malformed_pem",
            "the upload is larger than " + std::to_string(kMaxRemoteCaUploadBytes / 1024) + " KiB"};
    }
    // Before any parsing: a key has no business here, and its bytes go nowhere (not even into an
    // error message).
    for (auto at = pem.find("-----BEGIN"); at != std::string_view::npos;
         at = pem.find("-----BEGIN", at + 1)) {
        const auto eol = pem.find('\n', at);
        if (pem.substr(at, eol == std::string_view::npos ? eol : eol - at).find("PRIVATE KEY") !=
            std::string_view::npos) {
            return Refusal{"private_key_included",
                           "the upload holds a private key; upload only CA certificates (the key "
                           "was not stored)"};
        }
    }
    auto parsed = parse_certificates(pem, kMaxRemoteCas + 1, kMaxRemoteCaUploadBytes);
    if (auto* r = std::get_if<Refusal>(&parsed)) return std::move(*r);
    auto& certs = std::get<std::vector<X509Ptr>>(parsed);
    if (certs.size() > kMaxRemoteCas) {
        return Refusal{"too_many", "more than " + std::to_string(kMaxRemoteCas) +
                                       " certificates; the list holds at most " +
                                       std::to_string(kMaxRemoteCas)};
    }
    std::vector<RemoteCa> out;
    std::set<std::string> seen;
    for (auto& cert : certs) {
        const std::uint32_t flags = X509_get_extension_flags(cert.get());
        if ((flags & EXFLAG_INVALID) != 0) {
            return Refusal{"malformed_pem", "a certificate has invalid extensions"};
        }
        auto info = describe_leaf(cert.get(), 1);
        if (!info) return Refusal{"malformed_pem", info.error().message};
        // basicConstraints CA:TRUE, and a keyUsage (if any) that allows certificate signing:
        // X509_check_ca() says 1 for exactly that (3, 4, 5 are v1 and Netscape leftovers).
        if ((flags & EXFLAG_BCONS) == 0 || X509_check_ca(cert.get()) != 1) {
            return Refusal{"not_a_ca", "'" + info->subject +
                                           "' is not a CA certificate (basicConstraints CA:TRUE "
                                           "and keyCertSign required)"};
        }
        std::vector<X509Ptr> one;
        one.push_back(std::move(cert));
        auto one_pem = pem_of(one);
        if (auto* e = std::get_if<core::Error>(&one_pem)) {
            return Refusal{"malformed_pem", e->message};
        }
        if (std::get<std::string>(one_pem).size() > kMaxRemoteCaPemBytes) {
            return Refusal{"too_large", "'" + info->subject + "' is larger than " +
                                            std::to_string(kMaxRemoteCaPemBytes / 1024) +
                                            " KiB as PEM"};
        }
        if (!seen.insert(info->fingerprint_sha256).second) {
            return Refusal{"duplicate", "'" + info->subject + "' (" + info->fingerprint_sha256 +
                                            ") is in the upload twice"};
        }
        out.push_back(RemoteCa{std::move(std::get<std::string>(one_pem)), std::move(*info)});
    }
    return out;
}

CaExpiry ca_expiry(const CertInfo& info, std::int64_t now_utc_us) {
    if (info.not_after_us <= now_utc_us) return CaExpiry::Expired;
    if (info.not_after_us - now_utc_us <= kCaExpiryWarningUs) return CaExpiry::Expiring;
    return CaExpiry::Valid;
}

const char* to_string(CaExpiry e) {
    switch (e) {
        case CaExpiry::Valid: return "valid";
        case CaExpiry::Expiring: return "expiring";
        case CaExpiry::Expired: return "expired";
    }
    return "?";
}

std::string canonical_fingerprint(std::string_view text) {
    std::string hex;
    for (char c : text) {
        if (c == ':') continue;
        if (!std::isxdigit(static_cast<unsigned char>(c)) || hex.size() == 64) return {};
        hex.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    }
    if (hex.size() != 64) return {};
    std::string out;
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        if (i != 0) out.push_back(':');
        out.append(hex, i, 2);
    }
    return out;
}

std::vector<RemoteCa> describe_remote_cas(const std::vector<std::string>& pems) {
    std::vector<RemoteCa> out;
    for (const auto& pem : pems) {
        auto parsed = parse_remote_cas(pem);
        if (auto* cas = std::get_if<std::vector<RemoteCa>>(&parsed)) {
            for (auto& ca : *cas) out.push_back(std::move(ca));
        }
    }
    return out;
}

std::vector<std::string> remote_ca_changes(const std::vector<std::string>& before,
                                           const std::vector<std::string>& after) {
    const auto a = describe_remote_cas(before);
    const auto b = describe_remote_cas(after);
    auto has = [](const std::vector<RemoteCa>& list, const std::string& fp) {
        return std::any_of(list.begin(), list.end(),
                           [&](const RemoteCa& c) { return c.info.fingerprint_sha256 == fp; });
    };
    std::vector<std::string> out;
    for (const auto& c : b) {
        if (!has(a, c.info.fingerprint_sha256)) {
            out.push_back("added '" + c.info.subject + "' (" + c.info.fingerprint_sha256 +
                          ", expires " + c.info.not_after + ")");
        }
    }
    for (const auto& c : a) {
        if (!has(b, c.info.fingerprint_sha256)) {
            out.push_back("removed '" + c.info.subject + "' (" + c.info.fingerprint_sha256 + ")");
        }
    }
    return out;
}

}  // namespace sg::security::certs
