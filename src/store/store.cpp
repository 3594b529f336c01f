// store.cpp: SQLite state store. Opened once by `serve` and by each CLI subcommand; another process
// may hold the same database (busy_timeout waits for its transaction). Not on the data plane: event
// rows arrive through post() and are written by the writer thread.
#include "store/store.h"

#include <sys/stat.h>

#include "core/clock.h"
#include "core/files.h"
#include "store/migrations.h"

namespace sg::store {

namespace {
core::Error sql_error(sqlite3* db, std::string_view what) {
    return core::make_error(core::Errc::store_error,
                            std::string(what) + ": " + (db ? sqlite3_errmsg(db) : "no database"));
}
// Readers and the other process wait this long for a writer before reporting "busy".
constexpr int kBusyTimeoutMs = 10000;
}  // namespace

core::Status exec(sqlite3* db, std::string_view sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, std::string(sql).c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err ? err : "unknown error";
        sqlite3_free(err);
        return core::make_error(core::Errc::store_error, msg);
    }
    return {};
}

// ---------------------------------------------------------------- Statement

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
}
Statement::~Statement() {
    sqlite3_finalize(stmt_);
}

Statement& Statement::bind(int i, std::int64_t v) {
    if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_int64(stmt_, i, v);
    return *this;
}
Statement& Statement::bind(int i, std::string_view v) {
    if (rc_ == SQLITE_OK) {
        rc_ = sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    }
    return *this;
}
Statement& Statement::bind_null(int i) {
    if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_null(stmt_, i);
    return *this;
}
bool Statement::step() {
    if (rc_ != SQLITE_OK && rc_ != SQLITE_ROW) return false;
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) {
        rc_ = SQLITE_ROW;
        return true;
    }
    rc_ = rc == SQLITE_DONE ? SQLITE_OK : rc;
    return false;
}
std::int64_t Statement::integer(int col) const {
    return sqlite3_column_int64(stmt_, col);
}
std::string Statement::text(int col) const {
    const auto* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string();
}
bool Statement::is_null(int col) const {
    return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}
core::Status Statement::status() const {
    if (rc_ == SQLITE_OK || rc_ == SQLITE_ROW) return {};
    return sql_error(db_, "SQL statement failed");
}

// ---------------------------------------------------------------- Store

core::Result<std::unique_ptr<Store>> Store::open(const std::filesystem::path& dir) {
    if (auto st = core::ensure_private_dir(dir); !st) return st.error();
    const auto path = dir / "serialgate.db";
    // SQLite creates the -wal and -shm files with the database file's mode: make that 0600 first.
    const mode_t old = ::umask(077);
    sqlite3* db = nullptr;
    int rc =
        sqlite3_open_v2(path.c_str(), &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    ::umask(old);
    if (rc != SQLITE_OK) {
        auto err = sql_error(db, "cannot open " + path.string());
        sqlite3_close(db);
        return err;
    }
    ::chmod(path.c_str(), 0600);
    sqlite3_busy_timeout(db, kBusyTimeoutMs);
    std::unique_ptr<Store> store(new Store(db, path));
    for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                               "PRAGMA foreign_keys=ON", "PRAGMA secure_delete=ON"}) {
        // Switching a new database to WAL takes an exclusive lock and may report BUSY without
        // consulting the busy handler while another process does the same: retry for a while.
        auto st = exec(db, pragma);
        for (int tries = 0;
             !st && tries < kBusyTimeoutMs / 20 &&
             (sqlite3_errcode(db) == SQLITE_BUSY || sqlite3_errcode(db) == SQLITE_LOCKED);
             ++tries) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            st = exec(db, pragma);
        }
        if (!st) {
            return core::make_error(core::Errc::store_error,
                                    path.string() + ": " + st.error().message);
        }
    }
    if (auto st = store->migrate(); !st) return st.error();
    return store;
}

Store::Store(sqlite3* db, std::filesystem::path path) : db_(db), path_(std::move(path)) {
    writer_ = std::thread([this] { writer_loop(); });
}

Store::~Store() {
    {
        std::lock_guard lock(queue_mu_);
        stopping_ = true;
    }
    queue_cv_.notify_all();
    writer_.join();
    sqlite3_close_v2(db_);
}

int Store::schema_version() {
    std::lock_guard lock(mu_);
    Statement s(db_, "PRAGMA user_version");
    return s.step() ? static_cast<int>(s.integer(0)) : -1;
}

core::Status Store::migrate() {
    const auto& list = migrations();
    const int current = schema_version();
    if (current < 0) return sql_error(db_, "cannot read schema version");
    if (static_cast<std::size_t>(current) > list.size()) {
        return core::make_error(core::Errc::store_error,
                                path_.string() + " has schema version " + std::to_string(current) +
                                    ", newer than this serialgate knows (" +
                                    std::to_string(list.size()) + "): refusing to touch it");
    }
    for (std::size_t i = static_cast<std::size_t>(current); i < list.size(); ++i) {
        auto st = transaction([&](sqlite3* db) -> core::Status {
            // Another process may have migrated since we looked (two first opens of a new data
            // directory at once): re-read inside the write lock and skip what is done.
            Statement v(db, "PRAGMA user_version");
            if (v.step() && v.integer(0) > static_cast<std::int64_t>(i)) return {};
            if (auto r = exec(db, list[i].sql); !r) {
                return core::make_error(
                    core::Errc::store_error,
                    "migration " + std::string(list[i].name) + ": " + r.error().message);
            }
            return exec(db, "PRAGMA user_version=" + std::to_string(i + 1));
        });
        if (!st) return st;
    }
    return {};
}

core::Status Store::transaction(const std::function<core::Status(sqlite3*)>& fn) {
    std::lock_guard lock(mu_);
    if (auto st = exec(db_, "BEGIN IMMEDIATE"); !st) return st;
    core::Status st = fn(db_);
    if (!st) {
        (void)exec(db_, "ROLLBACK");
        return st;
    }
    if (auto c = exec(db_, "COMMIT"); !c) {
        (void)exec(db_, "ROLLBACK");
        return c;
    }
    return {};
}

void Store::post(std::function<void(sqlite3*)> fn) {
    {
        std::lock_guard lock(queue_mu_);
        queue_.push_back(std::move(fn));
    }
    queue_cv_.notify_one();
}

void Store::flush() {
    std::unique_lock lock(queue_mu_);
    idle_cv_.wait(lock, [&] { return queue_.empty() && !busy_; });
}

void Store::writer_loop() {
    for (;;) {
        std::deque<std::function<void(sqlite3*)>> batch;
        {
            std::unique_lock lock(queue_mu_);
            queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (queue_.empty() && stopping_) return;
            batch.swap(queue_);
            busy_ = true;
        }
        // One transaction per batch: a burst of events costs one fsync, not one each.
        {
            std::lock_guard lock(mu_);
            const bool in_tx = exec(db_, "BEGIN IMMEDIATE").ok();
            for (auto& fn : batch) fn(db_);
            if (in_tx && !exec(db_, "COMMIT").ok()) (void)exec(db_, "ROLLBACK");
        }
        {
            std::lock_guard lock(queue_mu_);
            busy_ = false;
        }
        idle_cv_.notify_all();
    }
}

std::int64_t Store::data_version() {
    std::lock_guard lock(mu_);
    Statement s(db_, "PRAGMA data_version");
    return s.step() ? s.integer(0) : -1;
}

core::Result<std::optional<Store::ConfigRow>> Store::load_config() {
    std::lock_guard lock(mu_);
    Statement s(db_, "SELECT document, revision, updated_at FROM config WHERE id = 1");
    if (s.step()) return std::optional<ConfigRow>(ConfigRow{s.text(0), s.integer(1), s.integer(2)});
    if (auto st = s.status(); !st) return st.error();
    return std::optional<ConfigRow>();
}

core::Result<std::int64_t> Store::save_config(std::string_view document) {
    std::int64_t revision = 0;
    auto st = transaction([&](sqlite3* db) -> core::Status {
        Statement rev(db, "SELECT coalesce(max(revision), 0) + 1 FROM config");
        if (!rev.step()) return rev.status();
        revision = rev.integer(0);
        Statement up(db,
                     "INSERT INTO config (id, document, revision, updated_at) VALUES (1, ?, ?, ?) "
                     "ON CONFLICT(id) DO UPDATE SET document = excluded.document, "
                     "revision = excluded.revision, updated_at = excluded.updated_at");
        up.bind(1, document).bind(2, revision).bind(3, core::now_utc_us());
        up.step();
        return up.status();
    });
    if (!st) return st.error();
    return revision;
}

}  // namespace sg::store
