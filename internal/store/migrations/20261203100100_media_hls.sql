-- Ours (not Clapshot's): the adaptive HLS ladder made for a media file
-- (--hls-ladder), played from videos/<id>/hls/master.m3u8. A row exists
-- once the ladder is complete. Clapshot ignores this table; deleting a
-- media file (in either server) deletes its row.
CREATE TABLE media_hls (
    media_file_id VARCHAR(255) NOT NULL PRIMARY KEY REFERENCES media_files(id) ON UPDATE CASCADE ON DELETE CASCADE,
    renditions TEXT NOT NULL,  -- JSON: [{"name": "720p", "width": 1280, "height": 720, "bitrate": 2800000}, ...]
    done DATETIME DEFAULT (CURRENT_TIMESTAMP) NOT NULL
);
