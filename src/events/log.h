// log.h: the event log (guide §3.6). emit() is the one call every feature makes: it is cheap and
// never blocks (the row is written by the store's writer thread), may be called from any thread,
// and drops events whose type is switched off. At most 10,000 events are kept, oldest dropped
// first.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/settings.h"
#include "core/result.h"
#include "events/catalog.h"
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
    explicit Log(store::Store& store, const config::EventLogSettings& settings = {});

    void set_settings(const config::EventLogSettings& settings);
    bool enabled(const Type& type) const;

    /// Records an event (if its type is on). `message` adds detail to the type's title.
    void emit(const Type& type, Fields fields, std::string message = {});

    /// Waits until every event emitted so far is committed (stop, tests).
    void flush() { store_.flush(); }

private:
    store::Store& store_;
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
