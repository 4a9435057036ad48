-- One row per typed item cell (choice, integer, amount, percent, text, period, status) and fiscal
-- year of a valid returned file, the raw text kept beside the parsed value (the views item_answers,
-- item_numbers show the current ones). Grain (sha256, item_id, value_year), kept by the load as
-- for responses (no PRIMARY KEY index: see responses.sql).
CREATE TABLE IF NOT EXISTS item_responses (
    sha256            VARCHAR NOT NULL,
    municipality_code VARCHAR NOT NULL,
    survey_id         VARCHAR NOT NULL,
    item_id           VARCHAR NOT NULL,
    item_type         VARCHAR NOT NULL,
    value_year        INTEGER NOT NULL,  -- fiscal year the value is for
    raw_text          VARCHAR,           -- １，２３４ / △148,507 / ５～３月 as written
    value             DOUBLE,            -- parsed number (integer, amount, percent)
    qualifier         VARCHAR,           -- 以上 / 以下 / 前年度以上 / 未設定
    value_text        VARCHAR,           -- option codes joined by ',' / status code / text / 通年 / 5-3
    period_start      INTEGER,           -- period: first month
    period_end        INTEGER,           -- period: last month
    not_applicable    BOOLEAN NOT NULL,  -- 該当なし
    note              VARCHAR,           -- 備考
    file_name         VARCHAR NOT NULL,
    sheet             VARCHAR NOT NULL,
    cell              VARCHAR NOT NULL,
    row_no            INTEGER
);
