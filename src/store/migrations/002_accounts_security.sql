-- 002_accounts_security: groups with per-area privileges, forced password change, persistent
-- login lockout (issue 4; guide §3.4; AZ-1, PW-5, IA-6). Owned by security/accounts/.

-- PW-5: set when an administrator sets the password; cleared by the owner's own change.
ALTER TABLE accounts ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;

-- Built-in groups (builtin = 1) cannot be changed or deleted. accounts.group_name names one of
-- these; the code checks it in the same transaction as every change (SQLite cannot add a foreign
-- key to an existing column without rebuilding the table).
CREATE TABLE groups (
    name    TEXT    PRIMARY KEY,
    builtin INTEGER NOT NULL DEFAULT 0
);

-- One row per group and menu area (device ref. §7); a missing row reads as hidden.
CREATE TABLE group_privileges (
    group_name TEXT NOT NULL REFERENCES groups(name) ON DELETE CASCADE,
    area       TEXT NOT NULL CHECK (area IN ('overview', 'system', 'network', 'serial', 'security',
                                             'accounts', 'diagnostics', 'maintenance',
                                             'administration')),
    access     TEXT NOT NULL CHECK (access IN ('hidden', 'read_only', 'read_write')),
    PRIMARY KEY (group_name, area)
);

INSERT INTO groups (name, builtin) VALUES ('Administrator', 1), ('Operator', 1);
-- Administrator: everything. Operator: everything but Security and Account Management (guide §3.4).
INSERT INTO group_privileges (group_name, area, access) VALUES
    ('Administrator', 'overview', 'read_write'),
    ('Administrator', 'system', 'read_write'),
    ('Administrator', 'network', 'read_write'),
    ('Administrator', 'serial', 'read_write'),
    ('Administrator', 'security', 'read_write'),
    ('Administrator', 'accounts', 'read_write'),
    ('Administrator', 'diagnostics', 'read_write'),
    ('Administrator', 'maintenance', 'read_write'),
    ('Administrator', 'administration', 'read_write'),
    ('Operator', 'overview', 'read_write'),
    ('Operator', 'system', 'read_write'),
    ('Operator', 'network', 'read_write'),
    ('Operator', 'serial', 'read_write'),
    ('Operator', 'security', 'hidden'),
    ('Operator', 'accounts', 'hidden'),
    ('Operator', 'diagnostics', 'read_write'),
    ('Operator', 'maintenance', 'read_write'),
    ('Operator', 'administration', 'read_write');

-- IA-6: failed logins per name, so a lock survives a restart. Names that are not accounts are kept
-- too (bounded by the code), so that they lock like real ones and a 423 does not reveal which names
-- exist (IA-5); hence no foreign key to accounts. Times in µs since the epoch, UTC.
CREATE TABLE login_failures (
    account         TEXT    PRIMARY KEY,
    failures        INTEGER NOT NULL,
    window_start_us INTEGER NOT NULL,
    locked_until_us INTEGER NOT NULL DEFAULT 0
);
