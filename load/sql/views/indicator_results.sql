-- Targets against results (seed 003's 成果指標): one row per survey, municipality with a current
-- file, indicator and fiscal year evaluated (the years the indicator's result item asks).
-- Values: an indicator's result and target name a numeric item (item_responses) or a numeric target
-- (numeric_target_responses), read by the fiscal year the value is for. Results for past years and
-- targets for coming ones may come from the same survey or from consecutive years' surveys: for each
-- municipality, item and year the value is the one of the most recent survey (of the prefecture)
-- whose current file gives it; a blank cell gives nothing.
-- 達成状況: 以上 -> result >= target; 以下 -> result <= target; a plain target -> >= when higher is
-- better, <= when lower is better; 前年度以上 -> result >= the previous year's result, strictly >
-- when the text says 上回る / 超える (前年度収納率を上回る); 未設定, no target, no result, or no
-- previous result for 前年度以上 -> ― (not evaluated). 推移: this year's result against the previous
-- year's in the indicator's direction: ↗ better, ↘ worse, → equal, ― either missing.
CREATE OR REPLACE VIEW indicator_results AS
WITH given AS (
    SELECT s.prefecture_code, s.fiscal_year AS survey_year, r.survey_id, r.municipality_code,
           r.item_id AS source_id, r.value_year, r.value, r.qualifier, r.raw_text
    FROM item_responses AS r
    JOIN current_submissions AS sub ON sub.sha256 = r.sha256
    JOIN surveys AS s ON s.survey_id = r.survey_id
    UNION ALL
    SELECT s.prefecture_code, s.fiscal_year, t.survey_id, t.municipality_code,
           t.target_id, t.target_year, t.value, t.qualifier, t.raw_text
    FROM numeric_target_responses AS t
    JOIN current_submissions AS sub ON sub.sha256 = t.sha256
    JOIN surveys AS s ON s.survey_id = t.survey_id
),
sources AS (
    -- what an indicator reads: the other items' and targets' answers are never looked up
    SELECT result_id AS source_id FROM indicators
    UNION
    SELECT target_id FROM indicators WHERE target_id IS NOT NULL
),
latest AS (
    -- the most recent survey's value, per municipality, item and year
    SELECT prefecture_code, municipality_code, source_id, value_year,
           arg_max({'value': value, 'qualifier': qualifier, 'raw_text': raw_text}, (survey_year, survey_id)) AS v
    FROM given
    WHERE source_id IN (SELECT source_id FROM sources)
        AND (value IS NOT NULL OR qualifier IS NOT NULL OR nullif(trim(raw_text), '') IS NOT NULL)
    GROUP BY ALL
),
frame AS (
    -- every municipality with a current file of the survey, for every indicator and year evaluated
    SELECT s.fiscal_year, s.prefecture_code, i.survey_id, sub.municipality_code, i.indicator_id,
           i.position, i.label, i.unit, i.direction, i.result_id, i.target_id, unnest(i.years) AS value_year
    FROM indicators AS i
    JOIN surveys AS s ON s.survey_id = i.survey_id
    JOIN current_submissions AS sub ON sub.survey_id = i.survey_id
),
valued AS (
    SELECT
        f.*,
        r.v.value AS result_value,
        r.v.raw_text AS result_raw,
        p.v.value AS previous_result,
        t.v.value AS target_value,
        t.v.raw_text AS target_raw,
        t.v.qualifier AS target_qualifier,
        -- how the result is compared (NULL: not evaluated)
        CASE
            WHEN t.v.qualifier = '前年度以上' AND regexp_matches(coalesce(t.v.raw_text, ''), '上回|超')
                THEN '前年度超'
            WHEN t.v.qualifier = '前年度以上' THEN '前年度以上'
            WHEN t.v.qualifier IN ('以上', '以下') AND t.v.value IS NOT NULL THEN t.v.qualifier
            WHEN t.v.qualifier IS NULL AND t.v.value IS NOT NULL THEN
                CASE f.direction WHEN 'lower' THEN '以下' ELSE '以上' END
        END AS comparison
    FROM frame AS f
    LEFT JOIN latest AS r ON r.prefecture_code = f.prefecture_code AND r.municipality_code = f.municipality_code
        AND r.source_id = f.result_id AND r.value_year = f.value_year
    LEFT JOIN latest AS p ON p.prefecture_code = f.prefecture_code AND p.municipality_code = f.municipality_code
        AND p.source_id = f.result_id AND p.value_year = f.value_year - 1
    LEFT JOIN latest AS t ON t.prefecture_code = f.prefecture_code AND t.municipality_code = f.municipality_code
        AND t.source_id = f.target_id AND t.value_year = f.value_year
),
judged AS (
    SELECT
        *,
        -- compared at 9 decimals: a value parsed from the same text twice is equal, never off by float error
        CASE
            WHEN result_value IS NULL OR comparison IS NULL THEN NULL
            WHEN comparison = '以上' THEN round(result_value, 9) >= round(target_value, 9)
            WHEN comparison = '以下' THEN round(result_value, 9) <= round(target_value, 9)
            WHEN previous_result IS NULL THEN NULL
            WHEN comparison = '前年度以上' THEN round(result_value, 9) >= round(previous_result, 9)
            WHEN comparison = '前年度超' THEN round(result_value, 9) > round(previous_result, 9)
        END AS achieved
    FROM valued
)
SELECT
    j.fiscal_year,
    j.prefecture_code,
    j.municipality_code,
    mu.name AS municipality_name,
    j.indicator_id,
    j.position,
    j.label,
    j.unit,
    j.direction,
    CAST(j.value_year AS INTEGER) AS value_year,
    CASE WHEN j.value_year >= 2019 THEN 'R' || (j.value_year - 2018) ELSE 'H' || (j.value_year - 1988) END
        AS year_label,
    j.result_value,
    j.result_raw,
    j.previous_result,
    j.target_value,
    j.target_raw,
    j.target_qualifier,
    j.comparison,
    j.achieved,
    CASE WHEN j.achieved THEN '達成' WHEN NOT j.achieved THEN '未達成' ELSE '―' END AS achievement,
    CASE
        WHEN j.result_value IS NULL OR j.previous_result IS NULL THEN '―'
        WHEN round(j.result_value, 9) = round(j.previous_result, 9) THEN '→'
        WHEN (j.result_value > j.previous_result) = (j.direction <> 'lower') THEN '↗'
        ELSE '↘'
    END AS trend,
    j.survey_id
FROM judged AS j
LEFT JOIN municipalities AS mu ON mu.code = j.municipality_code
ORDER BY j.fiscal_year, j.prefecture_code, j.survey_id, j.municipality_code, j.position, j.value_year;
