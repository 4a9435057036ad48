-- Query (not an object): municipalities that have not submitted for a survey year.
SELECT municipality_code, municipality_name
FROM submission_status
WHERE fiscal_year = $fiscal_year AND prefecture_code = $prefecture_code AND status_code = 'missing'
ORDER BY municipality_code;
