-- PostgreSQL twin of ../20240522163000_add_media_type.sql: "videos"
-- becomes "media_files" with a media type and thumbnail state.
CREATE TABLE media_types (
    id VARCHAR NOT NULL PRIMARY KEY
);
INSERT INTO media_types (id) VALUES ('video'), ('audio'), ('image');

ALTER TABLE videos ADD COLUMN media_type VARCHAR DEFAULT NULL;
ALTER TABLE videos ADD CONSTRAINT videos_media_type_fkey FOREIGN KEY (media_type) REFERENCES media_types (id) ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE videos ADD COLUMN thumbs_done TIMESTAMP DEFAULT NULL;
ALTER TABLE videos ADD COLUMN has_thumbnail BOOLEAN DEFAULT NULL;
UPDATE videos SET media_type = 'video';
UPDATE videos SET thumbs_done = COALESCE(recompression_done, added_time) WHERE thumb_sheet_cols IS NOT NULL;
UPDATE videos SET has_thumbnail = true WHERE thumb_sheet_cols IS NOT NULL;

-- References to the table (and its index names) follow the rename.
ALTER TABLE videos RENAME TO media_files;
CREATE INDEX ix_media_files_thumbs_done ON media_files (thumbs_done);

ALTER TABLE comments RENAME COLUMN video_id TO media_file_id;
CREATE INDEX ix_comments_media_file_id ON comments (media_file_id);

ALTER TABLE messages RENAME COLUMN video_id TO media_file_id;
DROP INDEX ix_messages_video_id;
CREATE INDEX ix_messages_media_file_id ON messages (media_file_id);
