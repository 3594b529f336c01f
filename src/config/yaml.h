// yaml.h: the one schema for provisioning (`serve --config`), `config export` and `config import`
// (issue 3 §9). Parsing is all-or-nothing: every problem is reported with file, line, column and
// the setting's path, and a file with any problem yields no Config at all.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "config/settings.h"
#include "core/result.h"

namespace sg::config {

struct Problem {
    std::string path;  // "ports[1].mode.max_connections"
    int line = 0;      // 1-based; 0 when the problem has no single place (e.g. a duplicate)
    int column = 0;
    std::string message;  // "9 is outside 1..8"
};

/// "file.yaml:12:5: ports[1].mode.max_connections: 9 is outside 1..8"
std::string format_problem(std::string_view source, const Problem& p);

struct ParseOptions {
    /// Accepts an event type key of the event catalog; unset accepts any key.
    std::function<bool(std::string_view)> is_event_type;
    /// An event type that cannot be switched off (AU-3); unset: none.
    std::function<bool(std::string_view)> is_mandatory_event;
    /// Checks one entry of `remote_certificates` (CE-5): true and its SHA-256 fingerprint in
    /// `out` (duplicates are found by it), or false and the problem in `out`. Unset: any text.
    std::function<bool(std::string_view pem, std::string& out)> check_remote_certificate;
};

/// CE-5: most entries of `remote_certificates`, and the longest PEM of one.
inline constexpr std::size_t kMaxRemoteCertificates = 32;
inline constexpr std::size_t kMaxRemoteCertificateBytes = 8 * 1024;

struct ParseResult {
    std::optional<Config> config;  // set only when problems is empty
    std::vector<Problem> problems;
};

/// Parses and validates a whole configuration document. No side effects.
ParseResult parse_yaml(std::string_view text, const ParseOptions& options = {});

/// Prints a configuration in the same schema; parse_yaml(to_yaml(c)) == c for any valid c.
std::string to_yaml(const Config& config);

/// Cross-field rules over a typed Config (unique port numbers, listening ports, devices). Used by
/// parse_yaml and by any other front end (the API) that builds a Config.
std::vector<Problem> validate(const Config& config);

/// Parses, or returns one Error whose message lists every problem prefixed with `source`.
core::Result<Config> load_yaml(std::string_view text, std::string_view source,
                               const ParseOptions& options = {});

}  // namespace sg::config
