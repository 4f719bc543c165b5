-- PostgreSQL twin of ../20261121200000_add_comment_timecode_end.sql.
ALTER TABLE comments ADD COLUMN timecode_end VARCHAR;
