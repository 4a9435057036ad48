-- One row per measure row of a valid returned file (accepted or superseded), with provenance.
-- Views count only the rows of the accepted file of each municipality and survey.
CREATE TABLE IF NOT EXISTS responses (
    sha256            VARCHAR NOT NULL,
    municipality_code VARCHAR NOT NULL,
    survey_id         VARCHAR NOT NULL,
    measure_id        VARCHAR NOT NULL,
    implemented       BOOLEAN NOT NULL,
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
    PRIMARY KEY (sha256, measure_id)
);
