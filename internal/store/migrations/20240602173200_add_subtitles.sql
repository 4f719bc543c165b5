-- Clapshot 2024-06-02-173200_add_subtitles: subtitle tracks per media file,
-- which comments and messages may refer to.
CREATE TABLE subtitles (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    media_file_id VARCHAR(255) NOT NULL REFERENCES media_files(id) ON UPDATE CASCADE ON DELETE CASCADE,
    title VARCHAR NOT NULL,           -- e.g. "English CC" or "SFX cues"
    language_code VARCHAR(10),
    filename VARCHAR,                 -- the WebVTT file played; NULL when the original is WebVTT
    orig_filename VARCHAR NOT NULL,   -- as uploaded, in whatever format
    added_time DATETIME DEFAULT (CURRENT_TIMESTAMP) NOT NULL,
    time_offset FLOAT DEFAULT 0 NOT NULL,  -- seconds added to every cue, may be negative
    UNIQUE (media_file_id, filename)
);
CREATE INDEX ix_subtitles_media_file_id ON subtitles (media_file_id);

ALTER TABLE comments ADD COLUMN subtitle_id INTEGER REFERENCES subtitles(id) ON UPDATE CASCADE ON DELETE SET NULL;
-- Remembers which subtitle a comment was about after the subtitle is deleted.
ALTER TABLE comments ADD COLUMN subtitle_filename_ifnull VARCHAR;
CREATE TRIGGER tr_comments_set_filename_on_subtitle_delete BEFORE DELETE ON subtitles
FOR EACH ROW BEGIN
    UPDATE comments SET subtitle_filename_ifnull = OLD.orig_filename WHERE subtitle_id = OLD.id;
END;
CREATE INDEX ix_comments_subtitle_id ON comments (subtitle_id);

ALTER TABLE messages ADD COLUMN subtitle_id INTEGER;  -- no foreign key, as for media_file_id
ALTER TABLE media_files ADD COLUMN default_subtitle_id INTEGER DEFAULT NULL REFERENCES subtitles(id) ON UPDATE CASCADE ON DELETE SET NULL;
