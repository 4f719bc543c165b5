-- Clapshot 2024-05-13-093800_add_users_table: a users table that the other
-- tables reference by id. Comments keep the author's name in username_ifnull
-- and a nullable user_id, so they survive the user's deletion.
--
-- All three tables are rebuilt. The old ones stay until every copy is done,
-- so no cascade can fire on rows that were not copied yet.
CREATE TABLE users (
    id VARCHAR(255) NOT NULL PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    created DATETIME DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO users (id, name)
    SELECT DISTINCT user_id, user_name FROM videos WHERE user_id IS NOT NULL AND user_name IS NOT NULL;
INSERT OR IGNORE INTO users (id, name)
    SELECT DISTINCT user_id, user_name FROM comments WHERE user_name IS NOT NULL;
INSERT OR IGNORE INTO users (id, name)
    SELECT DISTINCT user_id, user_id FROM messages WHERE user_id IS NOT NULL;

CREATE TABLE videos_new (
    id VARCHAR NOT NULL,
    user_id VARCHAR(255) NOT NULL REFERENCES users (id) ON DELETE RESTRICT ON UPDATE CASCADE,
    added_time DATETIME DEFAULT (CURRENT_TIMESTAMP) NOT NULL,
    recompression_done DATETIME,
    orig_filename VARCHAR,
    total_frames INTEGER,
    duration FLOAT,
    fps VARCHAR,
    raw_metadata_all VARCHAR,
    title VARCHAR(255),
    thumb_sheet_cols INTEGER,
    thumb_sheet_rows INTEGER,
    PRIMARY KEY (id)
);
-- The column type of comments.user_id really is "user_id VARCHAR(255)":
-- Clapshot declared it with the name twice and existing databases carry it.
CREATE TABLE comments_new (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    video_id VARCHAR NOT NULL REFERENCES videos(id) ON UPDATE CASCADE ON DELETE CASCADE,
    parent_id INTEGER REFERENCES comments(id) ON UPDATE CASCADE ON DELETE CASCADE,
    created DATETIME DEFAULT (CURRENT_TIMESTAMP) NOT NULL,
    edited DATETIME,
    user_id user_id VARCHAR(255) NULL REFERENCES users (id) ON DELETE SET NULL ON UPDATE CASCADE,
    username_ifnull VARCHAR(255) NOT NULL,
    comment VARCHAR NOT NULL,
    timecode VARCHAR,
    drawing VARCHAR
);
CREATE TABLE messages_new (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    user_id VARCHAR(255) NOT NULL REFERENCES users (id) ON DELETE CASCADE ON UPDATE CASCADE,
    created DATETIME DEFAULT (CURRENT_TIMESTAMP) NOT NULL,
    seen BOOLEAN NOT NULL,
    video_id VARCHAR,  -- no foreign key: messages outlive the video they mention
    comment_id INTEGER REFERENCES comments (id) ON UPDATE CASCADE ON DELETE CASCADE,
    event_name VARCHAR NOT NULL,
    message VARCHAR NOT NULL,
    details VARCHAR NOT NULL
);

INSERT INTO videos_new (id, user_id, added_time, recompression_done, orig_filename, total_frames,
        duration, fps, raw_metadata_all, title, thumb_sheet_cols, thumb_sheet_rows)
    SELECT id, user_id, added_time, recompression_done, orig_filename, total_frames,
        duration, fps, raw_metadata_all, title, thumb_sheet_cols, thumb_sheet_rows FROM videos;
INSERT INTO comments_new (id, video_id, parent_id, created, edited, user_id, username_ifnull, comment, timecode, drawing)
    SELECT id, video_id, parent_id, created, edited, user_id, user_name, comment, timecode, drawing FROM comments;
INSERT INTO messages_new (id, user_id, created, seen, video_id, comment_id, event_name, message, details)
    SELECT id, user_id, created, seen, video_id, comment_id, event_name, message, details FROM messages;

DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;
DROP TABLE comments;
ALTER TABLE comments_new RENAME TO comments;
DROP TABLE videos;
ALTER TABLE videos_new RENAME TO videos;

CREATE INDEX ix_comments_user_id ON comments (user_id);
CREATE INDEX ix_comments_parent_id ON comments (parent_id);
CREATE INDEX ix_messages_user_id ON messages (user_id);
CREATE INDEX ix_messages_comment_id ON messages (comment_id);
CREATE INDEX ix_messages_video_id ON messages (video_id);
CREATE INDEX ix_video_user_id ON videos (user_id);
CREATE INDEX ix_video_added_time ON videos (added_time);

-- A deleted user's comments keep showing the name they were written under.
CREATE TRIGGER tr_comments_set_username_on_user_delete AFTER DELETE ON users
BEGIN
    UPDATE comments SET username_ifnull = OLD.name WHERE user_id = OLD.id;
END;
