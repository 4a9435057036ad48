-- Query (not an object): files by sha256 with their status and first reason, for run summaries.
SELECT sha256, file_name, status, reasons[1] AS first_reason
FROM submissions
WHERE list_contains($sha256s, sha256)
ORDER BY file_name;
