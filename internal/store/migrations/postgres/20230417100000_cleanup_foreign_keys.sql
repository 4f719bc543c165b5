-- PostgreSQL twin of ../20230417100000_cleanup_foreign_keys.sql: messages
-- outlive what they mention. PostgreSQL drops the constraints in place.
ALTER TABLE messages DROP CONSTRAINT messages_ref_comment_id_fkey;
ALTER TABLE messages DROP CONSTRAINT messages_ref_video_hash_fkey;
