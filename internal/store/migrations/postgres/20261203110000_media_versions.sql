-- PostgreSQL twin of ../20261203110000_media_versions.sql: version stacks.
CREATE TABLE media_versions (
    media_file_id VARCHAR NOT NULL PRIMARY KEY REFERENCES media_files (id) ON UPDATE CASCADE ON DELETE CASCADE,
    stack_id VARCHAR NOT NULL,
    version BIGINT NOT NULL,
    state VARCHAR NOT NULL DEFAULT 'ready',
    added TIMESTAMP DEFAULT (now() AT TIME ZONE 'UTC') NOT NULL,
    UNIQUE (stack_id, version)
);

-- A change to a stack changes which file stands for it in listings: the
-- 'media' counter moves and every member of the stack(s) the row was or
-- is in is recorded as changed, and so is a deleted row's own file.
CREATE FUNCTION review_versions_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    counter BIGINT;
    stacks VARCHAR[];
BEGIN
    UPDATE review_change_counters SET n = n + 1 WHERE name = 'media' RETURNING n INTO counter;
    IF TG_OP = 'INSERT' THEN
        stacks := ARRAY[NEW.stack_id];
    ELSIF TG_OP = 'UPDATE' THEN
        stacks := ARRAY[NEW.stack_id, OLD.stack_id];
    ELSE
        stacks := ARRAY[OLD.stack_id];
    END IF;
    INSERT INTO review_media_changes (media_file_id, n)
        SELECT v.media_file_id, counter FROM media_versions v WHERE v.stack_id = ANY (stacks)
        ON CONFLICT (media_file_id) DO UPDATE SET n = excluded.n;
    IF TG_OP = 'DELETE' THEN
        INSERT INTO review_media_changes (media_file_id, n) VALUES (OLD.media_file_id, counter)
            ON CONFLICT (media_file_id) DO UPDATE SET n = excluded.n;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER tr_review_count_versions_insert AFTER INSERT ON media_versions FOR EACH ROW EXECUTE FUNCTION review_versions_changed();
CREATE TRIGGER tr_review_count_versions_update AFTER UPDATE ON media_versions FOR EACH ROW EXECUTE FUNCTION review_versions_changed();
CREATE TRIGGER tr_review_count_versions_delete AFTER DELETE ON media_versions FOR EACH ROW EXECUTE FUNCTION review_versions_changed();
