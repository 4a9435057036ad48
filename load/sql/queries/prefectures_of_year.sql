-- Template (exports): the prefectures with a survey in one year (<fiscal_year>: an int literal, as
-- binding a parameter would make duckdb import pandas).
SELECT DISTINCT prefecture_code
FROM measure_summary
WHERE fiscal_year = {fiscal_year}
ORDER BY 1;
