-- PostgreSQL twin of ../20261121200200_review_media_changes.sql: which
-- media file each 'media' change touched. The 'media' triggers are
-- replaced by ones that also record the file, with the counter's value
-- right after the change.
CREATE TABLE review_media_changes (
    media_file_id VARCHAR NOT NULL PRIMARY KEY,
    n BIGINT NOT NULL
);
CREATE INDEX review_media_changes_n ON review_media_changes (n);

DROP TRIGGER tr_review_count_media_insert ON media_files;
DROP TRIGGER tr_review_count_media_update ON media_files;
DROP TRIGGER tr_review_count_media_delete ON media_files;
DROP TRIGGER tr_review_count_subtitles_insert ON subtitles;
DROP TRIGGER tr_review_count_subtitles_update ON subtitles;
DROP TRIGGER tr_review_count_subtitles_delete ON subtitles;

-- Moves the 'media' counter and records it against the media file(s) the
-- row belongs to. TG_ARGV[0] is the column holding the media file id:
-- 'id' on media_files, 'media_file_id' on subtitles.
CREATE FUNCTION review_media_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    counter BIGINT;
    new_id VARCHAR;
    old_id VARCHAR;
BEGIN
    UPDATE review_change_counters SET n = n + 1 WHERE name = 'media' RETURNING n INTO counter;
    IF TG_OP <> 'DELETE' THEN
        new_id := to_jsonb(NEW) ->> TG_ARGV[0];
    END IF;
    IF TG_OP <> 'INSERT' THEN
        old_id := to_jsonb(OLD) ->> TG_ARGV[0];
    END IF;
    IF new_id IS NOT NULL THEN
        INSERT INTO review_media_changes (media_file_id, n) VALUES (new_id, counter)
            ON CONFLICT (media_file_id) DO UPDATE SET n = excluded.n;
    END IF;
    IF old_id IS NOT NULL AND old_id IS DISTINCT FROM new_id THEN
        INSERT INTO review_media_changes (media_file_id, n) VALUES (old_id, counter)
            ON CONFLICT (media_file_id) DO UPDATE SET n = excluded.n;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER tr_review_count_media_insert AFTER INSERT ON media_files FOR EACH ROW EXECUTE FUNCTION review_media_changed('id');
CREATE TRIGGER tr_review_count_media_update AFTER UPDATE ON media_files FOR EACH ROW EXECUTE FUNCTION review_media_changed('id');
CREATE TRIGGER tr_review_count_media_delete AFTER DELETE ON media_files FOR EACH ROW EXECUTE FUNCTION review_media_changed('id');

CREATE TRIGGER tr_review_count_subtitles_insert AFTER INSERT ON subtitles FOR EACH ROW EXECUTE FUNCTION review_media_changed('media_file_id');
CREATE TRIGGER tr_review_count_subtitles_update AFTER UPDATE ON subtitles FOR EACH ROW EXECUTE FUNCTION review_media_changed('media_file_id');
CREATE TRIGGER tr_review_count_subtitles_delete AFTER DELETE ON subtitles FOR EACH ROW EXECUTE FUNCTION review_media_changed('media_file_id');
