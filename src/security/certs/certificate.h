// certificate.h: the device's TLS certificate as data (guide §3.3; CE-1, CE-2, CE-4): generation
// of the self-signed system certificate, description for the API, and validation of a certificate
// + key a user imports. Pure functions over PEM text; no I/O besides host_addresses(). Called by
// the management plane (web/) off the event loop: key generation and RSA checks cost CPU
// (STYLE.md §3.10).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.h"
#include "security/secret.h"

namespace sg::security::certs {

/// Largest PEM input read (certificate chain or key): refused as "malformed_pem" above it.
inline constexpr std::size_t kMaxPemBytes = 64 * 1024;
/// Most certificates accepted in one chain (leaf included).
inline constexpr std::size_t kMaxChainLength = 10;
/// A system certificate is regenerated this long before it expires (CE-1).
inline constexpr std::int64_t kRegenerateBeforeUs = std::int64_t{30} * 24 * 3600 * 1000000;

struct KeyPair {
    std::string cert_pem;  // leaf first, then chain
    Secret key_pem;        // unencrypted PKCS#8 PEM; never leaves the host (CE-4)
};

struct CertInfo {
    std::string subject, issuer, serial_hex, not_before, not_after;  // times ISO 8601 UTC "...Z"
    std::int64_t not_after_us = 0;
    std::string fingerprint_sha256;  // "AB:CD:..." of the leaf DER
    std::string key_type;            // "EC P-256", "EC P-384", "EC P-521", "RSA 2048", ...
    std::vector<std::string> san;    // "IP:127.0.0.1", "DNS:host"
    std::size_t chain_length = 1;    // certificates in cert_pem
};

/// CE-1: self-signed ECDSA P-256 / SHA-256, key from the OS CSPRNG, CN = common_name, SAN = every
/// entry of `addresses` (IPv4/IPv6 literal → IP:, else DNS:), validity 1 year from now_utc_us
/// (notBefore 1 h back for clock skew), random 128-bit serial, basicConstraints CA:FALSE, keyUsage
/// digitalSignature, extendedKeyUsage serverAuth.
core::Result<KeyPair> generate_self_signed(std::string_view common_name,
                                           const std::vector<std::string>& addresses,
                                           std::int64_t now_utc_us);

/// Describes the leaf of a PEM chain (and counts the chain). Errc::invalid_config when the text is
/// not a well-formed PEM certificate chain (same strictness as validate_import).
core::Result<CertInfo> describe(std::string_view cert_pem);

struct ImportOptions {
    bool allow_rsa_1024 = false;  // config::HttpsSettings::allow_rsa_1024 (CE-2 weak-key override)
    std::int64_t now_utc_us = 0;  // 0: the wall clock
};
struct Refusal {
    std::string code;  // stable API, see validate_import
    std::string message;
};
struct Imported {
    KeyPair pair;
    CertInfo info;
    bool weak_key_allowed = false;  // RSA-1024 accepted by override: caller logs Warning
};

/// CE-2. Accepts: PEM certificate (leaf first, optional chain after it) + PEM private key (PKCS#8
/// or traditional). Codes: "malformed_pem" (no/garbled cert or key, trailing garbage inside
/// blocks, >64 KiB), "encrypted_key", "key_mismatch", "expired", "not_yet_valid",
/// "weak_signature" (MD5/SHA-1 signed leaf), "unsupported_algorithm" (anything but RSA 1024-4096
/// and EC P-256/384/521; e.g. Ed25519, DSA, secp256k1), "weak_key" (RSA < 2048 unless
/// allow_rsa_1024; RSA 1024 with the override → accepted, weak_key_allowed), "no_server_auth" (an
/// EKU extension present without serverAuth). Never returns key bytes in a message. The key is
/// re-encoded as unencrypted PKCS#8 PEM in the result, the chain as plain PEM blocks.
std::variant<Imported, Refusal> validate_import(std::string_view cert_pem, std::string_view key_pem,
                                                const ImportOptions&);

/// This host's addresses for the SAN (CE-1): hostname (DNS), every configured non-link-local
/// IPv4/IPv6 interface address (getifaddrs) of an interface that is up, incl. loopback, sorted and
/// unique.
std::vector<std::string> host_addresses();

/// True when a *system* (self-signed) certificate must be regenerated: its SAN set differs from
/// `addresses`, or it expires within 30 days of now.
bool needs_regeneration(const CertInfo& current, const std::vector<std::string>& addresses,
                        std::int64_t now_utc_us);

/// "IP:<canonical address>" for an IPv4/IPv6 literal, else "DNS:<address>": how `addresses`
/// appear in CertInfo::san.
std::string san_entry(std::string_view address);

}  // namespace sg::security::certs
