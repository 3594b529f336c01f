// cert_store.h: the active TLS certificate and key, one row in the SQLite store (table
// tls_certificate, migration 003): crash-safe (one transaction, ST-5) and private (0600 database,
// CE-4). Called by the management plane at start and on regenerate/import; never on the data plane.
#pragma once

#include <cstdint>
#include <optional>

#include "core/result.h"
#include "security/certs/certificate.h"
#include "store/store.h"

namespace sg::security::certs {

enum class Source { System, User };  // "system" (self-signed, ours) | "user" (imported)

struct Stored {
    KeyPair pair;
    Source source;
    std::int64_t installed_at_us;
};

/// The active certificate, or nullopt before the first one is saved.
core::Result<std::optional<Stored>> load(store::Store&);
/// Replaces the active certificate in one transaction: readers see the old pair or the new one.
core::Status save(store::Store&, const KeyPair&, Source, std::int64_t now_utc_us);
const char* to_string(Source);

}  // namespace sg::security::certs
