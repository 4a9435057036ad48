-- Load step (not an object): insert or update the surveys of the registered frame catalog_surveys;
-- loaded_at keeps the first load time so that reloading a catalog changes nothing.
INSERT INTO surveys (survey_id, prefecture_code, fiscal_year, catalog_version, title, own_initiative_rows,
                     catalog_file, catalog_hash, loaded_at)
SELECT survey_id, prefecture_code, fiscal_year, catalog_version, title, own_initiative_rows, catalog_file,
       catalog_hash, loaded_at
FROM catalog_surveys
ON CONFLICT (survey_id) DO UPDATE SET
    prefecture_code = excluded.prefecture_code,
    fiscal_year = excluded.fiscal_year,
    catalog_version = excluded.catalog_version,
    title = excluded.title,
    own_initiative_rows = excluded.own_initiative_rows,
    catalog_file = excluded.catalog_file,
    catalog_hash = excluded.catalog_hash;
