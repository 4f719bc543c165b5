-- PostgreSQL twin of ../20240513093800_add_users_table.sql: a users table
-- the other tables reference; comments keep the author's name in
-- username_ifnull and a nullable user_id.
CREATE TABLE users (
    id VARCHAR NOT NULL PRIMARY KEY,
    name VARCHAR NOT NULL,
    created TIMESTAMP DEFAULT (now() AT TIME ZONE 'UTC')
);
INSERT INTO users (id, name)
    SELECT DISTINCT user_id, user_name FROM videos WHERE user_id IS NOT NULL AND user_name IS NOT NULL;
INSERT INTO users (id, name)
    SELECT DISTINCT user_id, user_name FROM comments WHERE user_name IS NOT NULL ON CONFLICT DO NOTHING;
INSERT INTO users (id, name)
    SELECT DISTINCT user_id, user_id FROM messages WHERE user_id IS NOT NULL ON CONFLICT DO NOTHING;

-- SQLite rebuilds the three tables, which drops their indexes; the same
-- indexes go here, and the new ones are created below.
DROP INDEX ix_video_added_by_userid;
DROP INDEX comments_video_id;
DROP INDEX comments_parent_id;
DROP INDEX messages_user_id;
DROP INDEX messages_comment_id;
DROP INDEX messages_video_id;

ALTER TABLE videos DROP COLUMN user_name;
ALTER TABLE videos ADD CONSTRAINT videos_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE RESTRICT ON UPDATE CASCADE;

ALTER TABLE comments RENAME COLUMN user_name TO username_ifnull;
ALTER TABLE comments ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE comments ADD CONSTRAINT comments_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL ON UPDATE CASCADE;

ALTER TABLE messages ADD CONSTRAINT messages_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE messages ADD CONSTRAINT messages_comment_id_fkey FOREIGN KEY (comment_id) REFERENCES comments (id) ON UPDATE CASCADE ON DELETE CASCADE;

CREATE INDEX ix_comments_user_id ON comments (user_id);
CREATE INDEX ix_comments_parent_id ON comments (parent_id);
CREATE INDEX ix_messages_user_id ON messages (user_id);
CREATE INDEX ix_messages_comment_id ON messages (comment_id);
CREATE INDEX ix_messages_video_id ON messages (video_id);
CREATE INDEX ix_video_user_id ON videos (user_id);
CREATE INDEX ix_video_added_time ON videos (added_time);

-- As in SQLite, this AFTER trigger runs after the foreign key's ON DELETE
-- SET NULL (PostgreSQL fires the RI_ConstraintTrigger first, by name), so
-- it never matches: comments keep the name they were written under.
CREATE FUNCTION tr_comments_set_username_on_user_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE comments SET username_ifnull = OLD.name WHERE user_id = OLD.id;
    RETURN NULL;
END $$;
CREATE TRIGGER tr_comments_set_username_on_user_delete AFTER DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION tr_comments_set_username_on_user_delete();
