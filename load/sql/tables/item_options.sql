-- The options of each choice and status item, in catalog order (codes are stable, labels are shown).
CREATE TABLE IF NOT EXISTS item_options (
    survey_id VARCHAR NOT NULL,
    item_id   VARCHAR NOT NULL,
    code      VARCHAR NOT NULL,  -- mail / new
    label     VARCHAR NOT NULL,  -- 郵送 / 新規
    position  INTEGER NOT NULL,  -- 1-based order within the item
    PRIMARY KEY (survey_id, item_id, code)
);
