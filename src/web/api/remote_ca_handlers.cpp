// remote_ca_handlers.cpp: the Remote Device Certificate list (CE-5; issue 11 item 2): the CA
// certificates a peer of Secure Connection `encrypted_authenticated` must chain to, and that the
// device's TLS clients trust. List (subject, issuer, validity, SHA-256 fingerprint, expiry flag),
// upload of one or more CA certificates, delete by fingerprint. The list is part of the
// configuration (YAML `remote_certificates`), so a change is one Api::commit(): validated whole,
// committed in one transaction, audited (security.remote_ca_changed) and in force for new TLS
// connections when the answer comes (serve rebuilds its TLS contexts in the commit). Runs on the
// HTTP handler pool.
#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "security/certs/certificate.h"
#include "web/api/api.h"
#include "web/api/call.h"

namespace sg::web::api {

namespace certs = security::certs;

namespace {

nlohmann::json ca_json(const certs::RemoteCa& ca, std::int64_t now_us) {
    const auto expiry = certs::ca_expiry(ca.info, now_us);
    return {{"subject", ca.info.subject},
            {"issuer", ca.info.issuer},
            {"serial", ca.info.serial_hex},
            {"not_before", ca.info.not_before},
            {"not_after", ca.info.not_after},
            {"fingerprint_sha256", ca.info.fingerprint_sha256},
            {"key_type", ca.info.key_type},
            {"status", certs::to_string(expiry)},
            {"expired", expiry == certs::CaExpiry::Expired},
            {"expiring", expiry == certs::CaExpiry::Expiring}};
}

}  // namespace

http::Response Api::list_remote_certificates(Call& call) {
    const auto cfg = device_.config();
    nlohmann::json list = nlohmann::json::array();
    for (const auto& ca : certs::describe_remote_cas(cfg->remote_certificates)) {
        list.push_back(ca_json(ca, now_()));
    }
    return json_response(call, bhttp::status::ok,
                         {{"certificates", std::move(list)}, {"max", certs::kMaxRemoteCas}});
}

http::Response Api::add_remote_certificates(Call& call) {
    http::Response err;
    auto body = call.body(err);
    if (!body) return err;
    auto text = string_field(*body, "certificates");
    if (!text) {
        return error(call, bhttp::status::bad_request, "invalid_field",
                     "certificates is a required string: one or more PEM CA certificates");
    }
    auto parsed = certs::parse_remote_cas(*text);
    if (auto* refused = std::get_if<certs::Refusal>(&parsed)) {
        log_.emit(events::types::kCertificateRefused, call.who(),
                  fmt::format("Remote Device Certificate upload: {}: {}", refused->code,
                              refused->message));
        return error(call, bhttp::status::bad_request, refused->code, refused->message);
    }
    const auto& added = std::get<std::vector<certs::RemoteCa>>(parsed);
    config::Config next = *device_.config();
    const auto listed = certs::describe_remote_cas(next.remote_certificates);
    for (const auto& ca : added) {
        const bool present = std::any_of(listed.begin(), listed.end(), [&](const auto& l) {
            return l.info.fingerprint_sha256 == ca.info.fingerprint_sha256;
        });
        if (present) {
            return error(call, bhttp::status::conflict, "already_listed",
                         fmt::format("'{}' ({}) is already in the list; nothing changed",
                                     ca.info.subject, ca.info.fingerprint_sha256));
        }
    }
    if (listed.size() + added.size() > certs::kMaxRemoteCas) {
        return error(call, bhttp::status::conflict, "list_full",
                     fmt::format("the list holds {} and may hold at most {}; delete some first. "
                                 "Nothing changed",
                                 listed.size(), certs::kMaxRemoteCas));
    }
    nlohmann::json out = nlohmann::json::array();
    for (const auto& ca : added) {
        next.remote_certificates.push_back(ca.pem);
        out.push_back(ca_json(ca, now_()));
    }
    auto res = commit(call, std::move(next), "remote certificates");
    if (res.result() != bhttp::status::ok) return res;
    auto doc = nlohmann::json::parse(res.body(), nullptr, false);
    return json_response(
        call, bhttp::status::ok,
        {{"added", std::move(out)}, {"revision", doc.value("revision", std::int64_t{0})}});
}

http::Response Api::delete_remote_certificate(Call& call) {
    const std::string fp = certs::canonical_fingerprint(call.params[0]);
    if (fp.empty()) {
        return error(call, bhttp::status::bad_request, "invalid_field",
                     "the path names a SHA-256 fingerprint (64 hex digits, colons allowed)");
    }
    config::Config next = *device_.config();
    auto& list = next.remote_certificates;
    std::optional<certs::RemoteCa> removed;
    for (auto it = list.begin(); it != list.end(); ++it) {
        auto cas = certs::describe_remote_cas({*it});
        if (cas.size() == 1 && cas.front().info.fingerprint_sha256 == fp) {
            removed = std::move(cas.front());
            list.erase(it);
            break;
        }
    }
    if (!removed) {
        return error(call, bhttp::status::not_found, "not_found",
                     "no certificate of the list has fingerprint " + fp);
    }
    auto res = commit(call, std::move(next), "remote certificates");
    if (res.result() != bhttp::status::ok) return res;
    auto doc = nlohmann::json::parse(res.body(), nullptr, false);
    return json_response(call, bhttp::status::ok,
                         {{"removed", ca_json(*removed, now_())},
                          {"revision", doc.value("revision", std::int64_t{0})}});
}

}  // namespace sg::web::api
