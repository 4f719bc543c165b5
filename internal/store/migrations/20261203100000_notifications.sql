-- Ours (not Clapshot's): who wants to be told about comments, and the
-- e-mails and webhooks waiting to go out. A delivery is a row before it is
-- attempted, so a restart or crash loses none; failed attempts are retried
-- with backoff. Clapshot ignores these tables; deleting a user deletes
-- their settings and pending deliveries.
CREATE TABLE notify_settings (
    user_id VARCHAR(255) NOT NULL PRIMARY KEY REFERENCES users(id) ON UPDATE CASCADE ON DELETE CASCADE,
    on_comment BOOLEAN NOT NULL DEFAULT 1,   -- someone comments on my media
    on_reply BOOLEAN NOT NULL DEFAULT 1,     -- someone replies to my comment
    on_mention BOOLEAN NOT NULL DEFAULT 1,   -- someone @mentions me
    in_app BOOLEAN NOT NULL DEFAULT 1,       -- in the app's message list
    email VARCHAR,
    email_enabled BOOLEAN NOT NULL DEFAULT 0,
    webhook_url VARCHAR,
    webhook_secret VARCHAR,                  -- HMAC-SHA256 key of the signature header
    updated DATETIME DEFAULT (CURRENT_TIMESTAMP) NOT NULL
);
CREATE TABLE notify_outbox (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    user_id VARCHAR(255) NOT NULL REFERENCES users(id) ON UPDATE CASCADE ON DELETE CASCADE,
    channel VARCHAR NOT NULL,                -- email | webhook
    target VARCHAR NOT NULL,                 -- the address or URL when it was queued
    event VARCHAR NOT NULL,                  -- comment | reply | mention
    payload TEXT NOT NULL,                   -- JSON: what happened
    state VARCHAR NOT NULL DEFAULT 'queued', -- queued | done | failed
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt DATETIME DEFAULT (CURRENT_TIMESTAMP) NOT NULL,
    last_error TEXT,
    created DATETIME DEFAULT (CURRENT_TIMESTAMP) NOT NULL,
    delivered DATETIME
);
CREATE INDEX ix_notify_outbox_due ON notify_outbox (state, next_attempt);
CREATE INDEX ix_notify_outbox_user_id ON notify_outbox (user_id);
