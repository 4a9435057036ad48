-- The numeric targets each survey asks for (収納率目標 …) and the years asked, as offsets from the
-- survey's fiscal year.
CREATE TABLE IF NOT EXISTS numeric_target_items (
    survey_id    VARCHAR NOT NULL,
    target_id    VARCHAR NOT NULL,  -- collection_rate_current
    position     INTEGER NOT NULL,
    label        VARCHAR NOT NULL,  -- 収納率目標（現年分）
    unit         VARCHAR NOT NULL,  -- %
    year_offsets INTEGER[] NOT NULL,
    minimum      DOUBLE,
    maximum      DOUBLE,
    year_label   VARCHAR,  -- short (R3) or era (令和3年度); NULL in surveys synced before it was kept
    PRIMARY KEY (survey_id, target_id)
);
