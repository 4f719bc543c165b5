-- Ours (not in Clapshot): which media file each 'media' change touched.
-- A rendered home page of thousands of files is then brought up to date
-- by re-reading only the rows written since it was rendered, instead of
-- all of them. The 'media' counter triggers are replaced by ones that
-- also record the file, in the same trigger so the recorded number is
-- always the counter after the change. (An upsert, not INSERT OR REPLACE:
-- in a trigger run by a foreign-key action, the action's ABORT would
-- override REPLACE.)
CREATE TABLE review_media_changes (
    media_file_id VARCHAR NOT NULL PRIMARY KEY,
    n INTEGER NOT NULL  -- the 'media' counter right after the latest change to this file
);
CREATE INDEX review_media_changes_n ON review_media_changes (n);

DROP TRIGGER tr_review_count_media_insert;
DROP TRIGGER tr_review_count_media_update;
DROP TRIGGER tr_review_count_media_delete;
DROP TRIGGER tr_review_count_subtitles_insert;
DROP TRIGGER tr_review_count_subtitles_update;
DROP TRIGGER tr_review_count_subtitles_delete;

CREATE TRIGGER tr_review_count_media_insert AFTER INSERT ON media_files BEGIN
    UPDATE review_change_counters SET n = n + 1 WHERE name = 'media';
    INSERT INTO review_media_changes (media_file_id, n)
        SELECT NEW.id, n FROM review_change_counters WHERE name = 'media'
        ON CONFLICT (media_file_id) DO UPDATE SET n = excluded.n;
END;
CREATE TRIGGER tr_review_count_media_update AFTER UPDATE ON media_files BEGIN
    UPDATE review_change_counters SET n = n + 1 WHERE name = 'media';
    INSERT INTO review_media_changes (media_file_id, n)
        SELECT NEW.id, n FROM review_change_counters WHERE name = 'media'
        ON CONFLICT (media_file_id) DO UPDATE SET n = excluded.n;
    INSERT INTO review_media_changes (media_file_id, n)
        SELECT OLD.id, n FROM review_change_counters WHERE name = 'media' AND OLD.id <> NEW.id
        ON CONFLICT (media_file_id) DO UPDATE SET n = excluded.n;
END;
CREATE TRIGGER tr_review_count_media_delete AFTER DELETE ON media_files BEGIN
    UPDATE review_change_counters SET n = n + 1 WHERE name = 'media';
    INSERT INTO review_media_changes (media_file_id, n)
        SELECT OLD.id, n FROM review_change_counters WHERE name = 'media'
        ON CONFLICT (media_file_id) DO UPDATE SET n = excluded.n;
END;

CREATE TRIGGER tr_review_count_subtitles_insert AFTER INSERT ON subtitles BEGIN
    UPDATE review_change_counters SET n = n + 1 WHERE name = 'media';
    INSERT INTO review_media_changes (media_file_id, n)
        SELECT NEW.media_file_id, n FROM review_change_counters WHERE name = 'media'
        ON CONFLICT (media_file_id) DO UPDATE SET n = excluded.n;
END;
CREATE TRIGGER tr_review_count_subtitles_update AFTER UPDATE ON subtitles BEGIN
    UPDATE review_change_counters SET n = n + 1 WHERE name = 'media';
    INSERT INTO review_media_changes (media_file_id, n)
        SELECT NEW.media_file_id, n FROM review_change_counters WHERE name = 'media'
        ON CONFLICT (media_file_id) DO UPDATE SET n = excluded.n;
    INSERT INTO review_media_changes (media_file_id, n)
        SELECT OLD.media_file_id, n FROM review_change_counters WHERE name = 'media' AND OLD.media_file_id <> NEW.media_file_id
        ON CONFLICT (media_file_id) DO UPDATE SET n = excluded.n;
END;
CREATE TRIGGER tr_review_count_subtitles_delete AFTER DELETE ON subtitles BEGIN
    UPDATE review_change_counters SET n = n + 1 WHERE name = 'media';
    INSERT INTO review_media_changes (media_file_id, n)
        SELECT OLD.media_file_id, n FROM review_change_counters WHERE name = 'media'
        ON CONFLICT (media_file_id) DO UPDATE SET n = excluded.n;
END;
