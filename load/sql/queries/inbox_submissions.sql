-- Query (not an object): what the warehouse holds for the inbox's files, by sha256.
SELECT sha256, file_name, run_id, status, reason_codes[1] AS first_code, reasons[1] AS first_reason,
       municipality_code
FROM submissions
WHERE list_contains($sha256s, sha256);
