-- Template (the export's read-only connection): the views over item_answer_rows, measure_summary,
-- budget_lines and municipality_matrix read the surveys of the prefecture <prefecture_code> in fiscal
-- year <fiscal_year> and the year before (what the year compares with) only, however many years the
-- warehouse holds (macro survey_in_scope). Both are literals, a checked two-digit code and an int, as
-- binding a parameter would make duckdb import pandas.
SET VARIABLE kokuho_surveys = (
    SELECT coalesce(list(survey_id ORDER BY survey_id), [])
    FROM surveys
    WHERE prefecture_code = '{prefecture_code}' AND fiscal_year IN ({fiscal_year}, {fiscal_year} - 1)
);
