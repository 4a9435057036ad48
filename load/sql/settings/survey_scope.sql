-- Setting (the export's read-only connection): the views over item_answer_rows read the surveys of the
-- prefecture ($prefecture) in fiscal year $year and the year before (what the year's figures compare
-- with) only, however many years the warehouse holds (macro survey_in_scope).
SET VARIABLE kokuho_surveys = (
    SELECT coalesce(list(survey_id ORDER BY survey_id), [])
    FROM surveys
    WHERE prefecture_code = $prefecture AND fiscal_year IN ($year, $year - 1)
);
