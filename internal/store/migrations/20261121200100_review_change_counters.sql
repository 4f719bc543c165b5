-- Ours (not in Clapshot): change counters. The websocket API keeps the
-- rendered home page and comment lists and reuses them until a counter
-- moves. Triggers count every write, whoever makes it (this server, an
-- organizer plugin with its own connection, or Clapshot itself), so a
-- stale page is never shown.
CREATE TABLE review_change_counters (
    name VARCHAR NOT NULL PRIMARY KEY,  -- 'media' (media files, subtitles) or 'comments'
    n INTEGER NOT NULL DEFAULT 0
);
INSERT INTO review_change_counters (name, n) VALUES ('media', 0), ('comments', 0);

CREATE TRIGGER tr_review_count_media_insert AFTER INSERT ON media_files
BEGIN UPDATE review_change_counters SET n = n + 1 WHERE name = 'media'; END;
CREATE TRIGGER tr_review_count_media_update AFTER UPDATE ON media_files
BEGIN UPDATE review_change_counters SET n = n + 1 WHERE name = 'media'; END;
CREATE TRIGGER tr_review_count_media_delete AFTER DELETE ON media_files
BEGIN UPDATE review_change_counters SET n = n + 1 WHERE name = 'media'; END;

CREATE TRIGGER tr_review_count_subtitles_insert AFTER INSERT ON subtitles
BEGIN UPDATE review_change_counters SET n = n + 1 WHERE name = 'media'; END;
CREATE TRIGGER tr_review_count_subtitles_update AFTER UPDATE ON subtitles
BEGIN UPDATE review_change_counters SET n = n + 1 WHERE name = 'media'; END;
CREATE TRIGGER tr_review_count_subtitles_delete AFTER DELETE ON subtitles
BEGIN UPDATE review_change_counters SET n = n + 1 WHERE name = 'media'; END;

CREATE TRIGGER tr_review_count_comments_insert AFTER INSERT ON comments
BEGIN UPDATE review_change_counters SET n = n + 1 WHERE name = 'comments'; END;
CREATE TRIGGER tr_review_count_comments_update AFTER UPDATE ON comments
BEGIN UPDATE review_change_counters SET n = n + 1 WHERE name = 'comments'; END;
CREATE TRIGGER tr_review_count_comments_delete AFTER DELETE ON comments
BEGIN UPDATE review_change_counters SET n = n + 1 WHERE name = 'comments'; END;
