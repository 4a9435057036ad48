-- Load step (not an object): the numeric target cells of the batch's new valid files. stg_numeric_targets
-- holds one row per (sha256, target_id, target_year): load_batch keeps the first by file name and row.
INSERT INTO numeric_target_responses
SELECT
    t.sha256,
    sub.municipality_code,
    sub.survey_id,
    t.target_id,
    t.target_year,
    t.raw_text,
    t.value,
    t.qualifier,
    t.note,
    t.file_name,
    t.sheet,
    t.cell,
    t.row_no
FROM stg_numeric_targets AS t
JOIN load_files AS lf ON lf.sha256 = t.sha256 AND NOT lf.quarantined
JOIN submissions AS sub ON sub.sha256 = t.sha256;
