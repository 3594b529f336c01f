// common.cpp: store and configuration helpers for the subcommands.
#include "app/common.h"

#include <fmt/format.h>

#include "app/exit_codes.h"
#include "core/files.h"
#include "events/log.h"
#include "security/certs/certificate.h"
#include "security/certs/tls_profile.h"

namespace sg::app {

// The configuration layer bounds `remote_certificates` without OpenSSL; the bounds must be the
// certificate reader's, and the whole list must fit the TLS contexts' trust list.
static_assert(config::kMaxRemoteCertificates == security::certs::kMaxRemoteCas);
static_assert(config::kMaxRemoteCertificateBytes == security::certs::kMaxRemoteCaPemBytes);
static_assert(security::certs::kMaxRemoteCas * (security::certs::kMaxRemoteCaPemBytes + 1) <=
              security::certs::kMaxTrustedPemBytes);  // + 1: serve joins them with newlines

std::unique_ptr<store::Store> open_store(const std::string& data_dir, int& exit_code) {
    auto s = store::Store::open(data_dir);
    if (!s) {
        fmt::print(stderr, "serialgate: {}\n", s.error().message);
        exit_code = kExitStore;
        return nullptr;
    }
    exit_code = kExitOk;
    return std::move(*s);
}

std::optional<config::Config> read_config_file(const std::string& file) {
    // Config files are small: 1 MiB is far beyond any real one and bounds what a hostile file
    // can make us parse.
    constexpr std::size_t kMaxConfigBytes = 1 << 20;
    auto text = core::read_file(file, kMaxConfigBytes);
    if (!text) {
        fmt::print(stderr, "serialgate: {}\n", text.error().message);
        return std::nullopt;
    }
    auto res = config::parse_yaml(*text, parse_options());
    for (const auto& p : res.problems) fmt::print(stderr, "{}\n", config::format_problem(file, p));
    return res.config;
}

config::ParseOptions parse_options() {
    return config::ParseOptions{
        .is_event_type = [](std::string_view k) { return events::is_type(k); },
        .is_mandatory_event = [](std::string_view k) { return events::is_mandatory(k); },
        .check_remote_certificate =
            [](std::string_view pem, std::string& out) {
                // CE-5: one CA certificate per entry, checked as an upload through the API is.
                auto parsed = security::certs::parse_remote_cas(pem);
                if (const auto* r = std::get_if<security::certs::Refusal>(&parsed)) {
                    out = r->code + ": " + r->message;
                    return false;
                }
                const auto& cas = std::get<std::vector<security::certs::RemoteCa>>(parsed);
                if (cas.size() != 1) {
                    out = fmt::format("holds {} certificates; give one per entry", cas.size());
                    return false;
                }
                out = cas.front().info.fingerprint_sha256;
                return true;
            }};
}

core::Result<config::Config> load_config(store::Store& store, std::int64_t* revision) {
    auto row = store.load_config();
    if (!row) return row.error();
    if (!row->has_value()) {
        if (revision) *revision = 0;
        return config::Config{};
    }
    if (revision) *revision = (*row)->revision;
    auto cfg = config::load_yaml(
        (*row)->document, store.path().string() + " (stored configuration)", parse_options());
    if (!cfg) return core::make_error(core::Errc::store_error, cfg.error().message);
    return cfg;
}

}  // namespace sg::app
