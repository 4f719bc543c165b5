-- Clapshot 2024-05-30-202000_add_missing_users: the users migration missed
-- some ids; add every user referenced anywhere so the foreign keys hold.
INSERT OR IGNORE INTO users (id, name)
    SELECT DISTINCT user_id, user_id FROM media_files WHERE user_id IS NOT NULL;
INSERT OR IGNORE INTO users (id, name)
    SELECT DISTINCT user_id, COALESCE(username_ifnull, user_id) FROM comments WHERE user_id IS NOT NULL;
INSERT OR IGNORE INTO users (id, name)
    SELECT DISTINCT user_id, user_id FROM messages WHERE user_id IS NOT NULL;
