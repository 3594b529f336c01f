// openssl_util.cpp: strict PEM readers and OpenSSL helpers for security/certs. Called by
// certificate.cpp (import, describe) and tls_profile.cpp (loading a context) on whatever thread
// runs them; no shared state. Input is untrusted (an uploaded file): bounded to kMaxPemBytes,
// parsed from memory, never with a passphrase prompt, and every decoded key byte is wiped (ST-4).
#include "security/certs/openssl_util.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <string>

namespace sg::security::certs::detail {

namespace {

Refusal malformed(std::string message) {
    return Refusal{"malformed_pem", std::move(message)};
}

// One PEM block as PEM_read_bio_ex returns it. Key blocks are read with PEM_FLAG_SECURE: OpenSSL
// then keeps the base64 text and the DER in clear-on-free buffers, and so do we.
class PemBlock {
public:
    explicit PemBlock(bool secure) : secure_(secure) {}
    PemBlock(const PemBlock&) = delete;
    PemBlock& operator=(const PemBlock&) = delete;
    ~PemBlock() { reset(); }

    enum class Read { Block, End, Malformed };
    Read read(BIO* bio) {
        reset();
        ERR_clear_error();
        const unsigned flags = PEM_FLAG_EAY_COMPATIBLE | (secure_ ? PEM_FLAG_SECURE : 0U);
        if (PEM_read_bio_ex(bio, &name_, &header_, &data_, &len_, flags) == 1) return Read::Block;
        // "No start line" is how OpenSSL says "no further block": the normal end of input.
        const unsigned long e = ERR_peek_last_error();
        if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
            return Read::End;
        }
        return Read::Malformed;
    }
    std::string_view name() const { return name_ ? name_ : ""; }
    std::string_view header() const { return header_ ? header_ : ""; }
    const unsigned char* data() const { return data_; }
    long size() const { return len_; }

private:
    void reset() {
        if (secure_) {
            OPENSSL_secure_free(name_);
            OPENSSL_secure_free(header_);
            OPENSSL_secure_clear_free(data_, static_cast<std::size_t>(len_));
        } else {
            OPENSSL_free(name_);
            OPENSSL_free(header_);
            OPENSSL_free(data_);
        }
        name_ = header_ = nullptr;
        data_ = nullptr;
        len_ = 0;
    }
    bool secure_;
    char* name_ = nullptr;
    char* header_ = nullptr;
    unsigned char* data_ = nullptr;
    long len_ = 0;
};

// Decodes a traditional ("RSA PRIVATE KEY", "EC PRIVATE KEY") or PKCS#8 DER key; nullptr when the
// DER is not exactly one key (trailing bytes included).
PkeyPtr decode_key(std::string_view block_name, const unsigned char* der, long len) {
    const unsigned char* p = der;
    if (block_name == "PRIVATE KEY") {
        std::unique_ptr<PKCS8_PRIV_KEY_INFO, Deleter<&PKCS8_PRIV_KEY_INFO_free>> p8(
            d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, len));
        if (!p8 || p != der + len) return nullptr;
        return PkeyPtr(EVP_PKCS82PKEY(p8.get()));
    }
    const int type = block_name == "RSA PRIVATE KEY" ? EVP_PKEY_RSA : EVP_PKEY_EC;
    PkeyPtr key(d2i_PrivateKey(type, nullptr, &p, len));
    if (!key || p != der + len) return nullptr;
    return key;
}

// PEM_read_bio skips every line that is not exactly a BEGIN line, so a block whose BEGIN line was
// damaged ("junk-----BEGIN ...") would vanish silently, with the blocks after it. Every BEGIN
// marker in the text must have been read as a block.
bool every_block_read(std::string_view pem, std::size_t blocks) {
    std::size_t markers = 0;
    for (auto at = pem.find("-----BEGIN"); at != std::string_view::npos;
         at = pem.find("-----BEGIN", at + 1)) {
        ++markers;
    }
    return markers == blocks;
}

}  // namespace

ErrorQueueGuard::~ErrorQueueGuard() {
    ERR_clear_error();
}

BioPtr memory_bio(std::string_view text) {
    // Callers bound text to kMaxPemBytes, far below INT_MAX.
    return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::variant<std::vector<X509Ptr>, Refusal> parse_certificates(std::string_view pem,
                                                               std::size_t max_certs,
                                                               std::size_t max_bytes) {
    if (pem.size() > max_bytes) {
        return malformed("certificate file is larger than " + std::to_string(max_bytes / 1024) +
                         " KiB");
    }
    BioPtr bio = memory_bio(pem);
    if (!bio) return malformed("out of memory reading the certificate");
    std::vector<X509Ptr> certs;
    PemBlock block(false);
    for (;;) {
        const auto r = block.read(bio.get());
        if (r == PemBlock::Read::End) break;
        if (r == PemBlock::Read::Malformed) {
            return malformed("certificate PEM is garbled (bad base64 or a missing END line)");
        }
        if (block.name() != "CERTIFICATE" && block.name() != "X509 CERTIFICATE") {
            return malformed("certificate file holds a PEM block that is not a CERTIFICATE");
        }
        if (certs.size() == max_certs) {
            return malformed("certificate file holds more than " + std::to_string(max_certs) +
                             " certificates");
        }
        const unsigned char* p = block.data();
        X509Ptr cert(d2i_X509(nullptr, &p, block.size()));
        if (!cert) return malformed("a CERTIFICATE block does not hold an X.509 certificate");
        if (p != block.data() + block.size()) {
            return malformed("a CERTIFICATE block has data after the certificate");
        }
        certs.push_back(std::move(cert));
    }
    if (certs.empty()) return malformed("no PEM certificate found");
    if (!every_block_read(pem, certs.size())) {
        return malformed("certificate file holds a damaged PEM block");
    }
    return certs;
}

std::variant<PkeyPtr, Refusal> parse_private_key(std::string_view pem) {
    if (pem.size() > kMaxPemBytes) return malformed("key file is larger than 64 KiB");
    BioPtr bio = memory_bio(pem);
    if (!bio) return malformed("out of memory reading the key");
    PkeyPtr key;
    PemBlock block(true);
    std::size_t blocks = 0;
    for (;;) {
        const auto r = block.read(bio.get());
        if (r == PemBlock::Read::End) break;
        ++blocks;
        if (r == PemBlock::Read::Malformed) {
            return malformed("private key PEM is garbled (bad base64 or a missing END line)");
        }
        const std::string_view name = block.name();
        // `openssl ecparam -genkey` writes the curve before the key: harmless, skipped.
        if (name == "EC PARAMETERS") continue;
        if (name == "ENCRYPTED PRIVATE KEY" ||
            block.header().find("ENCRYPTED") != std::string_view::npos) {
            return Refusal{"encrypted_key",
                           "the private key is encrypted; import it without a passphrase"};
        }
        if (name == "DSA PRIVATE KEY") {
            return Refusal{"unsupported_algorithm", "DSA keys are not supported"};
        }
        if (name != "PRIVATE KEY" && name != "RSA PRIVATE KEY" && name != "EC PRIVATE KEY") {
            return malformed("key file holds a PEM block that is not an unencrypted private key");
        }
        if (key) return malformed("key file holds more than one private key");
        key = decode_key(name, block.data(), block.size());
        if (!key) return malformed("the private key block does not hold a readable key");
    }
    if (!key) return malformed("no PEM private key found");
    if (!every_block_read(pem, blocks)) return malformed("key file holds a damaged PEM block");
    return key;
}

int rsa_bits(const EVP_PKEY* key) {
    return key && EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA ? EVP_PKEY_get_bits(key) : 0;
}

}  // namespace sg::security::certs::detail
