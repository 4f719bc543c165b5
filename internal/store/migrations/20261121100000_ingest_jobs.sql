-- Ours (not Clapshot's): the media pipeline's durable job queue. Every
-- upload, incoming file, transcode and thumbnail run is a row here, so a
-- crash or kill -9 loses nothing: unfinished jobs run again at start-up.
-- Clapshot ignores this table; deleting a media file (in either server)
-- deletes its jobs.
CREATE TABLE ingest_jobs (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    kind VARCHAR NOT NULL,            -- ingest | transcode | thumbs
    media_file_id VARCHAR(255) REFERENCES media_files(id) ON UPDATE CASCADE ON DELETE CASCADE,
    user_id VARCHAR(255) NOT NULL,    -- who is told about it (no foreign key: the user may not exist yet)
    state VARCHAR NOT NULL DEFAULT 'queued',  -- queued | running | done | failed
    priority INTEGER NOT NULL DEFAULT 0,      -- lower runs first; back-fill work is 1
    spec TEXT NOT NULL,               -- JSON: what to do
    attempts INTEGER NOT NULL DEFAULT 0,
    outputs TEXT,                     -- JSON list of files the running attempt writes
    pid INTEGER,                      -- process group of the running attempt
    pid_start INTEGER,                -- its start time (clock ticks after boot), against pid reuse
    log TEXT,                         -- tail of the tool's stderr
    error TEXT,
    created DATETIME DEFAULT (CURRENT_TIMESTAMP) NOT NULL,
    updated DATETIME DEFAULT (CURRENT_TIMESTAMP) NOT NULL
);
CREATE INDEX ix_ingest_jobs_state ON ingest_jobs (state, priority, id);
CREATE INDEX ix_ingest_jobs_media_file_id ON ingest_jobs (media_file_id);
