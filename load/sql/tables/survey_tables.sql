-- The lowest-level tables of each survey (a block of measures plus its その他（独自の取組） rows).
CREATE TABLE IF NOT EXISTS survey_tables (
    survey_id      VARCHAR NOT NULL,
    table_id       VARCHAR NOT NULL,  -- 1-1, 3-2-ア-1
    table_no       INTEGER NOT NULL,  -- 1-based order in the survey
    section_no     INTEGER NOT NULL,
    section        VARCHAR NOT NULL,
    subsection_no  INTEGER NOT NULL,
    subsection     VARCHAR NOT NULL,
    group_code     VARCHAR,
    group_title    VARCHAR,
    subgroup_no    INTEGER,
    subgroup_title VARCHAR,
    heading        VARCHAR NOT NULL,  -- (2) 特定健康診査受診率… ア 特定健康診査受診率向上の取組 ①受診勧奨の強化
    PRIMARY KEY (survey_id, table_id)
);
