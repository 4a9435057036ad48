-- Template (exports): whether a survey of prefecture <prefecture_code> in fiscal year <fiscal_year> asks
-- an indicator or an amount item, the only surveys the indicator views have rows for. Both are literals,
-- a checked two-digit code and an int, as binding a parameter would make duckdb import pandas.
SELECT
    EXISTS (
        SELECT 1 FROM indicators AS i JOIN surveys AS s ON s.survey_id = i.survey_id
        WHERE s.prefecture_code = '{prefecture_code}' AND s.fiscal_year = {fiscal_year}
    )
    OR EXISTS (
        SELECT 1 FROM items AS i JOIN surveys AS s ON s.survey_id = i.survey_id
        WHERE i.item_type = 'amount' AND s.prefecture_code = '{prefecture_code}' AND s.fiscal_year = {fiscal_year}
    );
