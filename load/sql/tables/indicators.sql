-- The indicators each survey's catalog declares: a numeric item's results against its targets.
-- result_id / target_id name a numeric item (item_responses) or a numeric target
-- (numeric_target_responses), read by fiscal year; years are the fiscal years evaluated (the
-- years the result item asks, e.g. R4..R6 in FY2024).
CREATE TABLE IF NOT EXISTS indicators (
    survey_id    VARCHAR NOT NULL,
    indicator_id VARCHAR NOT NULL,
    position     INTEGER NOT NULL,
    label        VARCHAR NOT NULL,  -- 保険者努力支援制度（市町村分）得点率
    unit         VARCHAR,           -- %; the result item's unit unless the catalog gives one
    direction    VARCHAR NOT NULL,  -- higher / lower: which way is better
    result_id    VARCHAR NOT NULL,
    target_id    VARCHAR,
    years        INTEGER[] NOT NULL,
    PRIMARY KEY (survey_id, indicator_id)
);
