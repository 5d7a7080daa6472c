-- 0002: per-agent interval buckets (calls, talk, hold, seconds per state), so agent
-- occupancy and pause-by-reason figures for today survive a daemon restart.
CREATE TABLE agent_bucket (
    pbx             TEXT NOT NULL,
    interface       TEXT NOT NULL,
    bucket_start    INTEGER NOT NULL,
    bucket_seconds  INTEGER NOT NULL CHECK (bucket_seconds > 0),
    counters        TEXT NOT NULL CHECK (json_valid(counters)),
    updated_at      REAL NOT NULL,
    PRIMARY KEY (pbx, interface, bucket_start)
) STRICT, WITHOUT ROWID;
CREATE INDEX agent_bucket_by_start ON agent_bucket (bucket_start);
