-- Schema step (not an object): a warehouse created before year labels were kept gets the column
-- numeric_target_items.year_label (filled by the next catalog sync).
ALTER TABLE numeric_target_items ADD COLUMN IF NOT EXISTS year_label VARCHAR;
