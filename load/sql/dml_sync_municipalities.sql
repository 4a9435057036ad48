-- Load step (not an object): refresh the municipality master from the registered frame master_municipalities.
INSERT OR REPLACE INTO municipalities (code, prefecture_code, prefecture_name, name, kana, kind)
SELECT code, prefecture_code, prefecture_name, name, kana, kind
FROM master_municipalities;
