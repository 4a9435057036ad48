-- Every problem found in a returned file (a file with any issue is quarantined whole).
CREATE TABLE IF NOT EXISTS file_issues (
    sha256    VARCHAR,  -- null only when the file could not be read at all
    file_name VARCHAR NOT NULL,
    sheet     VARCHAR,
    cell      VARCHAR,
    value     VARCHAR,
    code      VARCHAR NOT NULL,  -- kokuho.codelists.ISSUES
    rule      VARCHAR,
    message   VARCHAR NOT NULL,  -- Japanese, names file, sheet and cell
    hint      VARCHAR,
    stage     VARCHAR,           -- extract / transform / validate
    run_id    VARCHAR NOT NULL
);
