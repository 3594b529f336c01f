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

// ---- CE-5: the Remote Device Certificate list (CA certificates the device trusts for mutual TLS)

/// Most CA certificates in the list, and the largest upload (one or more PEM certificates).
inline constexpr std::size_t kMaxRemoteCas = 32;
inline constexpr std::size_t kMaxRemoteCaUploadBytes = 256 * 1024;
/// Largest PEM of one CA certificate as stored (one entry of `remote_certificates`).
inline constexpr std::size_t kMaxRemoteCaPemBytes = 8 * 1024;
/// A CA expiring within this is flagged (and logged as a Warning).
inline constexpr std::int64_t kCaExpiryWarningUs = std::int64_t{30} * 24 * 3600 * 1000000;

struct RemoteCa {
    std::string pem;  // the one certificate, re-encoded as a plain PEM block
    CertInfo info;
};

/// Reads an upload of one or more CA certificates. Refusal codes: "private_key_included" (any
/// PRIVATE KEY block: never stored, never echoed), "malformed_pem" (as parse_certificates; over
/// kMaxRemoteCaUploadBytes), "too_many" (more than kMaxRemoteCas), "not_a_ca" (no basicConstraints
/// CA:TRUE, or a keyUsage without keyCertSign), "too_large" (one certificate's PEM over
/// kMaxRemoteCaPemBytes), "duplicate" (the same certificate twice). Messages name the subject.
std::variant<std::vector<RemoteCa>, Refusal> parse_remote_cas(std::string_view pem);

enum class CaExpiry { Valid, Expiring, Expired };
/// Expired at `now_utc_us`, or expiring within kCaExpiryWarningUs.
CaExpiry ca_expiry(const CertInfo& info, std::int64_t now_utc_us);
const char* to_string(CaExpiry);

/// A SHA-256 fingerprint as CertInfo spells it ("AB:CD:...", 95 characters) from any spelling
/// (colons and case optional); empty when `text` is not 64 hex digits.
std::string canonical_fingerprint(std::string_view text);

/// Each entry of a stored list (one PEM each) described; an entry that no longer reads (it was
/// checked when stored) is left out.
std::vector<RemoteCa> describe_remote_cas(const std::vector<std::string>& pems);
/// For the audit trail (AU-2): "added 'subject' (fingerprint)" and "removed ..." between two lists.
std::vector<std::string> remote_ca_changes(const std::vector<std::string>& before,
                                           const std::vector<std::string>& after);

/// "IP:<canonical address>" for an IPv4/IPv6 literal, else "DNS:<address>": how `addresses`
/// appear in CertInfo::san.
std::string san_entry(std::string_view address);

}  // namespace sg::security::certs
