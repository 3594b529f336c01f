// log_commands.cpp: `log show` — the event log as text, CSV or JSON (guide §3.6).
#include <fmt/format.h>
#include <strings.h>

#include <nlohmann/json.hpp>

#include "app/commands.h"
#include "app/common.h"
#include "app/exit_codes.h"
#include "core/clock.h"
#include "events/log.h"

namespace sg::app {

namespace {
std::string csv_field(const std::string& s) {
    // RFC 4180 quoting; a leading = + - @ is prefixed with ' so spreadsheets do not run it.
    std::string v = s;
    if (!v.empty() && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@')) v = "'" + v;
    if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
    std::string out = "\"";
    for (char c : v) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

template <typename E>
std::optional<E> parse_enum(const std::string& s,
                            std::initializer_list<std::pair<const char*, E>> l) {
    for (const auto& [n, e] : l) {
        if (strcasecmp(s.c_str(), n) == 0) return e;
    }
    return std::nullopt;
}
}  // namespace

int log_show(const LogShowOptions& o) {
    using events::Category;
    using events::Severity;
    events::Query q;
    q.limit = o.limit;
    q.port = o.port;
    if (!o.type.empty()) q.type = o.type;
    if (!o.category.empty()) {
        q.category = parse_enum<Category>(o.category, {{"system", Category::System},
                                                       {"network", Category::Network},
                                                       {"security", Category::Security},
                                                       {"maintenance", Category::Maintenance},
                                                       {"serial", Category::Serial}});
        if (!q.category) {
            fmt::print(stderr,
                       "serialgate: --category: '{}' is not one of system, network, "
                       "security, maintenance, serial\n",
                       o.category);
            return kExitUsage;
        }
    }
    if (!o.severity.empty()) {
        q.max_severity =
            parse_enum<Severity>(o.severity, {{"error", Severity::Error},
                                              {"1", Severity::Error},
                                              {"warning", Severity::Warning},
                                              {"2", Severity::Warning},
                                              {"notice", Severity::Notice},
                                              {"3", Severity::Notice},
                                              {"informational", Severity::Informational},
                                              {"info", Severity::Informational},
                                              {"4", Severity::Informational}});
        if (!q.max_severity) {
            fmt::print(stderr,
                       "serialgate: --severity: '{}' is not one of error, warning, notice, "
                       "informational (or 1-4)\n",
                       o.severity);
            return kExitUsage;
        }
    }
    int rc = 0;
    auto store = open_store(o.data_dir, rc);
    if (!store) return rc;
    auto list = events::read(*store, q);
    if (!list) {
        fmt::print(stderr, "serialgate: {}\n", list.error().message);
        return kExitStore;
    }
    if (o.format == "json") {
        auto arr = nlohmann::json::array();
        for (const auto& e : *list) {
            arr.push_back({{"id", e.id},
                           {"time", core::format_utc(e.time_us)},
                           {"type", e.type_key},
                           {"category", events::to_string(e.category)},
                           {"severity", events::to_string(e.severity)},
                           {"port", e.port ? nlohmann::json(*e.port) : nlohmann::json()},
                           {"account", e.account},
                           {"source", e.source},
                           {"message", e.message}});
        }
        fmt::print("{}\n", arr.dump(2));
    } else if (o.format == "csv") {
        fmt::print("id,time,type,category,severity,port,account,source,message\n");
        for (const auto& e : *list) {
            fmt::print("{},{},{},{},{},{},{},{},{}\n", e.id, core::format_utc(e.time_us),
                       csv_field(e.type_key), events::to_string(e.category),
                       events::to_string(e.severity), e.port ? std::to_string(*e.port) : "",
                       csv_field(e.account), csv_field(e.source), csv_field(e.message));
        }
    } else if (o.format == "text") {
        for (const auto& e : *list) {
            fmt::print("{} {:<13} {:<11} {:<26} {}{}{}{}\n", core::format_utc(e.time_us),
                       events::to_string(e.severity), events::to_string(e.category), e.type_key,
                       e.port ? fmt::format("port {}: ", *e.port) : "",
                       e.source.empty() ? "" : "[" + e.source + "] ",
                       e.account.empty() ? "" : "(" + e.account + ") ", e.message);
        }
    } else {
        fmt::print(stderr, "serialgate: --format: '{}' is not one of text, csv, json\n", o.format);
        return kExitUsage;
    }
    return kExitOk;
}

}  // namespace sg::app
