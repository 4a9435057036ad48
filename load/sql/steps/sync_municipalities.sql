-- Load step (not an object): refresh the municipality master from the registered frame master_municipalities.
-- Only rows that differ are written, so an unchanged master leaves the table (and the next checkpoint) alone.
INSERT OR REPLACE INTO municipalities (code, prefecture_code, prefecture_name, name, kana, kind)
SELECT code, prefecture_code, prefecture_name, name, kana, kind
FROM master_municipalities
EXCEPT
SELECT code, prefecture_code, prefecture_name, name, kana, kind
FROM municipalities;
