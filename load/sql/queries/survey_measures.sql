-- Per survey its prefecture and the measure IDs of its catalog (the load's guards check answers against them).
SELECT s.survey_id, s.prefecture_code, list(m.measure_id) FILTER (WHERE m.measure_id IS NOT NULL) AS measure_ids
FROM surveys AS s
LEFT JOIN measures AS m USING (survey_id)
GROUP BY s.survey_id, s.prefecture_code;
