-- Setting (the run's writer): DuckDB's own memory limit again, for a load that ran out of memory within KOKUHO_LOAD_MEMORY.
RESET memory_limit;
