-- PostgreSQL twin of ../20230418190209_change_video_primkey.sql: the
-- content hash becomes the primary key "id", the integer key goes, and
-- "COLSxROWS" is split into two integers.
ALTER TABLE comments DROP CONSTRAINT comments_video_hash_fkey;
ALTER TABLE videos DROP CONSTRAINT videos_pkey;
ALTER TABLE videos DROP COLUMN id;
DROP INDEX ix_video_video_hash;
ALTER TABLE videos RENAME COLUMN video_hash TO id;
ALTER TABLE videos ADD CONSTRAINT videos_pkey PRIMARY KEY (id);
ALTER TABLE videos ALTER COLUMN added_by_userid SET NOT NULL;
ALTER TABLE videos ALTER COLUMN added_by_username SET NOT NULL;

ALTER TABLE videos ADD COLUMN thumb_sheet_cols BIGINT;
ALTER TABLE videos ADD COLUMN thumb_sheet_rows BIGINT;
-- SQLite's CAST of a non-number is 0; so is this.
UPDATE videos SET
    thumb_sheet_cols = CASE WHEN split_part(thumb_sheet_dims, 'x', 1) ~ '^[0-9]+$' THEN split_part(thumb_sheet_dims, 'x', 1)::BIGINT ELSE 0 END,
    thumb_sheet_rows = CASE WHEN split_part(thumb_sheet_dims, 'x', 2) ~ '^[0-9]+$' THEN split_part(thumb_sheet_dims, 'x', 2)::BIGINT ELSE 0 END
    WHERE thumb_sheet_dims IS NOT NULL;
ALTER TABLE videos DROP COLUMN thumb_sheet_dims;

ALTER TABLE comments RENAME COLUMN video_hash TO video_id;
ALTER TABLE comments ADD CONSTRAINT comments_video_id_fkey FOREIGN KEY (video_id) REFERENCES videos (id);
ALTER TABLE messages RENAME COLUMN ref_video_hash TO ref_video_id;
