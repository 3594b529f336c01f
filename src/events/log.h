// log.h: the event log (guide §3.6). emit() is the one call every feature makes: it is cheap and
// never blocks (the row is written by the store's writer thread), may be called from any thread,
// and drops events whose type is switched off. At most 10,000 events are kept, oldest dropped
// first, except that other categories never push Security below its own share (retention()).
// Events a stranger can cause go through emit_limited() (rate_limit.h).
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/settings.h"
#include "core/result.h"
#include "events/catalog.h"
#include "events/rate_limit.h"
#include "store/store.h"

namespace sg::events {

/// Who and where: each part optional.
struct Fields {
    std::optional<std::uint32_t> port;  // serial port number
    std::string account;                // acting account
    std::string source;                 // peer or client address "ip:port"
};

struct Event {
    std::int64_t id = 0;
    std::int64_t time_us = 0;  // UTC
    const Type* type = nullptr;
    std::string type_key;  // kept even if the catalog no longer has it
    Category category = Category::System;
    Severity severity = Severity::Informational;
    std::optional<std::uint32_t> port;
    std::string account;
    std::string source;
    std::string message;
};

class Log {
public:
    /// `clock` times the rate limits of emit_limited (unit tests inject one).
    explicit Log(store::Store& store, const config::EventLogSettings& settings = {},
                 RateLimiter::Clock clock = std::chrono::steady_clock::now);

    void set_settings(const config::EventLogSettings& settings);
    bool enabled(const Type& type) const;

    /// Records an event (if its type is on). `message` adds detail to the type's title.
    void emit(const Type& type, Fields fields, std::string message = {});

    /// emit() for an event anyone on the network can cause (a connection, a refused setup): at
    /// most `limit.burst` events per (type, port, source address) and period are written, the
    /// rest counted into a summary of the same type (rate_limit.h). The source's port is not part
    /// of the key. Returns false when the event was counted rather than written (a disabled type
    /// is neither: true).
    bool emit_limited(const Type& type, Fields fields, std::string message, const Limit& limit);
    /// Counts an event into its key's next summary without writing it: the disconnect of a
    /// session whose connect was itself counted, so that a written disconnect always has its
    /// written connect.
    void count_limited(const Type& type, const Fields& fields, const Limit& limit);
    /// Writes the summaries whose period has ended; all of them when `all` (at stop, so that no
    /// count is lost). serve's housekeeping calls it every few seconds.
    void emit_summaries(bool all = false);

    /// Waits until every event emitted so far is committed (stop, tests).
    void flush() { store_.flush(); }

private:
    void write_summary(const Summary& s);

    store::Store& store_;
    RateLimiter limiter_;
    mutable std::mutex mu_;
    std::unordered_map<std::string_view, bool> overrides_;
    std::vector<std::string> keys_;  // storage for overrides_ keys
};

struct Query {
    std::optional<Category> category;
    std::optional<Severity> max_severity;  // this one and more severe
    std::optional<std::uint32_t> port;
    std::optional<std::string> type;
    std::size_t limit = 1000;  // newest `limit`, returned oldest first
};

core::Result<std::vector<Event>> read(store::Store& store, const Query& query);

/// AU-3: how full the log is and what was overwritten, per category (index: Category).
struct Retention {
    std::size_t capacity = 0;        // kEventLogCapacity
    std::size_t security_share = 0;  // kEventLogSecurityShare
    std::array<std::uint64_t, 5> kept{};
    std::array<std::uint64_t, 5> overwritten{};  // rows dropped to make room, ever
    std::uint64_t kept_total() const;
    std::uint64_t overwritten_total() const;
};
core::Result<Retention> retention(store::Store& store);

/// Whether a key names a catalog type (config validation).
bool is_type(std::string_view key);
/// AU-3: Security events of severity Error and Warning cannot be switched off.
inline bool mandatory(const Type& t) {
    return t.category == Category::Security &&
           (t.severity == Severity::Error || t.severity == Severity::Warning);
}
/// mandatory() by key (config validation); false for unknown keys.
bool is_mandatory(std::string_view key);

}  // namespace sg::events
