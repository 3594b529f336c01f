// log_commands.cpp: `log show` — the event log as text, CSV or JSON (guide §3.6) — and `log
// status` — rows kept and overwritten per category (AU-3; issue 14 item 8).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "app/commands.h"
#include "app/common.h"
#include "app/exit_codes.h"
#include "core/clock.h"
#include "events/format.h"
#include "events/log.h"

namespace sg::app {

int log_show(const LogShowOptions& o) {
    using events::Category;
    using events::Severity;
    events::Query q;
    q.limit = o.limit;
    q.port = o.port;
    if (!o.type.empty()) q.type = o.type;
    if (!o.category.empty()) {
        q.category = events::parse_category(o.category);
        if (!q.category) {
            fmt::print(stderr,
                       "serialgate: --category: '{}' is not one of system, network, "
                       "security, maintenance, serial\n",
                       o.category);
            return kExitUsage;
        }
    }
    if (!o.severity.empty()) {
        q.max_severity = events::parse_severity(o.severity);
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
        for (const auto& e : *list) arr.push_back(events::to_json(e));
        fmt::print("{}\n", arr.dump(2));
    } else if (o.format == "csv") {
        fmt::print("{}", events::kCsvHeader);
        for (const auto& e : *list) fmt::print("{}", events::to_csv_line(e));
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

int log_status(const std::string& data_dir, const std::string& format) {
    int rc = 0;
    auto store = open_store(data_dir, rc);
    if (!store) return rc;
    auto r = events::retention(*store);
    if (!r) {
        fmt::print(stderr, "serialgate: {}\n", r.error().message);
        return kExitStore;
    }
    using events::Category;
    constexpr Category kAll[] = {Category::System, Category::Network, Category::Security,
                                 Category::Maintenance, Category::Serial};
    if (format == "json") {
        // The same document as GET /api/v1/event-log/status.
        fmt::print("{}\n", events::to_json(*r).dump(2));
        return kExitOk;
    }
    fmt::print("{} of {} events kept; other categories never push Security below {}\n",
               r->kept_total(), r->capacity, r->security_share);
    fmt::print("{:<12} {:>8} {:>12}\n", "category", "kept", "overwritten");
    for (const Category c : kAll) {
        fmt::print("{:<12} {:>8} {:>12}\n", events::to_string(c),
                   r->kept[static_cast<std::size_t>(c)],
                   r->overwritten[static_cast<std::size_t>(c)]);
    }
    fmt::print("{:<12} {:>8} {:>12}\n", "total", r->kept_total(), r->overwritten_total());
    return kExitOk;
}

}  // namespace sg::app
