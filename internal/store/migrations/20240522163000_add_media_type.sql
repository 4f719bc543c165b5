-- Clapshot 2024-05-22-163000_add_media_type: audio and images join video, so
-- "videos" becomes "media_files" with a media type and thumbnail state.
CREATE TABLE media_types (
    id VARCHAR(32) NOT NULL PRIMARY KEY
);
INSERT INTO media_types (id) VALUES ('video'), ('audio'), ('image');

ALTER TABLE videos ADD COLUMN media_type VARCHAR(32) DEFAULT NULL REFERENCES media_types (id) ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE videos ADD COLUMN thumbs_done DATETIME DEFAULT NULL;
ALTER TABLE videos ADD COLUMN has_thumbnail BOOLEAN DEFAULT NULL;
UPDATE videos SET media_type = 'video';
-- Everything ingested before had a sprite sheet exactly when it had thumbnails.
UPDATE videos SET thumbs_done = COALESCE(recompression_done, added_time) WHERE thumb_sheet_cols IS NOT NULL;
UPDATE videos SET has_thumbnail = true WHERE thumb_sheet_cols IS NOT NULL;

-- Migrations run with foreign_keys=OFF and legacy_alter_table=ON (as
-- Clapshot's did). In that mode a rename leaves other tables' references to
-- "videos" untouched, so tables we do not own (basic_folders'
-- bf_folder_items of Clapshot 0.6.1, which referenced videos) would point at
-- a table that no longer exists, and the foreign key check after migrating
-- would fail unless their organizer rebuilt them in between. This one
-- rename runs in SQLite's modern mode, which rewrites every reference (and
-- any trigger or view) to media_files; the flag is set back right after.
-- Our own tables' final text does not change: comments is rebuilt below.
PRAGMA legacy_alter_table = OFF;
ALTER TABLE videos RENAME TO media_files;
PRAGMA legacy_alter_table = ON;
CREATE INDEX IF NOT EXISTS ix_media_files_thumbs_done ON media_files (thumbs_done);

DROP INDEX IF EXISTS ix_comments_user_id;
DROP INDEX IF EXISTS ix_comments_parent_id;
CREATE TABLE comments_new (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    media_file_id VARCHAR NOT NULL REFERENCES media_files(id) ON UPDATE CASCADE ON DELETE CASCADE,
    parent_id INTEGER REFERENCES comments(id) ON UPDATE CASCADE ON DELETE CASCADE,
    created DATETIME DEFAULT (CURRENT_TIMESTAMP) NOT NULL,
    edited DATETIME,
    user_id user_id VARCHAR(255) NULL REFERENCES users (id) ON DELETE SET NULL ON UPDATE CASCADE,
    username_ifnull VARCHAR(255) NOT NULL,
    comment VARCHAR NOT NULL,
    timecode VARCHAR,
    drawing VARCHAR
);
INSERT INTO comments_new (id, media_file_id, parent_id, created, edited, user_id, username_ifnull, comment, timecode, drawing)
    SELECT id, video_id, parent_id, created, edited, user_id, username_ifnull, comment, timecode, drawing FROM comments;
DROP TABLE comments;
ALTER TABLE comments_new RENAME TO comments;
CREATE INDEX IF NOT EXISTS ix_comments_user_id ON comments (user_id);
CREATE INDEX IF NOT EXISTS ix_comments_parent_id ON comments (parent_id);
CREATE INDEX IF NOT EXISTS ix_comments_media_file_id ON comments (media_file_id);

-- messages.video_id is not a foreign key, so a plain rename is enough.
ALTER TABLE messages RENAME COLUMN video_id TO media_file_id;
DROP INDEX IF EXISTS ix_messages_video_id;
CREATE INDEX IF NOT EXISTS ix_messages_media_file_id ON messages (media_file_id);
