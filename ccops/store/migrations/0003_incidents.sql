-- 0003: incidents run from playbooks (issue 4). Timers hold ABSOLUTE due times (epoch
-- seconds) so a restarted daemon knows what is due from the rows alone; the timeline is
-- append-only. The pinned playbook definition is stored with the incident (document), so an
-- edited YAML file never changes an incident already running.
CREATE TABLE incident (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    playbook_id       TEXT NOT NULL,
    playbook_version  INTEGER NOT NULL,
    playbook_digest   TEXT NOT NULL,
    document          TEXT NOT NULL CHECK (json_valid(document)),
    variant           TEXT,
    site              TEXT NOT NULL DEFAULT '',
    is_drill          INTEGER NOT NULL CHECK (is_drill IN (0, 1)),
    status            TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    detected_at       REAL NOT NULL,
    started_at        REAL NOT NULL,
    started_by        TEXT NOT NULL,
    level             INTEGER NOT NULL DEFAULT 0,
    level_started_at  REAL,
    closed_at         REAL,
    closed_by         TEXT,
    parameters        TEXT NOT NULL CHECK (json_valid(parameters)),
    report            TEXT NOT NULL CHECK (json_valid(report))
) STRICT;
CREATE INDEX incident_open ON incident (id) WHERE status = 'open';

CREATE TABLE incident_step (
    incident_id    INTEGER NOT NULL REFERENCES incident (id),
    step_id        TEXT NOT NULL,
    ord            INTEGER NOT NULL,
    kind           TEXT NOT NULL,
    state          TEXT NOT NULL,
    owner          TEXT NOT NULL,
    done_at        REAL,
    done_by        TEXT,
    acked_at       REAL,
    acked_by       TEXT,
    overdue_since  REAL,
    record         TEXT NOT NULL CHECK (json_valid(record)),
    detail         TEXT NOT NULL CHECK (json_valid(detail)),
    PRIMARY KEY (incident_id, step_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE incident_timer (
    incident_id  INTEGER NOT NULL REFERENCES incident (id),
    key          TEXT NOT NULL,
    step_id      TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('deadline', 'watchdog', 'level')),
    state        TEXT NOT NULL
                 CHECK (state IN ('waiting', 'unset', 'armed', 'fired', 'cancelled')),
    due_at       REAL,
    level        INTEGER,
    fired_at     REAL,
    lateness     REAL,
    note         TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (incident_id, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX incident_timer_armed ON incident_timer (due_at) WHERE state = 'armed';

CREATE TABLE incident_notification (
    incident_id  INTEGER NOT NULL REFERENCES incident (id),
    seq          INTEGER NOT NULL,
    step_id      TEXT NOT NULL,
    channel      TEXT NOT NULL CHECK (channel IN ('console', 'phone')),
    target       TEXT NOT NULL,
    sent_at      REAL NOT NULL,
    message      TEXT NOT NULL,
    acked_at     REAL,
    acked_by     TEXT,
    PRIMARY KEY (incident_id, seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE incident_timeline (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id  INTEGER NOT NULL REFERENCES incident (id),
    at           REAL NOT NULL,
    actor        TEXT NOT NULL,
    kind         TEXT NOT NULL,
    step_id      TEXT,
    detail       TEXT NOT NULL,
    data         TEXT NOT NULL CHECK (json_valid(data))
) STRICT;
CREATE INDEX incident_timeline_by_incident ON incident_timeline (incident_id, id);
