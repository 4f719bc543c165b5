-- PostgreSQL twin of ../20230208153341_add_title.sql.
ALTER TABLE videos ADD COLUMN title VARCHAR;
UPDATE videos SET title = orig_filename;
