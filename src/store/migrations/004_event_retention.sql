-- 004_event_retention: per-category row counts and overwrite counters of the event log (issue 14
-- item 8; AU-3). events/log.cpp keeps at most 10,000 rows; when it must drop one it takes the
-- oldest row of a category other than Security while Security holds no more than its own share,
-- so noise a stranger can cause cannot push the audit trail out. `kept` lets it decide without
-- counting rows at each insert; `overwritten` counts, per category, the rows dropped to make
-- room (AU-3: "overwrite count ... visible"), committed with the drop, so it survives a restart
-- and kill -9. Upgrading an existing database counts the rows it already holds.
CREATE TABLE event_retention (
    category    INTEGER PRIMARY KEY,         -- events.category: 0 system .. 4 serial
    kept        INTEGER NOT NULL DEFAULT 0,  -- rows in events now
    overwritten INTEGER NOT NULL DEFAULT 0   -- rows dropped to make room, since this migration
);
INSERT INTO event_retention (category) VALUES (0), (1), (2), (3), (4);
UPDATE event_retention
   SET kept = (SELECT count(*) FROM events WHERE events.category = event_retention.category);

-- Kept true by the database itself, whoever inserts or deletes (a future "clear log" included).
CREATE TRIGGER events_kept_insert AFTER INSERT ON events BEGIN
    INSERT OR IGNORE INTO event_retention (category) VALUES (NEW.category);
    UPDATE event_retention SET kept = kept + 1 WHERE category = NEW.category;
END;
CREATE TRIGGER events_kept_delete AFTER DELETE ON events BEGIN
    UPDATE event_retention SET kept = kept - 1 WHERE category = OLD.category;
END;

-- The oldest row of one category in O(log n): min(id) ... WHERE category = ?.
CREATE INDEX events_category ON events(category, id);
