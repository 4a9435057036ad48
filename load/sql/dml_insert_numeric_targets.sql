-- Load step (not an object): the numeric target cells of the batch's new valid files.
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
JOIN submissions AS sub ON sub.sha256 = t.sha256
QUALIFY row_number() OVER (PARTITION BY t.sha256, t.target_id, t.target_year ORDER BY t.file_name, t.row_no) = 1;
