// config_json.h: the configuration as JSON for the API. The YAML schema (config/yaml.h) is the one
// definition: a JSON document is printed as YAML flow text (JSON is YAML) and parsed by the same
// validating parser, so the API can never accept what `config import` refuses, and the reverse.
#pragma once

#include <nlohmann/json.hpp>
#include <variant>
#include <vector>

#include "config/settings.h"
#include "config/yaml.h"

namespace sg::web::api {

/// The whole configuration, typed (numbers, booleans, strings) as the schema prints it.
nlohmann::json config_to_json(const config::Config& c);

/// Parses and validates a whole document; problems carry the JSON path ("ports[0].mode.x").
std::variant<config::Config, std::vector<config::Problem>> config_from_json(
    const nlohmann::json& doc, const config::ParseOptions& options);

/// {"error":"invalid_config","problems":[{"path":..,"message":..}]}
nlohmann::json problems_json(const std::vector<config::Problem>& problems);

}  // namespace sg::web::api
