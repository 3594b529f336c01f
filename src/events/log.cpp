// log.cpp: event recording and reading. emit() runs on any thread (ports' strands, main); the
// insert and the trim to kEventLogCapacity run on the store's writer thread in one transaction, so
// the log never holds more than the cap after a commit and a crash never loses a committed event.
#include "events/log.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/clock.h"
#include "core/limits.h"

namespace sg::events {

Log::Log(store::Store& store, const config::EventLogSettings& settings) : store_(store) {
    set_settings(settings);
}

void Log::set_settings(const config::EventLogSettings& settings) {
    std::lock_guard lock(mu_);
    overrides_.clear();
    keys_.clear();
    keys_.reserve(settings.types.size());
    for (const auto& [k, v] : settings.types) {
        keys_.push_back(k);
        overrides_[keys_.back()] = v;
    }
}

bool is_mandatory(std::string_view key) {
    const Type* t = find(key);
    return t != nullptr && mandatory(*t);
}

bool Log::enabled(const Type& type) const {
    if (mandatory(type)) return true;  // AU-3: never switched off
    std::lock_guard lock(mu_);
    auto it = overrides_.find(type.key);
    return it == overrides_.end() ? type.default_on : it->second;
}

void Log::emit(const Type& type, Fields fields, std::string message) {
    // Diagnostics always; the persistent log only for enabled types.
    spdlog::log(type.severity == Severity::Error     ? spdlog::level::err
                : type.severity == Severity::Warning ? spdlog::level::warn
                                                     : spdlog::level::info,
                "event {}{}{}: {}{}{}", type.key,
                fields.port ? " port " + std::to_string(*fields.port) : std::string(),
                fields.source.empty() ? std::string() : " from " + fields.source, type.title,
                message.empty() ? "" : ": ", message);
    if (!enabled(type)) return;
    const std::int64_t now = core::now_utc_us();
    store_.post([&type, now, f = std::move(fields), m = std::move(message)](sqlite3* db) {
        store::Statement ins(
            db,
            "INSERT INTO events (time_us, type, category, severity, port, account, "
            "source, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
        ins.bind(1, now)
            .bind(2, type.key)
            .bind(3, static_cast<std::int64_t>(type.category))
            .bind(4, static_cast<std::int64_t>(type.severity));
        if (f.port) {
            ins.bind(5, static_cast<std::int64_t>(*f.port));
        } else {
            ins.bind_null(5);
        }
        ins.bind(6, f.account).bind(7, f.source).bind(8, m.empty() ? std::string(type.title) : m);
        ins.step();
        if (!ins.status()) {
            spdlog::error("event log: cannot record {}: {}", type.key,
                          ins.status().error().message);
            return;
        }
        // Keep the newest kEventLogCapacity rows (guide §3.6: oldest dropped first).
        store::Statement trim(db, "DELETE FROM events WHERE id <= last_insert_rowid() - ?");
        trim.bind(1, static_cast<std::int64_t>(core::limits::kEventLogCapacity)).step();
    });
}

bool is_type(std::string_view key) {
    return find(key) != nullptr;
}

core::Result<std::vector<Event>> read(store::Store& store, const Query& q) {
    std::string sql =
        "SELECT id, time_us, type, category, severity, port, account, source, message FROM events "
        "WHERE 1=1";
    if (q.category) sql += " AND category = ?1";
    if (q.max_severity) sql += " AND severity <= ?2";
    if (q.port) sql += " AND port = ?3";
    if (q.type) sql += " AND type = ?4";
    sql += " ORDER BY id DESC LIMIT ?5";
    return store.with([&](sqlite3* db) -> core::Result<std::vector<Event>> {
        store::Statement s(db, sql);
        if (q.category) s.bind(1, static_cast<std::int64_t>(*q.category));
        if (q.max_severity) s.bind(2, static_cast<std::int64_t>(*q.max_severity));
        if (q.port) s.bind(3, static_cast<std::int64_t>(*q.port));
        if (q.type) s.bind(4, *q.type);
        s.bind(5, static_cast<std::int64_t>(q.limit));
        std::vector<Event> out;
        while (s.step()) {
            Event e;
            e.id = s.integer(0);
            e.time_us = s.integer(1);
            e.type_key = s.text(2);
            e.type = find(e.type_key);
            e.category = static_cast<Category>(s.integer(3));
            e.severity = static_cast<Severity>(s.integer(4));
            if (!s.is_null(5)) e.port = static_cast<std::uint32_t>(s.integer(5));
            e.account = s.text(6);
            e.source = s.text(7);
            e.message = s.text(8);
            out.push_back(std::move(e));
        }
        if (auto st = s.status(); !st) return st.error();
        std::reverse(out.begin(), out.end());
        return out;
    });
}

}  // namespace sg::events
