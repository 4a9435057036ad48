-- Every item of each survey (all types: check is the ○ measure also listed in measures), with its
-- place, type, unit, the fiscal years it asks (offsets from the survey year) and how they are
-- labelled, who it applies to, its parent (breakdowns) and how its count is published.
CREATE TABLE IF NOT EXISTS items (
    survey_id        VARCHAR NOT NULL,
    item_id          VARCHAR NOT NULL,   -- stable across years
    position         INTEGER NOT NULL,   -- 1-based order in the whole survey
    table_id         VARCHAR NOT NULL,   -- 1-1, 3-2-ア-1
    section_no       INTEGER NOT NULL,
    subsection_no    INTEGER NOT NULL,
    item_no          INTEGER NOT NULL,   -- 1-based order within its table
    label            VARCHAR NOT NULL,
    item_type        VARCHAR NOT NULL,   -- check, choice, integer, amount, percent, text, period, status
    unit             VARCHAR,            -- 件 / 人 / 回 / 千円 / %
    multiple         BOOLEAN NOT NULL,   -- a choice of several options
    minimum          DOUBLE,
    maximum          DOUBLE,
    year_offsets     INTEGER[] NOT NULL, -- fiscal years asked, from the survey year ([0] = that year only)
    year_label       VARCHAR NOT NULL,   -- short (R3) or era (令和3年度)
    applies_group    VARCHAR,            -- named group (municipality_groups) the item applies to
    applies_item     VARCHAR,            -- or the item whose answer decides it
    applies_answers  VARCHAR[],          -- the answers of applies_item that make it apply (○, option codes)
    parent_id        VARCHAR,            -- the item this one breaks down
    published_form   VARCHAR NOT NULL,   -- ratio (n/N市町村（p%）) or count (n市町村)
    breakdown        VARCHAR NOT NULL,   -- lines (・label under the parent) or inline (in parentheses)
    previous_item_id VARCHAR NOT NULL,   -- the ID in the previous fiscal year's catalog (= item_id unless mapped)
    PRIMARY KEY (survey_id, item_id)
);
