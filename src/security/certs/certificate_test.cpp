#include "security/certs/certificate.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "security/certs/test_fixtures.h"

namespace sg::security::certs {
namespace {

using namespace testing;  // fixtures

constexpr std::int64_t kYearUs = std::int64_t{365} * kDay * 1000000;

std::string code_of(const std::variant<Imported, Refusal>& r) {
    if (const auto* refusal = std::get_if<Refusal>(&r)) return refusal->code;
    return "accepted";
}

std::variant<Imported, Refusal> import(const std::string& cert_pem, const std::string& key_pem,
                                       bool allow_rsa_1024 = false) {
    return validate_import(cert_pem, key_pem, ImportOptions{allow_rsa_1024, kNowUs});
}

X509Ptr parse_one(const std::string& text) {
    BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
    return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

// ---------------------------------------------------------------- generate_self_signed (CE-1)

TEST(GenerateSelfSigned, DescribesAsP256WithTheSanAndOneYear) {
    auto pair =
        generate_self_signed("sg-test", {"127.0.0.1", "sg-host", "2001:db8::1", "::1"}, kNowUs);
    ASSERT_TRUE(pair.ok()) << pair.error().message;
    EXPECT_TRUE(pair->key_pem.reveal().starts_with("-----BEGIN PRIVATE KEY-----\n"));
    auto info = describe(pair->cert_pem);
    ASSERT_TRUE(info.ok()) << info.error().message;
    EXPECT_EQ(info->key_type, "EC P-256");
    EXPECT_EQ(info->subject, "CN=sg-test");
    EXPECT_EQ(info->issuer, "CN=sg-test");
    EXPECT_EQ(info->san, (std::vector<std::string>{"IP:127.0.0.1", "DNS:sg-host", "IP:2001:db8::1",
                                                   "IP:::1"}));
    EXPECT_EQ(info->not_after_us, kNowUs + kYearUs);
    EXPECT_EQ(info->not_before, "2025-12-31T23:00:00Z");  // an hour back for clock skew
    EXPECT_EQ(info->not_after, "2027-01-01T00:00:00Z");
    EXPECT_EQ(info->chain_length, 1u);
    EXPECT_EQ(info->fingerprint_sha256.size(), 32u * 3 - 1);
    EXPECT_GE(info->serial_hex.size(), 30u);  // 128 random bits, leading zero bytes aside
}

TEST(GenerateSelfSigned, HasTheExtensionsAndSignatureOfCe1) {
    auto pair = generate_self_signed("sg", {"10.0.0.1"}, kNowUs);
    ASSERT_TRUE(pair.ok());
    X509Ptr x = parse_one(pair->cert_pem);
    ASSERT_TRUE(x);
    EXPECT_EQ(X509_check_ca(x.get()), 0);  // CA:FALSE
    EXPECT_NE(X509_get_extension_flags(x.get()) & EXFLAG_BCONS, 0u);
    EXPECT_EQ(X509_get_key_usage(x.get()), static_cast<std::uint32_t>(KU_DIGITAL_SIGNATURE));
    EXPECT_EQ(X509_get_extended_key_usage(x.get()), static_cast<std::uint32_t>(XKU_SSL_SERVER));
    int md = 0, pk = 0;
    ASSERT_EQ(X509_get_signature_info(x.get(), &md, &pk, nullptr, nullptr), 1);
    EXPECT_EQ(md, NID_sha256);
    EXPECT_EQ(pk, NID_X9_62_id_ecPublicKey);
    EXPECT_EQ(X509_verify(x.get(), X509_get0_pubkey(x.get())), 1);  // self-signed
    EXPECT_EQ(X509_get_version(x.get()), X509_VERSION_3);
}

TEST(GenerateSelfSigned, FreshKeyAndSerialEachTime) {
    auto a = generate_self_signed("sg", {}, kNowUs);
    auto b = generate_self_signed("sg", {}, kNowUs);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_NE(a->key_pem.reveal(), b->key_pem.reveal());
    EXPECT_NE(describe(a->cert_pem)->serial_hex, describe(b->cert_pem)->serial_hex);
    EXPECT_TRUE(describe(a->cert_pem)->san.empty());  // no addresses: no (invalid, empty) SAN
}

TEST(GenerateSelfSigned, DuplicatesCollapseAndBadNamesAreRefused) {
    auto pair = generate_self_signed("sg", {"::1", "0:0::1", "h"}, kNowUs);
    ASSERT_TRUE(pair.ok());
    EXPECT_EQ(describe(pair->cert_pem)->san, (std::vector<std::string>{"IP:::1", "DNS:h"}));
    EXPECT_FALSE(generate_self_signed("sg", {"not a name!"}, kNowUs).ok());
    EXPECT_FALSE(generate_self_signed("sg", {""}, kNowUs).ok());
}

TEST(GenerateSelfSigned, LongCommonNameIsCutTo64) {
    auto pair = generate_self_signed(std::string(100, 'a'), {}, kNowUs);
    ASSERT_TRUE(pair.ok()) << pair.error().message;
    EXPECT_EQ(describe(pair->cert_pem)->subject, "CN=" + std::string(64, 'a'));
}

TEST(GenerateSelfSigned, PassesItsOwnImportCheck) {
    auto pair = generate_self_signed("sg", {"127.0.0.1"}, kNowUs);
    ASSERT_TRUE(pair.ok());
    auto r = import(pair->cert_pem, std::string(pair->key_pem.reveal()));
    ASSERT_EQ(code_of(r), "accepted");
    EXPECT_FALSE(std::get<Imported>(r).weak_key_allowed);
}

// ---------------------------------------------------------------- validate_import (CE-2)

struct AlgCase {
    const char* key;
    const char* expected;  // "accepted" or the refusal code
    const char* key_type;
};

class ImportAlgorithm : public ::testing::TestWithParam<AlgCase> {};

TEST_P(ImportAlgorithm, GivesTheRightCode) {
    const auto& c = GetParam();
    EVP_PKEY* k = key(c.key);
    ASSERT_NE(k, nullptr);
    const bool ed = std::string_view(c.key) == "ED25519";
    auto x = cert({.key = k, .md = ed ? nullptr : EVP_sha256()});
    auto r = import(pem(x), pkcs8(k));
    EXPECT_EQ(code_of(r), c.expected);
    if (auto* ok = std::get_if<Imported>(&r)) {
        EXPECT_EQ(ok->info.key_type, c.key_type);
        EXPECT_FALSE(ok->weak_key_allowed);
        EXPECT_TRUE(ok->pair.key_pem.reveal().starts_with("-----BEGIN PRIVATE KEY-----\n"));
        EXPECT_EQ(ok->pair.cert_pem, pem(x));
    } else {
        EXPECT_NE(std::get<Refusal>(r).message.find(c.key_type), std::string::npos)
            << std::get<Refusal>(r).message;
    }
}

INSTANTIATE_TEST_SUITE_P(Ce2, ImportAlgorithm,
                         ::testing::Values(AlgCase{"RSA:1024", "weak_key", "RSA 1024"},
                                           AlgCase{"RSA:2048", "accepted", "RSA 2048"},
                                           AlgCase{"RSA:3072", "accepted", "RSA 3072"},
                                           AlgCase{"RSA:4096", "accepted", "RSA 4096"},
                                           AlgCase{"EC:P-256", "accepted", "EC P-256"},
                                           AlgCase{"EC:P-384", "accepted", "EC P-384"},
                                           AlgCase{"EC:P-521", "accepted", "EC P-521"},
                                           AlgCase{"ED25519", "unsupported_algorithm", "Ed25519"},
                                           AlgCase{"EC:secp256k1", "unsupported_algorithm",
                                                   "EC secp256k1"}));

TEST(ValidateImport, Rsa1024OnlyWithTheOverrideAndFlagged) {
    EVP_PKEY* k = key("RSA:1024");
    auto x = cert({.key = k});
    auto r = import(pem(x), pkcs8(k), /*allow_rsa_1024=*/true);
    ASSERT_EQ(code_of(r), "accepted");
    EXPECT_TRUE(std::get<Imported>(r).weak_key_allowed);
    EXPECT_EQ(std::get<Imported>(r).info.key_type, "RSA 1024");
    EVP_PKEY* tiny = key("RSA:512");
    auto t = cert({.key = tiny, .md = EVP_sha256()});
    EXPECT_EQ(code_of(import(pem(t), pkcs8(tiny), true)), "weak_key");  // no override below 1024
}

TEST(ValidateImport, ExpiredAndNotYetValid) {
    EVP_PKEY* k = key("EC:P-256");
    auto expired = cert({.key = k, .not_before = -400 * kDay, .not_after = -1});
    EXPECT_EQ(code_of(import(pem(expired), pkcs8(k))), "expired");
    auto future = cert({.key = k, .not_before = 2 * kDay, .not_after = 400 * kDay});
    EXPECT_EQ(code_of(import(pem(future), pkcs8(k))), "not_yet_valid");
    auto now_valid = cert({.key = k, .not_before = -1, .not_after = 2});
    EXPECT_EQ(code_of(import(pem(now_valid), pkcs8(k))), "accepted");
}

TEST(ValidateImport, MismatchedKey) {
    auto x = cert({.key = key("EC:P-256")});
    EXPECT_EQ(code_of(import(pem(x), pkcs8(key("EC:P-256#2")))), "key_mismatch");
    EXPECT_EQ(code_of(import(pem(x), pkcs8(key("RSA:2048")))), "key_mismatch");
    auto rsa = cert({.key = key("RSA:2048")});
    EXPECT_EQ(code_of(import(pem(rsa), pkcs8(key("RSA:2048#2")))), "key_mismatch");
}

TEST(ValidateImport, EncryptedKeyNeverPrompts) {
    EVP_PKEY* k = key("EC:P-256");
    auto x = cert({.key = k});
    EXPECT_EQ(code_of(import(pem(x), encrypted_pkcs8(k))), "encrypted_key");
    EXPECT_EQ(code_of(import(pem(x), encrypted_traditional(k))), "encrypted_key");
    EVP_PKEY* r = key("RSA:2048");
    auto rx = cert({.key = r});
    EXPECT_EQ(code_of(import(pem(rx), encrypted_traditional(r))), "encrypted_key");
}

TEST(ValidateImport, WeakSignatures) {
    EVP_PKEY* k = key("RSA:2048");
    EXPECT_EQ(code_of(import(pem(cert({.key = k, .md = EVP_sha1()})), pkcs8(k))), "weak_signature");
    EXPECT_EQ(code_of(import(pem(cert({.key = k, .md = EVP_md5()})), pkcs8(k))), "weak_signature");
    EVP_PKEY* e = key("EC:P-256");
    EXPECT_EQ(code_of(import(pem(cert({.key = e, .md = EVP_sha1()})), pkcs8(e))), "weak_signature");
    EXPECT_EQ(code_of(import(pem(cert({.key = e, .md = EVP_sha384()})), pkcs8(e))), "accepted");
}

TEST(ValidateImport, ExtendedKeyUsage) {
    EVP_PKEY* k = key("EC:P-256");
    EXPECT_EQ(code_of(import(pem(cert({.key = k, .eku = "clientAuth"})), pkcs8(k))),
              "no_server_auth");
    EXPECT_EQ(code_of(import(pem(cert({.key = k, .eku = "serverAuth,clientAuth"})), pkcs8(k))),
              "accepted");
    EXPECT_EQ(code_of(import(pem(cert({.key = k, .eku = "anyExtendedKeyUsage"})), pkcs8(k))),
              "accepted");
}

TEST(ValidateImport, ChainOfLeafAndCaIsKeptInOrder) {
    EVP_PKEY* ca_key = key("EC:P-384");
    auto ca = cert({.key = ca_key, .ca = true, .cn = "Fixture CA"});
    EVP_PKEY* leaf_key = key("EC:P-256");
    auto leaf = cert({.key = leaf_key,
                      .signer = ca_key,
                      .issuer = ca.get(),
                      .cn = "device",
                      .dns = {"device.example"}});
    const std::string chain = pem({leaf.get(), ca.get()});
    // Text between blocks (as `openssl x509 -text` writes) is allowed and dropped.
    auto r = import("subject=CN=device\n" + pem(leaf) + "issuer\n" + pem(ca), pkcs8(leaf_key));
    ASSERT_EQ(code_of(r), "accepted");
    const auto& ok = std::get<Imported>(r);
    EXPECT_EQ(ok.info.chain_length, 2u);
    EXPECT_EQ(ok.info.subject, "CN=device");
    EXPECT_EQ(ok.info.issuer, "CN=Fixture CA");
    EXPECT_EQ(ok.info.san, std::vector<std::string>{"DNS:device.example"});
    EXPECT_EQ(ok.pair.cert_pem, chain);
    EXPECT_EQ(describe(chain)->chain_length, 2u);
}

TEST(ValidateImport, TraditionalKeyIsReencodedAsPkcs8) {
    for (const char* spec : {"EC:P-384", "RSA:2048"}) {
        EVP_PKEY* k = key(spec);
        auto x = cert({.key = k});
        const std::string trad = traditional(k);
        ASSERT_EQ(trad.find("BEGIN PRIVATE KEY"), std::string::npos);
        auto r = import(pem(x), trad);
        ASSERT_EQ(code_of(r), "accepted") << spec;
        EXPECT_EQ(std::get<Imported>(r).pair.key_pem.reveal(), pkcs8(k));
    }
    // `openssl ecparam -genkey` output: EC PARAMETERS, then the key.
    EVP_PKEY* k = key("EC:P-256");
    const std::string params =
        block("EC PARAMETERS", std::string("\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07", 10));
    EXPECT_EQ(code_of(import(pem(cert({.key = k})), params + traditional(k))), "accepted");
}

TEST(ValidateImport, MalformedInput) {
    EVP_PKEY* k = key("EC:P-256");
    auto x = cert({.key = k});
    const std::string good_cert = pem(x), good_key = pkcs8(k);
    ASSERT_EQ(code_of(import(good_cert, good_key)), "accepted");

    EXPECT_EQ(code_of(import("", good_key)), "malformed_pem");
    EXPECT_EQ(code_of(import(good_cert, "")), "malformed_pem");
    EXPECT_EQ(code_of(import("garbage\x01\x02 not pem", good_key)), "malformed_pem");
    EXPECT_EQ(code_of(import(good_cert, "garbage")), "malformed_pem");
    // Damaged base64, a missing END line, a cut-off block.
    std::string bad = good_cert;
    bad[40] = '!';
    EXPECT_EQ(code_of(import(bad, good_key)), "malformed_pem");
    EXPECT_EQ(code_of(import(good_cert.substr(0, good_cert.size() - 26), good_key)),
              "malformed_pem");
    EXPECT_EQ(code_of(import(good_cert.substr(0, good_cert.size() / 2), good_key)),
              "malformed_pem");
    // Trailing garbage inside the blocks.
    EXPECT_EQ(code_of(import(block("CERTIFICATE", der(x.get()) + "xyz"), good_key)),
              "malformed_pem");
    EXPECT_EQ(code_of(import(good_cert, block("PRIVATE KEY", block_der(good_key) + "xyz"))),
              "malformed_pem");
    EXPECT_EQ(code_of(import(block("CERTIFICATE", "not DER"), good_key)), "malformed_pem");
    // Wrong block types, two keys, a key given as the certificate.
    EXPECT_EQ(code_of(import(good_key, good_key)), "malformed_pem");
    EXPECT_EQ(code_of(import(good_cert, good_cert)), "malformed_pem");
    EXPECT_EQ(code_of(import(good_cert, good_key + good_key)), "malformed_pem");
    EXPECT_EQ(code_of(import(good_cert + good_key, good_key)), "malformed_pem");
    // A block whose BEGIN line is damaged must not vanish silently with what follows it.
    EXPECT_EQ(code_of(import(good_cert, good_key + "junk" + good_key)), "malformed_pem");
    EXPECT_EQ(code_of(import(good_cert + "junk" + good_cert, good_key)), "malformed_pem");
    // Size bound: 64 KiB, even when the excess is harmless text between blocks.
    EXPECT_EQ(code_of(import(good_cert + std::string(kMaxPemBytes, '\n'), good_key)),
              "malformed_pem");
    EXPECT_EQ(code_of(import(good_cert, good_key + std::string(kMaxPemBytes, '\n'))),
              "malformed_pem");
    // Chain length bound.
    std::string long_chain;
    for (std::size_t i = 0; i <= kMaxChainLength; ++i) long_chain += good_cert;
    EXPECT_EQ(code_of(import(long_chain, good_key)), "malformed_pem");
}

TEST(ValidateImport, NoMessageCarriesKeyMaterial) {
    EVP_PKEY* k = key("EC:P-256");
    const std::string key_text = pkcs8(k);
    const std::string body_line = key_text.substr(key_text.find('\n') + 1, 40);
    std::vector<std::pair<std::string, std::string>> inputs = {
        {pem(cert({.key = key("EC:P-256#2")})), key_text},                     // mismatch
        {pem(cert({.key = k, .not_before = -9, .not_after = -1})), key_text},  // expired
        {"junk", key_text},
        {pem(cert({.key = k})), key_text + "junk" + key_text},
    };
    for (const auto& [c, kp] : inputs) {
        auto r = import(c, kp);
        ASSERT_TRUE(std::holds_alternative<Refusal>(r));
        const auto& msg = std::get<Refusal>(r).message;
        EXPECT_FALSE(msg.empty());
        EXPECT_EQ(msg.find(body_line), std::string::npos);
        EXPECT_EQ(msg.find("PRIVATE KEY-----"), std::string::npos);
    }
}

// ---------------------------------------------------------------- describe

TEST(Describe, RejectsWhatIsNotACertificate) {
    EXPECT_FALSE(describe("").ok());
    EXPECT_FALSE(describe("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").ok());
    EXPECT_FALSE(describe(pkcs8(key("EC:P-256"))).ok());
}

TEST(Describe, ControlBytesInNamesAreEscaped) {
    EVP_PKEY* k = key("EC:P-256");
    auto x = cert({.key = k, .cn = "evil\n\x1b[31mname", .dns = {"a.example"}});
    auto info = describe(pem(x));
    ASSERT_TRUE(info.ok());
    for (char c : info->subject) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << info->subject;
    EXPECT_EQ(info->san, std::vector<std::string>{"DNS:a.example"});
}

// ---------------------------------------------------------------- needs_regeneration

TEST(NeedsRegeneration, OnAddressChangeAndNearExpiry) {
    const std::vector<std::string> addrs = {"192.0.2.7", "2001:db8::1", "gw"};
    auto pair = generate_self_signed("gw", addrs, kNowUs);
    ASSERT_TRUE(pair.ok());
    auto info = *describe(pair->cert_pem);
    EXPECT_FALSE(needs_regeneration(info, addrs, kNowUs));
    EXPECT_FALSE(needs_regeneration(info, {"gw", "2001:0db8:0::0001", "192.0.2.7"}, kNowUs));
    EXPECT_TRUE(needs_regeneration(info, {"192.0.2.8", "2001:db8::1", "gw"}, kNowUs));
    EXPECT_TRUE(needs_regeneration(info, {"192.0.2.7", "2001:db8::1"}, kNowUs));
    EXPECT_TRUE(needs_regeneration(info, {"192.0.2.7", "2001:db8::1", "gw", "::1"}, kNowUs));
    // 30 days before expiry (CE-1).
    const std::int64_t day_us = kDay * std::int64_t{1000000};
    EXPECT_FALSE(needs_regeneration(info, addrs, info.not_after_us - 31 * day_us));
    EXPECT_TRUE(needs_regeneration(info, addrs, info.not_after_us - 30 * day_us));
    EXPECT_TRUE(needs_regeneration(info, addrs, info.not_after_us + day_us));
}

TEST(SanEntry, ClassifiesAndCanonicalises) {
    EXPECT_EQ(san_entry("10.1.2.3"), "IP:10.1.2.3");
    EXPECT_EQ(san_entry("FE80:0::1"), "IP:fe80::1");
    EXPECT_EQ(san_entry("host.local"), "DNS:host.local");
    EXPECT_EQ(san_entry("10.1.2"), "DNS:10.1.2");
}

// ---------------------------------------------------------------- host_addresses

TEST(HostAddresses, SortedUniqueWithHostnameAndNoLinkLocal) {
    const auto a = host_addresses();
    ASSERT_FALSE(a.empty());
    EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
    EXPECT_EQ(std::set<std::string>(a.begin(), a.end()).size(), a.size());
    char host[256] = {};
    ASSERT_EQ(::gethostname(host, sizeof host - 1), 0);
    EXPECT_NE(std::find(a.begin(), a.end(), std::string(host)), a.end());
    for (const auto& s : a) {
        EXPECT_FALSE(s.starts_with("169.254.")) << s;
        EXPECT_FALSE(s.starts_with("fe80:")) << s;
    }
    // Every entry can go into a certificate.
    EXPECT_TRUE(generate_self_signed("h", a, kNowUs).ok());
}

// ---- CE-5: the Remote Device Certificate list

TEST(RemoteCas, OneOrMoreCasAreRead) {
    auto a = cert({.key = key("EC:P-256"), .ca = true, .cn = "CA one"});
    auto b = cert({.key = key("RSA:2048"), .ca = true, .cn = "CA two"});
    auto parsed = parse_remote_cas("comment before\n" + pem({a.get(), b.get()}) + "after\n");
    ASSERT_TRUE(std::holds_alternative<std::vector<RemoteCa>>(parsed));
    const auto& cas = std::get<std::vector<RemoteCa>>(parsed);
    ASSERT_EQ(cas.size(), 2u);
    EXPECT_EQ(cas[0].info.subject, "CN=CA one");
    EXPECT_EQ(cas[1].info.subject, "CN=CA two");
    EXPECT_EQ(cas[0].pem, pem(a));  // one plain PEM block each
    EXPECT_EQ(cas[0].info.fingerprint_sha256.size(), 95u);
}

std::string refusal(std::string_view pem) {
    auto parsed = parse_remote_cas(pem);
    if (auto* r = std::get_if<Refusal>(&parsed)) return r->code;
    return "accepted";
}

TEST(RemoteCas, RefusesWhatIsNotACaList) {
    EVP_PKEY* k = key("EC:P-256");
    auto ca = cert({.key = k, .ca = true, .cn = "CA"});
    auto leaf = cert({.key = key("EC:P-256#2"), .signer = k, .issuer = ca.get(), .cn = "leaf"});
    EXPECT_EQ(refusal(pem(leaf)), "not_a_ca");  // basicConstraints CA:FALSE
    EXPECT_EQ(refusal(pem({ca.get(), leaf.get()})), "not_a_ca");
    EXPECT_EQ(refusal(pem(ca) + pkcs8(k)), "private_key_included");
    EXPECT_EQ(refusal(traditional(k)), "private_key_included");
    EXPECT_EQ(refusal(pem(ca) + encrypted_pkcs8(k)), "private_key_included");
    EXPECT_EQ(refusal(pem({ca.get(), ca.get()})), "duplicate");
    EXPECT_EQ(refusal("junk"), "malformed_pem");
    EXPECT_EQ(refusal(""), "malformed_pem");
    EXPECT_EQ(refusal(std::string(kMaxRemoteCaUploadBytes + 1, 'A')), "malformed_pem");
    // A keyUsage without keyCertSign cannot sign certificates, whatever basicConstraints says.
    auto ku = cert({.key = key("EC:P-256#3"), .ca = true, .cn = "no keyCertSign"});
    add_ext(ku.get(), ku.get(), NID_key_usage, "critical,digitalSignature");
    X509_sign(ku.get(), key("EC:P-256#3"), EVP_sha256());
    EXPECT_EQ(refusal(pem(ku)), "not_a_ca");
}

TEST(RemoteCas, CountIsBounded) {
    std::vector<X509Ptr> cas;
    std::vector<const X509*> raw;
    for (std::size_t i = 0; i <= kMaxRemoteCas; ++i) {
        cas.push_back(cert({.key = key("EC:P-256"), .ca = true, .cn = "CA " + std::to_string(i)}));
        raw.push_back(cas.back().get());
    }
    EXPECT_EQ(refusal(pem(raw)), "too_many");
    raw.pop_back();
    EXPECT_EQ(refusal(pem(raw)), "accepted");
}

TEST(RemoteCas, ExpiryFlags) {
    auto ca = cert({.key = key("EC:P-256"), .not_after = 10 * kDay, .ca = true});
    auto info = describe(pem(ca));
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(ca_expiry(*info, kNowUs), CaExpiry::Expiring);
    EXPECT_EQ(ca_expiry(*info, kNowUs - 30 * kDay * std::int64_t{1000000}), CaExpiry::Valid);
    EXPECT_EQ(ca_expiry(*info, kNowUs + 11 * kDay * std::int64_t{1000000}), CaExpiry::Expired);
    EXPECT_STREQ(to_string(CaExpiry::Expired), "expired");
}

TEST(RemoteCas, ChangesNameSubjectAndFingerprint) {
    auto a = cert({.key = key("EC:P-256"), .ca = true, .cn = "A"});
    auto b = cert({.key = key("EC:P-256"), .ca = true, .cn = "B"});
    auto changes = remote_ca_changes({pem(a)}, {pem(b)});
    ASSERT_EQ(changes.size(), 2u);
    EXPECT_TRUE(changes[0].starts_with("added 'CN=B' (")) << changes[0];
    EXPECT_TRUE(changes[1].starts_with("removed 'CN=A' (")) << changes[1];
    EXPECT_TRUE(remote_ca_changes({pem(a)}, {pem(a)}).empty());
}

}  // namespace
}  // namespace sg::security::certs
