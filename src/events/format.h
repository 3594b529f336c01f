// format.h: events as people and tools read them — one JSON and one CSV shape shared by
// `serialgate log show` and the API (guide §3.6, AU-1), and the filter words both accept.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "events/log.h"

namespace sg::events {

/// "system", "network", "security", "maintenance", "serial" (any case).
std::optional<Category> parse_category(std::string_view s);
/// "error"/"1", "warning"/"2", "notice"/"3", "informational"/"info"/"4" (any case).
std::optional<Severity> parse_severity(std::string_view s);

nlohmann::json to_json(const Event& e);
/// AU-3: {"capacity", "security_share", "kept": {category: n, "total": n}, "overwritten": {...}}
/// — GET /api/v1/event-log/status and `log status --format json`.
nlohmann::json to_json(const Retention& r);
inline constexpr std::string_view kCsvHeader =
    "id,time,type,category,severity,port,account,source,message\n";
/// One RFC 4180 line; a field starting with = + - @ is prefixed with ' (CSV injection).
std::string to_csv_line(const Event& e);

}  // namespace sg::events
