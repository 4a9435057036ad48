-- Query (not an object): what the exports of the published database depend on, as one row. It
-- changes with every load (new files, statuses), catalog and municipality master change, and not
-- with a run that found nothing new; the flow compares it with what the export was made from.
SELECT
    (SELECT count(*) FROM submissions) AS files,
    (SELECT max(processed_at) FROM submissions) AS last_load,
    (SELECT list(status ORDER BY sha256) FROM submissions WHERE status <> 'quarantined') AS statuses,
    (SELECT list(survey_id || ':' || coalesce(catalog_hash, '') ORDER BY survey_id) FROM surveys) AS catalogs,
    (SELECT count(*) FROM municipalities) AS municipalities;
