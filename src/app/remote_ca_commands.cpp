// remote_ca_commands.cpp: `remote-ca list|add|delete` — the Remote Device Certificate list (CE-5;
// issue 11 item 2) on the host, like `config import`: offline on the data directory's store, so
// whoever runs it owns the directory (an administrator by definition). A change is a new
// configuration revision (the list is the configuration's `remote_certificates`), which a running
// `serve` picks up within a second and puts in force for new TLS connections.
#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "app/commands.h"
#include "app/common.h"
#include "app/exit_codes.h"
#include "app/services.h"
#include "core/clock.h"
#include "core/files.h"
#include "events/log.h"
#include "security/certs/certificate.h"

namespace sg::app {

namespace {

namespace certs = security::certs;

/// Commits `next` and records the change (AU-2: source "cli"); an exit code.
int commit(store::Store& store, const config::Config& before, const config::Config& next) {
    auto rev = store.save_config(config::to_yaml(next));
    if (!rev) {
        fmt::print(stderr, "serialgate: {}\n", rev.error().message);
        return kExitStore;
    }
    events::Log log(store, next.event_log);
    audit_local_change(log, before, next, "cli", *rev);  // AU-2, CE-5: one event per CA
    log.flush();
    return kExitOk;
}

}  // namespace

int remote_ca(const RemoteCaOptions& o) {
    int rc = 0;
    auto store = open_store(o.data_dir, rc);
    if (!store) return rc;
    auto cfg = load_config(*store);
    if (!cfg) {
        fmt::print(stderr, "serialgate: {}\n", cfg.error().message);
        return kExitStore;
    }
    const auto listed = certs::describe_remote_cas(cfg->remote_certificates);

    if (o.action == "list") {
        const auto now = core::now_utc_us();
        if (o.format == "json") {
            auto out = nlohmann::json::array();
            for (const auto& ca : listed) {
                const auto e = certs::ca_expiry(ca.info, now);
                out.push_back({{"subject", ca.info.subject},
                               {"issuer", ca.info.issuer},
                               {"not_before", ca.info.not_before},
                               {"not_after", ca.info.not_after},
                               {"fingerprint_sha256", ca.info.fingerprint_sha256},
                               {"status", certs::to_string(e)}});
            }
            fmt::print("{}\n", out.dump(2));
            return kExitOk;
        }
        if (listed.empty()) fmt::print("the Remote Device Certificate list is empty\n");
        for (const auto& ca : listed) {
            const auto e = certs::ca_expiry(ca.info, now);
            fmt::print(
                "{}\n  subject  {}\n  issuer   {}\n  valid    {} .. {}{}\n",
                ca.info.fingerprint_sha256, ca.info.subject, ca.info.issuer, ca.info.not_before,
                ca.info.not_after,
                e == certs::CaExpiry::Valid ? "" : fmt::format("  [{}]", certs::to_string(e)));
        }
        return kExitOk;
    }

    config::Config next = *cfg;
    if (o.action == "add") {
        auto text = core::read_file(o.argument, certs::kMaxRemoteCaUploadBytes);
        if (!text) {
            fmt::print(stderr, "serialgate: {}\n", text.error().message);
            return kExitInvalid;
        }
        auto parsed = certs::parse_remote_cas(*text);
        if (const auto* r = std::get_if<certs::Refusal>(&parsed)) {
            fmt::print(stderr, "serialgate: {}: {}: {}; nothing changed\n", o.argument, r->code,
                       r->message);
            return kExitInvalid;
        }
        const auto& added = std::get<std::vector<certs::RemoteCa>>(parsed);
        for (const auto& ca : added) {
            const bool present = std::any_of(listed.begin(), listed.end(), [&](const auto& l) {
                return l.info.fingerprint_sha256 == ca.info.fingerprint_sha256;
            });
            if (present) {
                fmt::print(stderr, "serialgate: '{}' ({}) is already listed; nothing changed\n",
                           ca.info.subject, ca.info.fingerprint_sha256);
                return kExitRefused;
            }
            next.remote_certificates.push_back(ca.pem);
        }
        if (next.remote_certificates.size() > certs::kMaxRemoteCas) {
            fmt::print(stderr, "serialgate: the list would hold {}; at most {}; nothing changed\n",
                       next.remote_certificates.size(), certs::kMaxRemoteCas);
            return kExitRefused;
        }
        if (const int code = commit(*store, *cfg, next); code != kExitOk) return code;
        for (const auto& ca : added) {
            fmt::print("added {} {}\n", ca.info.fingerprint_sha256, ca.info.subject);
        }
        return kExitOk;
    }

    // delete
    const std::string fp = certs::canonical_fingerprint(o.argument);
    if (fp.empty()) {
        fmt::print(stderr,
                   "serialgate: '{}' is not a SHA-256 fingerprint (64 hex digits, colons "
                   "allowed)\n",
                   o.argument.substr(0, 120));
        return kExitUsage;
    }
    auto& list = next.remote_certificates;
    const auto it = std::find_if(list.begin(), list.end(), [&](const std::string& pem) {
        const auto cas = certs::describe_remote_cas({pem});
        return cas.size() == 1 && cas.front().info.fingerprint_sha256 == fp;
    });
    if (it == list.end()) {
        fmt::print(stderr, "serialgate: no certificate of the list has fingerprint {}\n", fp);
        return kExitInvalid;
    }
    list.erase(it);
    if (const int code = commit(*store, *cfg, next); code != kExitOk) return code;
    fmt::print("deleted {}\n", fp);
    return kExitOk;
}

}  // namespace sg::app
