-- Ours (not in Clapshot): the end of a range comment. timecode stays the
-- start, so Clapshot's client and plugins still place the comment correctly;
-- they never read this column.
ALTER TABLE comments ADD COLUMN timecode_end VARCHAR;
