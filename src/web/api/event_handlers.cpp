// event_handlers.cpp: the event log through the API (guide §3.6, AU-1, AU-4): a filtered view,
// a CSV export and the catalog of types (for the settings page). Read-only: no API edits or
// deletes an event. Run on the HTTP handler pool.
#include <charconv>

#include "core/limits.h"
#include "events/format.h"
#include "web/api/api.h"
#include "web/api/call.h"
#include "web/api/handlers.h"

namespace sg::web::api {

namespace {

/// The filters of GET /events and /events.csv; a bad value is a 400 naming the parameter.
std::variant<events::Query, std::string> query_of(const Call& call) {
    events::Query q;
    if (auto c = call.query_param("category")) {
        q.category = events::parse_category(*c);
        if (!q.category) return std::string("category");
    }
    if (auto s = call.query_param("severity")) {
        q.max_severity = events::parse_severity(*s);
        if (!q.max_severity) return std::string("severity");
    }
    auto number = [](const std::string& s, std::uint64_t max) -> std::optional<std::uint64_t> {
        std::uint64_t v = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc() || p != s.data() + s.size() || v > max) return std::nullopt;
        return v;
    };
    if (auto p = call.query_param("port")) {
        auto v = number(*p, 4096);
        if (!v || *v == 0) return std::string("port");
        q.port = static_cast<std::uint32_t>(*v);
    }
    if (auto t = call.query_param("type")) {
        if (!events::is_type(*t)) return std::string("type");
        q.type = *t;
    }
    if (auto l = call.query_param("limit")) {
        auto v = number(*l, core::limits::kEventLogCapacity);
        if (!v || *v == 0) return std::string("limit");
        q.limit = *v;
    }
    return q;
}

}  // namespace

http::Response Api::list_events(Call& call) {
    auto q = query_of(call);
    if (auto* bad = std::get_if<std::string>(&q)) {
        return error(call, bhttp::status::bad_request, "invalid_query", *bad);
    }
    auto list = events::read(store_, std::get<events::Query>(q));
    if (!list) return error(call, bhttp::status::internal_server_error, "internal_error");
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& e : *list) arr.push_back(events::to_json(e));
    return json_response(call, bhttp::status::ok, arr);
}

http::Response Api::export_events(Call& call) {
    auto q = query_of(call);
    if (auto* bad = std::get_if<std::string>(&q)) {
        return error(call, bhttp::status::bad_request, "invalid_query", *bad);
    }
    auto& query = std::get<events::Query>(q);
    if (!call.query_param("limit")) query.limit = core::limits::kEventLogCapacity;
    auto list = events::read(store_, query);
    if (!list) return error(call, bhttp::status::internal_server_error, "internal_error");
    std::string csv(events::kCsvHeader);
    for (const auto& e : *list) csv += events::to_csv_line(e);
    auto res = text_response(call, bhttp::status::ok, std::move(csv), "text/csv; charset=utf-8");
    res.set(bhttp::field::content_disposition, "attachment; filename=\"serialgate-events.csv\"");
    log_.emit(events::types::kConfigExported, call.who(), "event log exported as CSV");
    return res;
}

http::Response Api::event_types(Call& call) {
    nlohmann::json arr = nlohmann::json::array();
    for (const events::Type* t : events::catalog()) {
        arr.push_back({{"type", t->key},
                       {"category", events::to_string(t->category)},
                       {"severity", events::to_string(t->severity)},
                       {"title", t->title},
                       {"enabled", log_.enabled(*t)},
                       {"mandatory", events::mandatory(*t)}});
    }
    return json_response(call, bhttp::status::ok, arr);
}

http::Response Api::event_log_status(Call& call) {
    // AU-3: how full the log is and how many events were overwritten, per category; Security
    // keeps its own share of the capacity (issue 14 item 8, events/log.cpp make_room).
    auto r = events::retention(store_);
    if (!r) return error(call, bhttp::status::internal_server_error, "internal_error");
    return json_response(call, bhttp::status::ok, events::to_json(*r));
}

}  // namespace sg::web::api
