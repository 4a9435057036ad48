-- A fiscal year as the catalog labels it: style 'short' R3 (H30 before 令和), style 'era' 令和3年度
-- (令和元年度 for 2019). The Python twin is kokuho.catalog.year_label.
CREATE OR REPLACE MACRO year_label(fiscal_year, style) AS
    CASE
        WHEN style = 'era' AND fiscal_year >= 2019
            THEN '令和' || CASE WHEN fiscal_year = 2019 THEN '元' ELSE CAST(fiscal_year - 2018 AS VARCHAR) END || '年度'
        WHEN style = 'era'
            THEN '平成' || CASE WHEN fiscal_year = 1989 THEN '元' ELSE CAST(fiscal_year - 1988 AS VARCHAR) END || '年度'
        WHEN fiscal_year >= 2019 THEN 'R' || CAST(fiscal_year - 2018 AS VARCHAR)
        ELSE 'H' || CAST(fiscal_year - 1988 AS VARCHAR)
    END;
