"""Load: DuckDB warehouse, publication, quarantine outputs and Excel/CSV exports. No Prefect here."""
