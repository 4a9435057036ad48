-- Template (Excel export's matrix): municipality_matrix for a year and prefecture, one row per
-- survey, municipality and answer with the measures as a list (far fewer rows than one per
-- measure). Lists only where the answer may be yes. <survey> and <name> are a quoted column or
-- NULL (older databases lack them); <where> as in export_view_rows.sql.
SELECT
    {survey} AS "survey_id",
    "municipality_code",
    "implemented",
    min({name}) AS "municipality_name",
    list("measure_id") FILTER (WHERE "implemented" IS NOT NULL AND CAST("implemented" AS VARCHAR) <> 'false')
        AS "measure_ids"
FROM "municipality_matrix"{where}
GROUP BY ALL;
