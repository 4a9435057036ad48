-- The measures (取組) of each survey, with their place in the catalog. measure_id is stable across
-- years; previous_measure_id is the ID the measure had in the previous fiscal year's catalog.
CREATE TABLE IF NOT EXISTS measures (
    survey_id           VARCHAR NOT NULL,
    measure_id          VARCHAR NOT NULL,   -- M001
    position            INTEGER NOT NULL,   -- 1-based order in the whole survey
    section_no          INTEGER NOT NULL,   -- 1
    section             VARCHAR NOT NULL,   -- 保険税関係
    subsection_no       INTEGER NOT NULL,   -- (1)
    subsection          VARCHAR NOT NULL,   -- 納期内納付の促進
    group_code          VARCHAR,            -- ア / イ (3-(2) only)
    group_title         VARCHAR,
    subgroup_no         INTEGER,            -- ①..④
    subgroup_title      VARCHAR,
    item_no             INTEGER NOT NULL,   -- 1-based order within its table
    table_id            VARCHAR NOT NULL,   -- 1-1, 3-2-ア-1
    label               VARCHAR NOT NULL,
    previous_measure_id VARCHAR NOT NULL,   -- = measure_id unless the catalog maps it
    PRIMARY KEY (survey_id, measure_id)
);
