-- PostgreSQL twin of ../20230209211348_add_thumb_sheet_dims.sql.
ALTER TABLE videos ADD COLUMN thumb_sheet_dims VARCHAR;
