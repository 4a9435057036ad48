-- The named groups of municipalities each survey's catalog declares (国保直診施設のある市町村),
-- one row per member.
CREATE TABLE IF NOT EXISTS municipality_groups (
    survey_id         VARCHAR NOT NULL,
    group_name        VARCHAR NOT NULL,  -- the name items' applies_to uses (direct_clinic)
    label             VARCHAR NOT NULL,  -- 国保直診施設のある市町村
    municipality_code VARCHAR NOT NULL,
    PRIMARY KEY (survey_id, group_name, municipality_code)
);
