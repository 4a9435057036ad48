-- One row per returned file ever processed, keyed by the SHA-256 of its bytes (a file loaded again
-- is skipped). status: accepted = the current file of its municipality for the survey;
-- superseded = an older valid file replaced by a later one; quarantined = set aside with reasons.
CREATE TABLE IF NOT EXISTS submissions (
    sha256                     VARCHAR PRIMARY KEY,
    file_name                  VARCHAR NOT NULL,
    file_path                  VARCHAR,
    file_size                  BIGINT,
    file_kind                  VARCHAR,      -- xlsx / xlsm / xls
    has_macros                 BOOLEAN,
    received_at                TIMESTAMPTZ,  -- file modification time; orders re-submissions
    processed_at               TIMESTAMPTZ NOT NULL,
    prefecture_code            VARCHAR,
    fiscal_year                INTEGER,
    catalog_version            VARCHAR,
    survey_id                  VARCHAR,
    municipality_code          VARCHAR,
    municipality_name_written  VARCHAR,      -- as written on the cover sheet
    filename_municipality_code VARCHAR,
    contact_department         VARCHAR,
    contact_person             VARCHAR,
    contact_phone              VARCHAR,
    contact_email              VARCHAR,
    sheet                      VARCHAR,      -- cover sheet name
    cell                       VARCHAR,      -- cell of the municipality code
    status                     VARCHAR NOT NULL CHECK (status IN ('accepted', 'superseded', 'quarantined')),
    reason_codes               VARCHAR[] NOT NULL,  -- issue codes (kokuho.codelists.ISSUES) of a quarantined file
    reasons                    VARCHAR[] NOT NULL,  -- their Japanese messages
    superseded_by              VARCHAR,      -- sha256 of the file that replaced this one
    run_id                     VARCHAR NOT NULL
);
