-- The consistency rules each survey's catalog declares (total = sum of parts, per municipality
-- and fiscal year): one row per rule and member item, the total first (role 'total', position 0),
-- then the parts in order (role 'part', position 1..).
CREATE TABLE IF NOT EXISTS sum_rules (
    survey_id VARCHAR NOT NULL,
    rule_id   VARCHAR NOT NULL,
    label     VARCHAR NOT NULL,  -- 合計（予算現額）
    role      VARCHAR NOT NULL,  -- total / part
    position  INTEGER NOT NULL,
    item_id   VARCHAR NOT NULL,
    PRIMARY KEY (survey_id, rule_id, position)
);
