-- One row per filled その他（独自の取組） row of a valid returned file (the view own_initiatives
-- shows the current ones).
-- Grain (sha256, table_id, position), kept by the load as for responses
-- (no PRIMARY KEY index: see responses.sql).
CREATE TABLE IF NOT EXISTS own_initiative_responses (
    sha256            VARCHAR NOT NULL,
    municipality_code VARCHAR NOT NULL,
    survey_id         VARCHAR NOT NULL,
    table_id          VARCHAR NOT NULL,
    position          INTEGER NOT NULL,  -- order within the block as returned
    text              VARCHAR NOT NULL,
    budget_line       VARCHAR,
    note              VARCHAR,
    file_name         VARCHAR NOT NULL,
    sheet             VARCHAR NOT NULL,
    cell              VARCHAR NOT NULL,
    row_no            INTEGER
);
