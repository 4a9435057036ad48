-- Whether the views that count and list the check and typed items' answers read survey `survey`
-- (budget_lines, measure_summary, municipality_matrix, and over item_answer_rows: item_answers,
-- item_summary, item_option_counts, item_numbers, item_number_totals): every survey, unless the
-- connection named the surveys to read with SET VARIABLE kokuho_surveys = [...] (the export names its
-- year's and the year before's: settings/survey_scope). They then show the named surveys only, each
-- as without the variable when the survey it compares with (the year before's) is named too. The
-- condition is constant once the variable is bound: DuckDB skips the other surveys' rows as it scans.
CREATE OR REPLACE MACRO survey_in_scope(survey) AS
    getvariable('kokuho_surveys') IS NULL OR list_contains(getvariable('kokuho_surveys'), survey);
