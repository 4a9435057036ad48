-- Load step (not an object): the typed item cells of the batch's new valid files. stg_item_values holds
-- one row per (sha256, item_id, value_year): load_batch keeps the first by file name and row.
INSERT INTO item_responses (sha256, municipality_code, survey_id, item_id, item_type, value_year, raw_text, value,
                            qualifier, value_text, period_start, period_end, not_applicable, note, file_name,
                            sheet, cell, row_no)
SELECT
    v.sha256,
    sub.municipality_code,
    sub.survey_id,
    v.item_id,
    v.item_type,
    v.value_year,
    v.raw_text,
    v.value,
    v.qualifier,
    v.value_text,
    v.period_start,
    v.period_end,
    coalesce(v.not_applicable, false),
    v.note,
    v.file_name,
    v.sheet,
    v.cell,
    v.row_no
FROM stg_item_values AS v
JOIN load_files AS lf ON lf.sha256 = v.sha256 AND NOT lf.quarantined
JOIN submissions AS sub ON sub.sha256 = v.sha256;
