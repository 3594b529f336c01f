// call.h: one API request as the handlers see it, and the response helpers they share. Internal
// to web/api.
#pragma once

#include <boost/beast/http.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/log.h"
#include "security/secret.h"
#include "web/api/sessions.h"
#include "web/http/server.h"

namespace sg::web::api {

namespace bhttp = boost::beast::http;

struct Call {
    const http::Request& req;
    const http::Peer& peer;
    std::optional<SessionView> session;  // set for every route but the public ones
    std::vector<std::string> params;     // the {} segments of the route pattern, in order
    std::string path;                    // target without the query
    std::string query;                   // after '?', raw

    /// The JSON body (objects only); nullopt after answering 400 in `error`.
    std::optional<nlohmann::json> body(http::Response& error) const;
    /// Who acts and from where, for the event log (AU-2).
    events::Fields who() const;
    std::string account() const { return session ? session->account : std::string(); }
    /// A query parameter, percent-decoded; nullopt when absent.
    std::optional<std::string> query_param(std::string_view name) const;
};

http::Response json_response(const Call& call, bhttp::status status, const nlohmann::json& body);
http::Response no_content(const Call& call);
/// {"error": code[, "message": message]} (WS-8: no internals, no hint of an account's existence).
http::Response error(const Call& call, bhttp::status status, std::string_view code,
                     std::string_view message = {});
http::Response text_response(const Call& call, bhttp::status status, std::string body,
                             std::string_view content_type = "text/plain; charset=utf-8");

/// A port number in a route ("/ports/{n}"): 1..4096, digits only; nullopt otherwise.
std::optional<std::uint32_t> port_number(std::string_view s);
/// Strings of a JSON object member, with type errors answered as 400 invalid_field.
std::optional<std::string> string_field(const nlohmann::json& body, const char* name);
/// A password or key member taken out of the parsed body: the body's copy is wiped (ST-4).
std::optional<security::Secret> secret_field(nlohmann::json& body, const char* name);

}  // namespace sg::web::api
