-- One row per measure row of a valid returned file (accepted or superseded), with provenance.
-- Views count only the rows of the accepted file of each municipality and survey.
-- Grain (sha256, measure_id): the load inserts only new files (submissions is keyed by sha256) and
-- one row per measure of each. No PRIMARY KEY index on it: for a national batch that index took a
-- third of the load's time and half of the file, and no query looks rows up by it.
CREATE TABLE IF NOT EXISTS responses (
    sha256            VARCHAR NOT NULL,
    municipality_code VARCHAR NOT NULL,
    survey_id         VARCHAR NOT NULL,
    measure_id        VARCHAR NOT NULL,
    implemented       BOOLEAN NOT NULL,  -- false for 該当なし
    answer            VARCHAR,   -- ○ or empty string
    answer_raw        VARCHAR,   -- the cell as found
    budget_line       VARCHAR,   -- 予算事業名, normalised; one cell is one name
    budget_line_raw   VARCHAR,
    note              VARCHAR,
    label_as_written  VARCHAR,   -- the label in the returned file (never used to match)
    file_name         VARCHAR NOT NULL,
    sheet             VARCHAR NOT NULL,
    cell              VARCHAR NOT NULL,
    row_no            INTEGER,
    -- 該当なし (distinct from no, implemented is false); NULL in files loaded before it was read
    not_applicable    BOOLEAN
);
