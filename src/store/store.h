// store.h: the state store (STYLE.md §2, store/): one SQLite database in WAL mode inside the data
// directory, holding every persistent setting, account and event. A change is one transaction, so a
// crash or kill -9 at any instant leaves the last committed state (synchronous=FULL).
//
// Threads: one connection, used under a mutex. Synchronous calls (management plane, CLI) run on the
// caller's thread; post() queues work for the store's writer thread, so the data plane never waits
// for the disk (STYLE.md §3.10).
#pragma once

#include <sqlite3.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "core/result.h"

namespace sg::store {

/// A prepared statement. Bind indexes are 1-based as in SQLite; columns 0-based.
class Statement {
public:
    Statement(sqlite3* db, std::string_view sql);
    ~Statement();
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind(int i, std::int64_t v);
    Statement& bind(int i, std::string_view v);
    Statement& bind_null(int i);
    /// true: a row is ready; false: done. Errors are recorded and reported by status().
    bool step();
    std::int64_t integer(int col) const;
    std::string text(int col) const;
    bool is_null(int col) const;
    core::Status status() const;

private:
    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
    int rc_ = SQLITE_OK;
};

class Store {
public:
    /// Opens (creating if needed) `dir/serialgate.db`, applies pending migrations.
    static core::Result<std::unique_ptr<Store>> open(const std::filesystem::path& dir);
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    /// Runs `fn` inside BEGIN IMMEDIATE ... COMMIT; a failed status rolls everything back.
    core::Status transaction(const std::function<core::Status(sqlite3*)>& fn);
    /// Runs `fn` with the connection (reads).
    template <typename F>
    auto with(F&& fn) {
        std::lock_guard lock(mu_);
        return fn(db_);
    }

    /// Queues `fn` for the writer thread, which batches queued work in one transaction.
    void post(std::function<void(sqlite3*)> fn);
    /// Waits until everything posted so far is committed.
    void flush();

    /// Changes whenever another connection (another process) commits (PRAGMA data_version).
    std::int64_t data_version();

    // ---- configuration document
    struct ConfigRow {
        std::string document;
        std::int64_t revision = 0;
        std::int64_t updated_at = 0;
    };
    core::Result<std::optional<ConfigRow>> load_config();
    /// Replaces the document; returns the new revision.
    core::Result<std::int64_t> save_config(std::string_view document);

    int schema_version();
    const std::filesystem::path& path() const { return path_; }

private:
    Store(sqlite3* db, std::filesystem::path path);
    core::Status migrate();
    void writer_loop();

    sqlite3* db_;
    std::filesystem::path path_;
    std::mutex mu_;  // guards db_

    std::mutex queue_mu_;
    std::condition_variable queue_cv_;
    std::condition_variable idle_cv_;
    std::deque<std::function<void(sqlite3*)>> queue_;
    bool busy_ = false;
    bool stopping_ = false;
    std::thread writer_;
};

/// Executes SQL with no results; Error carries sqlite's message.
core::Status exec(sqlite3* db, std::string_view sql);

}  // namespace sg::store
