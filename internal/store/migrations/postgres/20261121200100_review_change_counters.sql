-- PostgreSQL twin of ../20261121200100_review_change_counters.sql: change
-- counters moved by triggers on every write, whoever makes it.
CREATE TABLE review_change_counters (
    name VARCHAR NOT NULL PRIMARY KEY,
    n BIGINT NOT NULL DEFAULT 0
);
INSERT INTO review_change_counters (name, n) VALUES ('media', 0), ('comments', 0);

-- TG_ARGV[0] is the counter's name.
CREATE FUNCTION review_count_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE review_change_counters SET n = n + 1 WHERE name = TG_ARGV[0];
    RETURN NULL;
END $$;

CREATE TRIGGER tr_review_count_media_insert AFTER INSERT ON media_files FOR EACH ROW EXECUTE FUNCTION review_count_change('media');
CREATE TRIGGER tr_review_count_media_update AFTER UPDATE ON media_files FOR EACH ROW EXECUTE FUNCTION review_count_change('media');
CREATE TRIGGER tr_review_count_media_delete AFTER DELETE ON media_files FOR EACH ROW EXECUTE FUNCTION review_count_change('media');

CREATE TRIGGER tr_review_count_subtitles_insert AFTER INSERT ON subtitles FOR EACH ROW EXECUTE FUNCTION review_count_change('media');
CREATE TRIGGER tr_review_count_subtitles_update AFTER UPDATE ON subtitles FOR EACH ROW EXECUTE FUNCTION review_count_change('media');
CREATE TRIGGER tr_review_count_subtitles_delete AFTER DELETE ON subtitles FOR EACH ROW EXECUTE FUNCTION review_count_change('media');

CREATE TRIGGER tr_review_count_comments_insert AFTER INSERT ON comments FOR EACH ROW EXECUTE FUNCTION review_count_change('comments');
CREATE TRIGGER tr_review_count_comments_update AFTER UPDATE ON comments FOR EACH ROW EXECUTE FUNCTION review_count_change('comments');
CREATE TRIGGER tr_review_count_comments_delete AFTER DELETE ON comments FOR EACH ROW EXECUTE FUNCTION review_count_change('comments');
