// certificates.h: the HTTPS certificate's life (guide §3.3, CE-1..CE-4), shared by the API's
// certificate endpoints and the daemon's startup and periodic check.
#pragma once

#include <memory>
#include <string>

#include "core/result.h"
#include "events/log.h"
#include "security/certs/certificate.h"
#include "store/store.h"

namespace sg::web::api {

/// CE-1: stores a new self-signed certificate when none exists, or when the stored one is ours
/// (not imported) and the host's addresses changed or it expires within 30 days. Returns true
/// when it generated one (logged as security.certificate_changed with `why`).
core::Result<bool> ensure_system_certificate(store::Store& store, events::Log& log,
                                             std::int64_t now_utc_us);
/// Generates and stores a new system certificate on request.
core::Result<security::certs::CertInfo> regenerate_system_certificate(store::Store& store,
                                                                      std::int64_t now_utc_us);

}  // namespace sg::web::api
