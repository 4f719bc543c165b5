-- Clapshot 2023-04-17-100000_cleanup_foreign_keys: messages must outlive the
-- video or comment they mention, so their references stop being foreign keys.
-- SQLite cannot drop a constraint, hence the copy.
CREATE TABLE messages_new (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    user_id VARCHAR NOT NULL,
    created DATETIME DEFAULT (CURRENT_TIMESTAMP) NOT NULL,
    seen BOOLEAN NOT NULL,
    ref_video_hash VARCHAR,
    ref_comment_id INTEGER,
    event_name VARCHAR NOT NULL,
    message VARCHAR NOT NULL,
    details VARCHAR NOT NULL
);
INSERT INTO messages_new (id, user_id, created, seen, ref_video_hash, ref_comment_id, event_name, message, details)
    SELECT id, user_id, created, seen, ref_video_hash, ref_comment_id, event_name, message, details FROM messages;
DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;
