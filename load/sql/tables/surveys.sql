-- One row per survey (catalog): a prefecture's survey of one fiscal year, in one catalog version.
CREATE TABLE IF NOT EXISTS surveys (
    survey_id           VARCHAR PRIMARY KEY,  -- prefecture-fiscal_year-catalog_version, e.g. 11-2024-2024.1
    prefecture_code     VARCHAR NOT NULL,
    fiscal_year         INTEGER NOT NULL,     -- 2024 = 令和6年度
    catalog_version     VARCHAR NOT NULL,
    title               VARCHAR NOT NULL,
    own_initiative_rows INTEGER,
    catalog_file        VARCHAR,              -- file name of the catalog YAML
    catalog_hash        VARCHAR,              -- fingerprint of the synced catalog content
    loaded_at           TIMESTAMPTZ NOT NULL  -- first time the catalog was loaded
);
