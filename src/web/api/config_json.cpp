// config_json.cpp: JSON <-> typed configuration through the YAML schema (see config_json.h).
// Called by API handlers on the handler pool; pure functions.
#include "web/api/config_json.h"

#include <yaml-cpp/yaml.h>

#include <charconv>

namespace sg::web::api {

namespace {

/// Keys whose values are strings whatever they look like: a device named "007" or a login
/// message "true" must come back as written (yaml-cpp keeps scalars untyped, and the printer does
/// not quote them). Every other scalar is typed as YAML 1.2's core schema does.
bool string_key(std::string_view key) {
    static constexpr std::string_view kKeys[] = {"device_name",
                                                 "location",
                                                 "description",
                                                 "contact",
                                                 "listen_address",
                                                 "login_message",
                                                 "login_failure_message",
                                                 "alias",
                                                 "device",
                                                 "host",
                                                 "begin",
                                                 "end",
                                                 "type",
                                                 "parity",
                                                 "flow_control",
                                                 "interface",
                                                 "delimiter_process",
                                                 "connection_control",
                                                 "stop_bits",
                                                 "delimiter_1",
                                                 "delimiter_2"};
    for (auto k : kKeys) {
        if (k == key) return true;
    }
    return false;
}

nlohmann::json scalar(const YAML::Node& n, std::string_view key) {
    const std::string& s = n.Scalar();
    if (n.Tag() == "!" || string_key(key)) return s;
    if (s == "true") return true;
    if (s == "false") return false;
    if (s == "~" || s == "null") return nullptr;
    if (!s.empty() && (std::isdigit(static_cast<unsigned char>(s[0])) != 0 || s[0] == '-')) {
        std::int64_t v = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec == std::errc() && p == s.data() + s.size()) return v;
    }
    return s;
}

nlohmann::json to_json(const YAML::Node& n, std::string_view key = {}) {
    switch (n.Type()) {
        case YAML::NodeType::Map: {
            nlohmann::json o = nlohmann::json::object();
            for (const auto& kv : n) o[kv.first.Scalar()] = to_json(kv.second, kv.first.Scalar());
            return o;
        }
        case YAML::NodeType::Sequence: {
            nlohmann::json a = nlohmann::json::array();
            for (const auto& v : n) a.push_back(to_json(v));
            return a;
        }
        case YAML::NodeType::Scalar: return scalar(n, key);
        default: return nullptr;
    }
}

}  // namespace

nlohmann::json config_to_json(const config::Config& c) {
    return to_json(YAML::Load(config::to_yaml(c)));
}

std::variant<config::Config, std::vector<config::Problem>> config_from_json(
    const nlohmann::json& doc, const config::ParseOptions& options) {
    if (!doc.is_object()) {
        return std::vector<config::Problem>{{"", 0, 0, "the configuration must be an object"}};
    }
    // JSON text is YAML flow text; strings are printed quoted, so "0x0a" or "true" in a string
    // field stays a string to the schema.
    auto res = config::parse_yaml(doc.dump(), options);
    if (!res.config) {
        for (auto& p : res.problems) p.line = p.column = 0;  // lines of our own dump mean nothing
        return std::move(res.problems);
    }
    return std::move(*res.config);
}

nlohmann::json problems_json(const std::vector<config::Problem>& problems) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& p : problems) list.push_back({{"path", p.path}, {"message", p.message}});
    return {{"error", "invalid_config"}, {"problems", list}};
}

}  // namespace sg::web::api
