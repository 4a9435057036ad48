-- One row per numeric target cell of a valid returned file; the raw text is kept beside the
-- parsed value (the views numeric_targets and numeric_targets_wide show the current ones).
-- Grain (sha256, target_id, target_year), kept by the load as for responses
-- (no PRIMARY KEY index: see responses.sql).
CREATE TABLE IF NOT EXISTS numeric_target_responses (
    sha256            VARCHAR NOT NULL,
    municipality_code VARCHAR NOT NULL,
    survey_id         VARCHAR NOT NULL,
    target_id         VARCHAR NOT NULL,
    target_year       INTEGER NOT NULL,  -- fiscal year the target is for
    raw_text          VARCHAR,           -- ９５．０％ / 95％以上 / 【未設定】 as written
    value             DOUBLE,            -- parsed percent (95.0)
    qualifier         VARCHAR,           -- 以上 / 前年度以上 / 未設定
    note              VARCHAR,           -- 備考
    file_name         VARCHAR NOT NULL,
    sheet             VARCHAR NOT NULL,
    cell              VARCHAR NOT NULL,
    row_no            INTEGER
);
