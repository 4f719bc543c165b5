-- Clapshot 2023-02-09-211348_add_thumb_sheet_dims: sprite sheet size as "COLSxROWS".
ALTER TABLE videos ADD COLUMN thumb_sheet_dims VARCHAR(255);
