-- Clapshot 2023-04-18-190209_change_video_primkey: the content hash becomes
-- the video's primary key "id" and the integer key goes away; the sprite
-- sheet "COLSxROWS" string is split into two integers.
--
-- The integer id is renamed out of the way first, so that renaming the hash
-- column to "id" makes SQLite rewrite the comments' foreign key for us.
ALTER TABLE videos RENAME COLUMN id TO old_id;
ALTER TABLE videos RENAME COLUMN video_hash TO id;
ALTER TABLE comments RENAME COLUMN video_hash TO video_id;
ALTER TABLE messages RENAME COLUMN ref_video_hash TO ref_video_id;

CREATE TABLE videos_new (
    id VARCHAR NOT NULL PRIMARY KEY,
    added_by_userid VARCHAR NOT NULL,
    added_by_username VARCHAR NOT NULL,
    added_time DATETIME DEFAULT (CURRENT_TIMESTAMP) NOT NULL,
    recompression_done DATETIME,
    orig_filename VARCHAR,
    total_frames INTEGER,
    duration FLOAT,
    fps VARCHAR,
    raw_metadata_all VARCHAR,
    title VARCHAR(255),
    thumb_sheet_cols INTEGER,
    thumb_sheet_rows INTEGER
);
INSERT INTO videos_new (id, added_by_userid, added_by_username, added_time, recompression_done,
        orig_filename, total_frames, duration, fps, raw_metadata_all, title,
        thumb_sheet_cols, thumb_sheet_rows)
    SELECT id, added_by_userid, added_by_username, added_time, recompression_done,
        orig_filename, total_frames, duration, fps, raw_metadata_all, title,
        CAST(substr(thumb_sheet_dims, 1, instr(thumb_sheet_dims, 'x') - 1) AS INTEGER),
        CAST(substr(thumb_sheet_dims, instr(thumb_sheet_dims, 'x') + 1) AS INTEGER)
    FROM videos;
DROP TABLE videos;
ALTER TABLE videos_new RENAME TO videos;
CREATE INDEX ix_video_added_by_userid ON videos (added_by_userid);
