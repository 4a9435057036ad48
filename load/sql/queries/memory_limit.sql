-- The connection's memory limit as DuckDB shows it (e.g. 160.0 MiB), to set it back after a change.
SELECT current_setting('memory_limit');
