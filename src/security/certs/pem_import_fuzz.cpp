// pem_import_fuzz.cpp: libFuzzer target over certificate import (CE-2), the one parser that takes
// a file from the network side of the management plane. The input is split at its first 0x00
// byte (or in half) into certificate PEM and key PEM. An input starting "DER:" + a 2-byte length
// is DER instead (certificate, then PKCS#8 or traditional key), wrapped into PEM blocks here, so
// the fuzzer reaches the X.509 and key checks without having to get base64 right. Invariants: no
// crash, leak or sanitizer finding; a refusal carries a known code and a message; an accepted pair
// describes, re-imports to the same leaf and holds a PKCS#8 key; describe() gives printable ASCII
// only (it feeds JSON). The whole input also goes to the Remote Device Certificate list's reader
// (CE-5, parse_remote_cas).
#include <openssl/pem.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "security/certs/certificate.h"

namespace {

using namespace sg::security::certs;

// 2027-01-01T00:00:00Z: fixed, so a run is reproducible (seed certificates cover it).
constexpr std::int64_t kNowUs = std::int64_t{1798761600} * 1000000;

bool printable(std::string_view s) {
    for (char c : s) {
        if (c < 0x20 || c > 0x7e) return false;
    }
    return true;
}

void check_info(const CertInfo& info) {
    SG_ASSERT(printable(info.subject) && printable(info.issuer) && printable(info.key_type));
    SG_ASSERT(printable(info.serial_hex) && printable(info.not_before) &&
              printable(info.not_after));
    for (const auto& s : info.san) SG_ASSERT(printable(s));
    SG_ASSERT(info.chain_length >= 1 && info.chain_length <= kMaxChainLength);
    SG_ASSERT(info.fingerprint_sha256.size() == 32 * 3 - 1);
}

std::string wrap(const char* name, std::string_view der) {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio(bio, name, "", reinterpret_cast<const unsigned char*>(der.data()),
                  static_cast<long>(der.size()));
    BUF_MEM* mem = nullptr;
    BIO_ctrl(bio, BIO_C_GET_BUF_MEM_PTR, 0, &mem);
    std::string out(mem->data, mem->length);
    BIO_free(bio);
    return out;
}

void run(std::string_view cert, std::string_view key, bool allow_rsa_1024) {
    const auto described = describe(cert);
    if (described.ok()) check_info(*described);

    static const std::set<std::string, std::less<>> kCodes = {
        "malformed_pem",  "encrypted_key",         "key_mismatch", "expired",       "not_yet_valid",
        "weak_signature", "unsupported_algorithm", "weak_key",     "no_server_auth"};
    auto result = validate_import(cert, key, ImportOptions{allow_rsa_1024, kNowUs});
    if (const auto* refusal = std::get_if<Refusal>(&result)) {
        SG_ASSERT(kCodes.count(refusal->code) == 1);
        SG_ASSERT(!refusal->message.empty());
        return;
    }
    const auto& ok = std::get<Imported>(result);
    SG_ASSERT(described.ok());  // what import accepts, describe reads
    check_info(ok.info);
    SG_ASSERT(ok.info.fingerprint_sha256 == described->fingerprint_sha256);
    SG_ASSERT(ok.pair.key_pem.reveal().starts_with("-----BEGIN PRIVATE KEY-----\n"));
    SG_ASSERT(!ok.weak_key_allowed || allow_rsa_1024);
    // The canonical output is itself acceptable and names the same leaf.
    auto again = validate_import(ok.pair.cert_pem, ok.pair.key_pem.reveal(),
                                 ImportOptions{allow_rsa_1024, kNowUs});
    SG_ASSERT(std::holds_alternative<Imported>(again));
    SG_ASSERT(std::get<Imported>(again).info.fingerprint_sha256 == ok.info.fingerprint_sha256);
    SG_ASSERT(std::get<Imported>(again).pair.cert_pem == ok.pair.cert_pem);
}

// CE-5: the Remote Device Certificate list's reader over the same text. A refusal has a known
// code; an accepted list is bounded, describes in printable ASCII, and each entry reads back as
// exactly that one CA.
void run_remote_cas(std::string_view text) {
    static const std::set<std::string, std::less<>> kCodes = {
        "malformed_pem", "private_key_included", "too_many", "not_a_ca", "too_large", "duplicate"};
    auto parsed = parse_remote_cas(text);
    if (const auto* refusal = std::get_if<Refusal>(&parsed)) {
        SG_ASSERT(kCodes.count(refusal->code) == 1);
        SG_ASSERT(!refusal->message.empty());
        return;
    }
    const auto& cas = std::get<std::vector<RemoteCa>>(parsed);
    SG_ASSERT(!cas.empty() && cas.size() <= kMaxRemoteCas);
    for (const auto& ca : cas) {
        check_info(ca.info);
        SG_ASSERT(ca.pem.size() <= kMaxRemoteCaPemBytes);
        auto again = parse_remote_cas(ca.pem);
        SG_ASSERT(std::holds_alternative<std::vector<RemoteCa>>(again));
        const auto& one = std::get<std::vector<RemoteCa>>(again);
        SG_ASSERT(one.size() == 1 && one.front().pem == ca.pem);
        SG_ASSERT(one.front().info.fingerprint_sha256 == ca.info.fingerprint_sha256);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    const bool allow_rsa_1024 = size % 2 == 1;
    if (in.starts_with("DER:") && size >= 6) {
        const std::size_t n =
            std::min<std::size_t>((std::size_t{data[4]} << 8) | data[5], size - 6);
        const std::string_view rest = in.substr(6 + n);
        const bool traditional = !rest.empty() && rest.front() == 'T';
        const std::string cert = wrap("CERTIFICATE", in.substr(6, n));
        const std::string key = wrap(traditional ? "EC PRIVATE KEY" : "PRIVATE KEY",
                                     traditional ? rest.substr(1) : rest);
        run(cert, key, allow_rsa_1024);
        run_remote_cas(cert);
        return 0;
    }
    std::size_t cut = in.find('\0');
    const bool has_nul = cut != std::string_view::npos;
    if (!has_nul) cut = size / 2;
    run(in.substr(0, cut), in.substr(has_nul ? cut + 1 : cut), allow_rsa_1024);
    run_remote_cas(in);
    return 0;
}
