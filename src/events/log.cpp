// log.cpp: event recording and reading. emit() runs on any thread (ports' strands, main); the
// insert and the trim to kEventLogCapacity run on the store's writer thread in one transaction, so
// the log never holds more than the cap after a commit and a crash never loses a committed event.
// The trim keeps Security's share (make_room) and counts what it drops in event_retention
// (migration 004), in the same transaction (AU-3).
#include "events/log.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/clock.h"
#include "core/limits.h"

namespace sg::events {

namespace {

constexpr auto kSecurity = static_cast<std::int64_t>(Category::Security);

bool insert_row(sqlite3* db, const Type& type, std::int64_t now, const Fields& f,
                const std::string& m) {
    store::Statement ins(db,
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
        spdlog::error("event log: cannot record {}: {}", type.key, ins.status().error().message);
        return false;
    }
    return true;
}

/// Rows in the log now, and of them Security's (the triggers of migration 004 keep the counts).
std::pair<std::int64_t, std::int64_t> kept(sqlite3* db) {
    store::Statement s(db,
                       "SELECT coalesce(sum(kept), 0), coalesce(sum(CASE WHEN category = ? THEN "
                       "kept END), 0) FROM event_retention");
    s.bind(1, kSecurity);
    if (!s.step()) return {0, 0};
    return {s.integer(0), s.integer(1)};
}

/// The row to drop: the oldest of all while Security holds more than its share (or nothing else
/// is left), otherwise the oldest of the other categories. Each min(id) uses events_category.
std::optional<std::pair<std::int64_t, std::int64_t>> victim(sqlite3* db, bool spare_security) {
    std::optional<std::pair<std::int64_t, std::int64_t>> best;
    auto consider = [&](std::int64_t category) {
        store::Statement s(db, "SELECT min(id) FROM events WHERE category = ?");
        s.bind(1, category);
        if (s.step() && !s.is_null(0) && (!best || s.integer(0) < best->first)) {
            best = std::pair{s.integer(0), category};
        }
    };
    for (const Category c :
         {Category::System, Category::Network, Category::Maintenance, Category::Serial}) {
        consider(static_cast<std::int64_t>(c));
    }
    if (!spare_security || !best) consider(kSecurity);
    return best;
}

/// Drops rows until the log holds at most kEventLogCapacity, counting each drop per category.
void make_room(sqlite3* db) {
    auto [total, security] = kept(db);
    const auto capacity = static_cast<std::int64_t>(core::limits::kEventLogCapacity);
    const auto share = static_cast<std::int64_t>(core::limits::kEventLogSecurityShare);
    while (total > capacity) {
        auto v = victim(db, security <= share);
        if (!v) return;
        store::Statement del(db, "DELETE FROM events WHERE id = ?");
        del.bind(1, v->first).step();
        store::Statement count(
            db, "UPDATE event_retention SET overwritten = overwritten + 1 WHERE category = ?");
        count.bind(1, v->second).step();
        if (!del.status() || !count.status()) {
            spdlog::error("event log: cannot make room: {}", sqlite3_errmsg(db));
            return;
        }
        --total;
        if (v->second == kSecurity) --security;
    }
}

}  // namespace

Log::Log(store::Store& store, const config::EventLogSettings& settings, RateLimiter::Clock clock)
    : store_(store), limiter_(std::move(clock)) {
    set_settings(settings);
    // emit() logs from any io thread. spdlog's registry is a function-local static inside
    // libspdlog.so; made here, on the thread that makes the Log, before any io thread starts.
    // Otherwise the first two emits on two io threads race to create it: safe in C++, but
    // ThreadSanitizer cannot see the guard of a static in an uninstrumented library and reported
    // it as a race (ManagerTest.PortsOnTwoDataThreadsReportStatusAndStop, ADR 0012).
    (void)spdlog::default_logger_raw();
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
        if (!insert_row(db, type, now, f, m)) return;
        // AU-3: "log 90 % full" once, as the log reaches it (again after a clear).
        if (kept(db).first == static_cast<std::int64_t>(core::limits::kEventLogNearlyFull)) {
            (void)insert_row(
                db, types::kLogNearlyFull, now, {},
                fmt::format("{} of {} events kept; from {} on the oldest are "
                            "overwritten and counted (GET /api/v1/event-log/status)",
                            core::limits::kEventLogNearlyFull, core::limits::kEventLogCapacity,
                            core::limits::kEventLogCapacity));
        }
        make_room(db);
    });
}

bool Log::emit_limited(const Type& type, Fields fields, std::string message, const Limit& limit) {
    if (!enabled(type)) return true;  // not written, but not held back either
    auto v = limiter_.admit(type, fields.port, address_of(fields.source), limit);
    if (v.pending) write_summary(*v.pending);
    if (v.write) emit(type, std::move(fields), std::move(message));
    return v.write;
}

void Log::count_limited(const Type& type, const Fields& fields, const Limit& limit) {
    if (!enabled(type)) return;
    auto v = limiter_.admit(type, fields.port, address_of(fields.source), limit, true);
    if (v.pending) write_summary(*v.pending);
}

void Log::emit_summaries(bool all) {
    for (const Summary& s : limiter_.due(all)) write_summary(s);
}

void Log::write_summary(const Summary& s) {
    emit(*s.type, {.port = s.port, .source = s.address},
         fmt::format("rate-limited: {} more from {} since {}", s.count, s.address,
                     core::format_utc(s.since_us)));
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

std::uint64_t Retention::kept_total() const {
    std::uint64_t n = 0;
    for (auto k : kept) n += k;
    return n;
}

std::uint64_t Retention::overwritten_total() const {
    std::uint64_t n = 0;
    for (auto k : overwritten) n += k;
    return n;
}

core::Result<Retention> retention(store::Store& store) {
    return store.with([&](sqlite3* db) -> core::Result<Retention> {
        Retention r{.capacity = core::limits::kEventLogCapacity,
                    .security_share = core::limits::kEventLogSecurityShare};
        store::Statement s(db, "SELECT category, kept, overwritten FROM event_retention");
        while (s.step()) {
            const auto c = s.integer(0);
            if (c < 0 || c >= static_cast<std::int64_t>(r.kept.size())) continue;
            r.kept[static_cast<std::size_t>(c)] = static_cast<std::uint64_t>(s.integer(1));
            r.overwritten[static_cast<std::size_t>(c)] = static_cast<std::uint64_t>(s.integer(2));
        }
        if (auto st = s.status(); !st) return st.error();
        return r;
    });
}

}  // namespace sg::events
