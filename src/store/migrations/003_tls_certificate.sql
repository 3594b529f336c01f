-- 003_tls_certificate: the active TLS certificate of every TLS listener (guide §3.3; CE-1..CE-4).
-- One row: replaced in one transaction, so a crash leaves the old pair or the new one (ST-5). The
-- key is unencrypted PKCS#8 PEM: the database is 0600 in a 0700 directory and secure_delete is on
-- (CE-4, ST-2); the API never returns this column.
CREATE TABLE tls_certificate (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    cert_pem     TEXT    NOT NULL,       -- leaf first, then its chain
    key_pem      TEXT    NOT NULL,       -- private key, PKCS#8 PEM
    source       TEXT    NOT NULL CHECK (source IN ('system', 'user')),
    installed_at INTEGER NOT NULL        -- µs since the epoch, UTC
);
