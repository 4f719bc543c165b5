-- PostgreSQL twin of ../20261203100100_media_hls.sql: the adaptive HLS
-- ladder made for a media file (--hls-ladder).
CREATE TABLE media_hls (
    media_file_id VARCHAR NOT NULL PRIMARY KEY REFERENCES media_files (id) ON UPDATE CASCADE ON DELETE CASCADE,
    renditions TEXT NOT NULL,
    done TIMESTAMP DEFAULT (now() AT TIME ZONE 'UTC') NOT NULL
);
