-- PostgreSQL twin of ../20240530202000_add_missing_users.sql.
INSERT INTO users (id, name)
    SELECT DISTINCT user_id, user_id FROM media_files WHERE user_id IS NOT NULL ON CONFLICT DO NOTHING;
INSERT INTO users (id, name)
    SELECT DISTINCT user_id, COALESCE(username_ifnull, user_id) FROM comments WHERE user_id IS NOT NULL ON CONFLICT DO NOTHING;
INSERT INTO users (id, name)
    SELECT DISTINCT user_id, user_id FROM messages WHERE user_id IS NOT NULL ON CONFLICT DO NOTHING;
