-- Setting (the run's writer): how much memory DuckDB may hold ($limit) before it spills (KOKUHO_LOAD_MEMORY, then larger bounds).
SET memory_limit = $limit;
