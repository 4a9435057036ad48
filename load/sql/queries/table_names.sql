-- The tables the database holds (to tell a warehouse from an empty or older file).
SELECT table_name FROM duckdb_tables();
