// token_bucket.h: the management plane's name for core::TokenBucket (core/token_bucket.h), which
// the data plane's DoS defense (security/dos) shares.
#pragma once

#include "core/token_bucket.h"

namespace sg::web::http {

using core::seconds_of;
using core::TokenBucket;

}  // namespace sg::web::http
