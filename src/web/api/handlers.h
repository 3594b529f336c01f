// handlers.h: helpers shared by the handler files of web/api. Internal.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "security/accounts/accounts.h"
#include "web/api/call.h"

namespace sg::web::api {

/// {"overview":"read_write",...} for every menu area.
nlohmann::json privileges_json(const security::accounts::Group& g);
/// The session cookie's value in a request (empty when absent).
std::string_view cookie_of(const http::Request& req);
/// An account-layer refusal as an HTTP answer (status from its code).
http::Response refusal(const Call& call, const security::accounts::Refused& r);
/// Account as JSON (never a hash).
nlohmann::json account_json(const security::accounts::Account& a,
                            const security::accounts::Accounts::LockState& lock);

}  // namespace sg::web::api
