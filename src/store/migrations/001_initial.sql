-- 001_initial: configuration document, accounts, event log.
-- The configuration is one validated document (config/yaml.h schema), replaced in one transaction:
-- a reader sees the old or the new document, never a mix (issue 3 §4).
CREATE TABLE config (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    document   TEXT    NOT NULL,
    revision   INTEGER NOT NULL,
    updated_at INTEGER NOT NULL          -- µs since the epoch, UTC
);

CREATE TABLE accounts (
    name                TEXT    PRIMARY KEY,
    group_name          TEXT    NOT NULL,
    password_hash       TEXT    NOT NULL,  -- Argon2id, libsodium crypto_pwhash_str format
    active              INTEGER NOT NULL DEFAULT 1,
    created_at          INTEGER NOT NULL,
    password_changed_at INTEGER NOT NULL
);

CREATE TABLE events (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    time_us  INTEGER NOT NULL,           -- µs since the epoch, UTC
    type     TEXT    NOT NULL,           -- events/catalog.h key
    category INTEGER NOT NULL,
    severity INTEGER NOT NULL,           -- 1 error .. 4 informational
    port     INTEGER,
    account  TEXT    NOT NULL DEFAULT '',
    source   TEXT    NOT NULL DEFAULT '',
    message  TEXT    NOT NULL
);
CREATE INDEX events_type ON events(type);
