-- 0001: the first schema (issue: store, audit, commands).
-- Applied inside one transaction by ccops.store.migrate; do not add BEGIN/COMMIT here.
-- Tables are STRICT so a wrong type is an error, not a silent conversion.

-- Small daemon facts: instance id, the last audit anchor printed, ...
CREATE TABLE meta (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  REAL NOT NULL
) STRICT;

-- Per-queue interval buckets; counters is a JSON object the KPI engine owns.
CREATE TABLE kpi_bucket (
    pbx             TEXT NOT NULL,
    queue           TEXT NOT NULL,
    bucket_start    INTEGER NOT NULL,
    bucket_seconds  INTEGER NOT NULL CHECK (bucket_seconds > 0),
    counters        TEXT NOT NULL CHECK (json_valid(counters)),
    updated_at      REAL NOT NULL,
    PRIMARY KEY (pbx, queue, bucket_start)
) STRICT, WITHOUT ROWID;
CREATE INDEX kpi_bucket_by_start ON kpi_bucket (bucket_start);

-- Closed spans an agent spent in one state.
CREATE TABLE agent_interval (
    id          INTEGER PRIMARY KEY,
    pbx         TEXT NOT NULL,
    interface   TEXT NOT NULL,
    queue       TEXT,
    state       TEXT NOT NULL,
    reason      TEXT,
    started_at  REAL NOT NULL,
    ended_at    REAL NOT NULL,
    CHECK (ended_at >= started_at)
) STRICT;
CREATE INDEX agent_interval_by_start ON agent_interval (started_at);

-- One row per alert occurrence: raised, maybe acknowledged, maybe cleared.
CREATE TABLE alert (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    rule        TEXT NOT NULL,
    scope       TEXT NOT NULL,
    severity    TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    message     TEXT NOT NULL,
    value       REAL,
    raised_at   REAL NOT NULL,
    cleared_at  REAL,
    acked_at    REAL,
    acked_by    TEXT
) STRICT;
CREATE INDEX alert_by_raised ON alert (raised_at);
CREATE INDEX alert_open ON alert (id) WHERE cleared_at IS NULL;

-- PBX link up/down history.
CREATE TABLE pbx_link_event (
    id      INTEGER PRIMARY KEY,
    pbx     TEXT NOT NULL,
    at      REAL NOT NULL,
    state   TEXT NOT NULL,
    detail  TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX pbx_link_event_by_at ON pbx_link_event (at);

-- Every performed command, written as 'pending' and committed BEFORE it is sent to the
-- PBX. A row still 'pending' after a crash becomes 'in_doubt': it is never re-sent.
CREATE TABLE command_journal (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           REAL NOT NULL,
    operator     TEXT NOT NULL,
    role         TEXT NOT NULL,
    session_id   TEXT NOT NULL,
    via          TEXT NOT NULL,
    command      TEXT NOT NULL,
    params       TEXT NOT NULL CHECK (json_valid(params)),
    status       TEXT NOT NULL CHECK (status IN ('pending', 'ok', 'failed', 'in_doubt')),
    finished_at  REAL,
    detail       TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX command_journal_pending ON command_journal (id) WHERE status = 'pending';

-- How to reverse a change (routing toggles, membership, pauses); open while closed_at
-- is NULL. A later successful command on the same subject supersedes (closes) it.
CREATE TABLE undo_record (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    journal_id             INTEGER NOT NULL REFERENCES command_journal (id),
    at                     REAL NOT NULL,
    operator               TEXT NOT NULL,
    pbx                    TEXT,
    subject                TEXT NOT NULL,
    action                 TEXT NOT NULL,
    params                 TEXT NOT NULL CHECK (json_valid(params)),
    undo_command           TEXT NOT NULL,
    undo_params            TEXT NOT NULL CHECK (json_valid(undo_params)),
    value                  TEXT,
    previous_value         TEXT,
    expected_duration_min  INTEGER,
    due_at                 REAL,
    closed_at              REAL,
    close_reason           TEXT,
    closed_by_journal      INTEGER REFERENCES command_journal (id)
) STRICT;
CREATE INDEX undo_open_by_subject ON undo_record (subject) WHERE closed_at IS NULL;

-- The audit log: append-only and hash-chained (ccops.core.audit). seq is assigned by the
-- store as head + 1; the triggers below refuse UPDATE, DELETE and out-of-order INSERTs, so
-- even a careless admin with the sqlite3 shell cannot change history without first
-- dropping a trigger, and the chain (ccops audit verify) still shows what they did.
CREATE TABLE audit (
    seq           INTEGER PRIMARY KEY CHECK (seq >= 1),
    at            REAL NOT NULL,
    operator      TEXT NOT NULL,
    role          TEXT NOT NULL,
    session_id    TEXT NOT NULL,
    via           TEXT NOT NULL,
    action        TEXT NOT NULL,
    params        TEXT NOT NULL CHECK (json_valid(params)),
    result        TEXT NOT NULL CHECK (result IN ('ok', 'refused', 'failed')),
    detail        TEXT NOT NULL,
    pbx_response  TEXT CHECK (pbx_response IS NULL OR json_valid(pbx_response)),
    readback      TEXT CHECK (readback IS NULL OR json_valid(readback)),
    journal_id    INTEGER REFERENCES command_journal (id),
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL UNIQUE
) STRICT;

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit log is append-only: UPDATE refused');
END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit log is append-only: DELETE refused');
END;

CREATE TRIGGER audit_append_at_head BEFORE INSERT ON audit
WHEN NEW.seq <> (SELECT COALESCE(MAX(seq), 0) + 1 FROM audit)
  OR NEW.prev_hash <> COALESCE(
        (SELECT hash FROM audit ORDER BY seq DESC LIMIT 1),
        '0000000000000000000000000000000000000000000000000000000000000000')
BEGIN
    SELECT RAISE(ABORT, 'audit log is append-only: insert must follow the head');
END;
