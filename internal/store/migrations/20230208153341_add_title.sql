-- Clapshot 2023-02-08-153341_add_title: a user-editable title, initially the
-- uploaded file name.
ALTER TABLE videos ADD COLUMN title VARCHAR(255);
UPDATE videos SET title = orig_filename;
