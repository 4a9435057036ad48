-- The municipality master (全国地方公共団体コード), synced from data/municipalities.csv on every load.
CREATE TABLE IF NOT EXISTS municipalities (
    code            VARCHAR PRIMARY KEY,  -- 6 digits with check digit, e.g. 111007
    prefecture_code VARCHAR NOT NULL,     -- 2 digits, e.g. 11
    prefecture_name VARCHAR NOT NULL,
    name            VARCHAR NOT NULL,     -- さいたま市
    kana            VARCHAR,
    kind            VARCHAR               -- 市 / 町 / 村 / 区
);
