-- Each survey's previous one: the prefecture's survey of the fiscal year before that has accepted
-- files (the latest catalog version of that year). The views that compare with last year
-- (measure_summary, item_summary, item_option_counts, item_numbers, item_number_totals) read it. A
-- macro is created before the views, so it reads the accepted files from submissions as
-- current_submissions does.
CREATE OR REPLACE MACRO previous_surveys() AS TABLE
SELECT s.survey_id, arg_max(p.survey_id, p.catalog_version) AS previous_survey_id
FROM surveys AS s
JOIN surveys AS p ON p.prefecture_code = s.prefecture_code AND p.fiscal_year = s.fiscal_year - 1
WHERE EXISTS (SELECT 1 FROM submissions AS x WHERE x.survey_id = p.survey_id AND x.status = 'accepted')
GROUP BY s.survey_id;
