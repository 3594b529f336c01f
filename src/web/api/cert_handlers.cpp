// cert_handlers.cpp: the HTTPS certificate (guide §3.3; CE-1..CE-4): view, download (never the
// key), import of a user certificate with its key, regeneration of the self-signed one; plus the
// startup/periodic check the daemon runs. A refused import leaves the current certificate in
// force. Handlers run on the HTTP handler pool (key generation and checks are slow work).
#include <fmt/format.h>
#include <unistd.h>

#include "security/certs/cert_store.h"
#include "web/api/api.h"
#include "web/api/call.h"
#include "web/api/certificates.h"
#include "web/api/handlers.h"

namespace sg::web::api {

namespace certs = security::certs;

namespace {

std::string host_name() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "serialgate";
    return buf;
}

nlohmann::json info_json(const certs::CertInfo& i, std::string_view source) {
    return {{"source", source},
            {"subject", i.subject},
            {"issuer", i.issuer},
            {"serial", i.serial_hex},
            {"not_before", i.not_before},
            {"not_after", i.not_after},
            {"fingerprint_sha256", i.fingerprint_sha256},
            {"key_type", i.key_type},
            {"san", i.san},
            {"chain_length", i.chain_length}};
}

}  // namespace

core::Result<security::certs::CertInfo> regenerate_system_certificate(store::Store& store,
                                                                      std::int64_t now_utc_us) {
    auto pair = certs::generate_self_signed(host_name(), certs::host_addresses(), now_utc_us);
    if (!pair) return pair.error();
    auto info = certs::describe(pair->cert_pem);
    if (!info) return info.error();
    if (auto st = certs::save(store, *pair, certs::Source::System, now_utc_us); !st) {
        return st.error();
    }
    return info;
}

core::Result<bool> ensure_system_certificate(store::Store& store, events::Log& log,
                                             std::int64_t now_utc_us) {
    auto stored = certs::load(store);
    if (!stored) return stored.error();
    std::string why;
    if (!stored->has_value()) {
        why = "first start";
    } else if ((*stored)->source == certs::Source::System) {
        auto info = certs::describe((*stored)->pair.cert_pem);
        if (!info) {
            why = "stored certificate unreadable";
        } else if (certs::needs_regeneration(*info, certs::host_addresses(), now_utc_us)) {
            why = "host addresses changed or expiry near";
        }
    }
    if (why.empty()) return false;
    auto info = regenerate_system_certificate(store, now_utc_us);
    if (!info) return info.error();
    log.emit(events::types::kCertificateChanged, {.source = "system"},
             fmt::format("self-signed certificate generated ({}): {}, SAN {}", why,
                         info->fingerprint_sha256, fmt::join(info->san, ", ")));
    return true;
}

http::Response Api::get_certificate(Call& call) {
    auto stored = certs::load(store_);
    if (!stored) return error(call, bhttp::status::internal_server_error, "internal_error");
    if (!stored->has_value()) return error(call, bhttp::status::not_found, "not_found");
    auto info = certs::describe((*stored)->pair.cert_pem);
    if (!info) return error(call, bhttp::status::internal_server_error, "internal_error");
    auto j = info_json(*info, certs::to_string((*stored)->source));
    j["installed"] = core::format_utc((*stored)->installed_at_us);
    return json_response(call, bhttp::status::ok, j);
}

http::Response Api::download_certificate(Call& call) {
    // CE-4: the certificate chain only; the private key never leaves the store.
    auto stored = certs::load(store_);
    if (!stored) return error(call, bhttp::status::internal_server_error, "internal_error");
    if (!stored->has_value()) return error(call, bhttp::status::not_found, "not_found");
    auto res =
        text_response(call, bhttp::status::ok, (*stored)->pair.cert_pem, "application/x-pem-file");
    res.set(bhttp::field::content_disposition, "attachment; filename=\"serialgate.pem\"");
    return res;
}

http::Response Api::import_certificate(Call& call) {
    http::Response err;
    auto body = call.body(err);
    if (!body) return err;
    auto cert = string_field(*body, "certificate");
    auto key = secret_field(*body, "private_key");
    if (!cert || !key) {
        return error(call, bhttp::status::bad_request, "invalid_field",
                     "certificate and private_key are required PEM strings");
    }
    const security::Secret& key_pem = *key;
    const auto cfg = device_.config();
    auto result =
        certs::validate_import(*cert, key_pem.reveal(),
                               {.allow_rsa_1024 = cfg->https.allow_rsa_1024, .now_utc_us = now_()});
    if (auto* refused = std::get_if<certs::Refusal>(&result)) {
        log_.emit(events::types::kCertificateRefused, call.who(),
                  fmt::format("{}: {}", refused->code, refused->message));
        return error(call, bhttp::status::bad_request, refused->code, refused->message);
    }
    auto& imported = std::get<certs::Imported>(result);
    if (auto st = certs::save(store_, imported.pair, certs::Source::User, now_()); !st) {
        return error(call, bhttp::status::internal_server_error, "internal_error");
    }
    device_.certificate_changed();
    log_.emit(events::types::kCertificateChanged, call.who(),
              fmt::format("user certificate imported: {} ({}), {}", imported.info.subject,
                          imported.info.key_type, imported.info.fingerprint_sha256));
    if (imported.weak_key_allowed) {
        // CE-2: RSA-1024 only by the explicit override, and never silently.
        log_.emit(
            events::types::kWeakCertificate, call.who(),
            fmt::format("{} accepted because https.allow_rsa_1024 is set", imported.info.key_type));
    }
    return json_response(call, bhttp::status::ok, info_json(imported.info, "user"));
}

http::Response Api::regenerate_certificate(Call& call) {
    auto info = regenerate_system_certificate(store_, now_());
    if (!info) return error(call, bhttp::status::internal_server_error, "internal_error");
    device_.certificate_changed();
    log_.emit(events::types::kCertificateChanged, call.who(),
              fmt::format("self-signed certificate regenerated on request: {}",
                          info->fingerprint_sha256));
    return json_response(call, bhttp::status::ok, info_json(*info, "system"));
}

}  // namespace sg::web::api
