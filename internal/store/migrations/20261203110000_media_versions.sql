-- Ours (not Clapshot's): version stacks. Every version is a media file of
-- its own (its row, its comments, its directory); this table only groups
-- them. A media file in no stack has no row here, so a Clapshot database
-- and client see plain media files. Clapshot ignores this table; deleting
-- a media file (in either server) deletes its row, and the stack goes on
-- with the others.
CREATE TABLE media_versions (
    media_file_id VARCHAR(255) NOT NULL PRIMARY KEY REFERENCES media_files(id) ON UPDATE CASCADE ON DELETE CASCADE,
    stack_id VARCHAR(255) NOT NULL,   -- the id of the stack's first media file (kept when that one is deleted)
    version INTEGER NOT NULL,         -- 1, 2, 3, ... in upload order; a deleted version's number is not reused
    state VARCHAR NOT NULL DEFAULT 'ready',  -- processing | ready | failed (its transcode failed)
    added DATETIME DEFAULT (CURRENT_TIMESTAMP) NOT NULL,
    UNIQUE (stack_id, version)
);

-- A change to a stack changes which file stands for it in listings: every
-- member counts as changed, so cached home pages re-read them all.
CREATE TRIGGER tr_review_count_versions_insert AFTER INSERT ON media_versions BEGIN
    UPDATE review_change_counters SET n = n + 1 WHERE name = 'media';
    INSERT INTO review_media_changes (media_file_id, n)
        SELECT v.media_file_id, c.n FROM media_versions v, review_change_counters c WHERE v.stack_id = NEW.stack_id AND c.name = 'media'
        ON CONFLICT (media_file_id) DO UPDATE SET n = excluded.n;
END;
CREATE TRIGGER tr_review_count_versions_update AFTER UPDATE ON media_versions BEGIN
    UPDATE review_change_counters SET n = n + 1 WHERE name = 'media';
    INSERT INTO review_media_changes (media_file_id, n)
        SELECT v.media_file_id, c.n FROM media_versions v, review_change_counters c
        WHERE v.stack_id IN (NEW.stack_id, OLD.stack_id) AND c.name = 'media'
        ON CONFLICT (media_file_id) DO UPDATE SET n = excluded.n;
END;
CREATE TRIGGER tr_review_count_versions_delete AFTER DELETE ON media_versions BEGIN
    UPDATE review_change_counters SET n = n + 1 WHERE name = 'media';
    INSERT INTO review_media_changes (media_file_id, n)
        SELECT v.media_file_id, c.n FROM media_versions v, review_change_counters c WHERE v.stack_id = OLD.stack_id AND c.name = 'media'
        ON CONFLICT (media_file_id) DO UPDATE SET n = excluded.n;
    INSERT INTO review_media_changes (media_file_id, n)
        SELECT OLD.media_file_id, n FROM review_change_counters WHERE name = 'media'
        ON CONFLICT (media_file_id) DO UPDATE SET n = excluded.n;
END;
