-- PostgreSQL twin of ../20230418190300_add_cascade_rules.sql: deleting a
-- video deletes its comments, deleting a comment its replies; column
-- names harmonised.
ALTER TABLE comments DROP CONSTRAINT comments_video_id_fkey;
ALTER TABLE comments DROP CONSTRAINT comments_parent_id_fkey;
ALTER TABLE comments ADD CONSTRAINT comments_video_id_fkey FOREIGN KEY (video_id) REFERENCES videos (id) ON UPDATE CASCADE ON DELETE CASCADE;
ALTER TABLE comments ADD CONSTRAINT comments_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES comments (id) ON UPDATE CASCADE ON DELETE CASCADE;
ALTER TABLE comments RENAME COLUMN username TO user_name;
-- SQLite's copy of the table lost this index.
DROP INDEX ix_comment_parent_id;

ALTER TABLE messages RENAME COLUMN ref_video_id TO video_id;
ALTER TABLE messages RENAME COLUMN ref_comment_id TO comment_id;

ALTER TABLE videos RENAME COLUMN added_by_userid TO user_id;
ALTER TABLE videos RENAME COLUMN added_by_username TO user_name;

CREATE INDEX comments_video_id ON comments (video_id);
CREATE INDEX comments_parent_id ON comments (parent_id);
CREATE INDEX messages_user_id ON messages (user_id);
CREATE INDEX messages_comment_id ON messages (comment_id);
CREATE INDEX messages_video_id ON messages (video_id);
