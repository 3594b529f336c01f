// cert_store.cpp: the active TLS certificate in the store (table tls_certificate, one row). Called
// by the management plane at start (load) and after regenerate/import (save), on its own thread;
// the store serialises access. The database is 0600 and uses secure_delete, so a replaced key does
// not linger in free pages (CE-4, ST-2).
#include "security/certs/cert_store.h"

#include <string_view>

namespace sg::security::certs {

namespace {
std::optional<Source> parse_source(std::string_view s) {
    if (s == "system") return Source::System;
    if (s == "user") return Source::User;
    return std::nullopt;
}
}  // namespace

const char* to_string(Source s) {
    return s == Source::System ? "system" : "user";
}

core::Result<std::optional<Stored>> load(store::Store& store) {
    return store.with([](sqlite3* db) -> core::Result<std::optional<Stored>> {
        store::Statement st(
            db, "SELECT cert_pem, key_pem, source, installed_at FROM tls_certificate WHERE id = 1");
        if (!st.step()) {
            if (auto s = st.status(); !s) return s.error();
            return std::optional<Stored>();
        }
        const auto source = parse_source(st.text(2));
        if (!source) {
            return core::make_error(core::Errc::store_error,
                                    "tls_certificate.source is neither 'system' nor 'user'");
        }
        return std::optional<Stored>(
            Stored{KeyPair{st.text(0), Secret(st.text(1))}, *source, st.integer(3)});
    });
}

core::Status save(store::Store& store, const KeyPair& pair, Source source,
                  std::int64_t now_utc_us) {
    if (pair.cert_pem.empty() || pair.key_pem.empty()) {
        return core::make_error(core::Errc::invalid_config, "certificate or key is empty");
    }
    return store.transaction([&](sqlite3* db) -> core::Status {
        store::Statement st(
            db,
            "INSERT INTO tls_certificate (id, cert_pem, key_pem, source, installed_at)"
            " VALUES (1, ?1, ?2, ?3, ?4) ON CONFLICT (id) DO UPDATE SET"
            " cert_pem = excluded.cert_pem, key_pem = excluded.key_pem,"
            " source = excluded.source, installed_at = excluded.installed_at");
        st.bind(1, pair.cert_pem)
            .bind(2, pair.key_pem.reveal())
            .bind(3, std::string_view(to_string(source)))
            .bind(4, now_utc_us);
        st.step();
        return st.status();
    });
}

}  // namespace sg::security::certs
