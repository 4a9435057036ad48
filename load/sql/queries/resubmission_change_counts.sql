-- Query (not an object): how many answers each superseded file's replacement changed.
SELECT old_sha256, count(*) AS changes
FROM resubmission_changes
WHERE list_contains($sha256s, old_sha256)
GROUP BY old_sha256;
